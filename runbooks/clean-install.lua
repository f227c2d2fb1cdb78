-- runbooks/clean-install.lua: the guide's "I probably need to make smth to clean current
-- junk.. We've got some trash data still do clean up" and NK's wish, "clean_install id,
-- where id is the installs.id from the internal db" — for installs the old system left
-- half made. (A failed `install` run leaves no junk: it is undone.)
--
-- Everything it removes can be put back by `runbook undo RUN_ID`: rows are deleted with
-- their before-images, folders are backed up before removal, and the install's database
-- and MySQL user are not dropped but moved aside — the tables into a database
-- `trash_NAME`, the user renamed to `trash_NAME` and locked — until
-- `clean-install --purge NAME` removes them for good.
local dns = require("dns")
local ips = require("ips")
local nginx = require("nginx")
local servers = require("servers")

local function check_name(name)
  if type(name) ~= "string" or not name:find("^[%w_]+$") or #name > 56 then
    error("not an install name: " .. tostring(name), 0)
  end
  return name
end

-- Names go into SQL only through db.quote_name: the tables are named by the store's own
-- database user, who may give one a name holding backticks.
local function quoted(name) return db.quote_name(check_name(name)) end


local function purge(name)
  check_name(name)
  step("Purge the trash of install " .. name, function()
    local trash = "trash_" .. name
    if db.query_one("installs", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", { trash }) then
      db.drop_database("installs", trash)
    else
      log.info("no database " .. trash)
    end
    for _, row in ipairs(db.query("installs", "SELECT Host AS host FROM mysql.user WHERE User = ?", { trash })) do
      db.drop_user("installs", trash, { host = row.host })
    end
  end)
end

return runbook {
  summary = "Remove what a failed install of the old system left: rows, IPs, DNS, files, mounts, crons, database, user",
  runs_on = "the install's master; its copies on the other servers, nginx on every dispatcher (agents)",
  doc = [[
    The guide's "clean_install id". For installs.id ID it removes, as far as they exist:
    the FTP bind mounts under its home and its startup_mounts rows; its home, and its copy
    and cron line on the other servers (settings.servers); the A records of its sites in
    the managed DNS; its addresses in the master's IP pool; its install_site_ips,
    install_sites, install_handlers and installs rows; its database (tables moved to
    trash_NAME) and MySQL user (renamed trash_NAME and locked); then rebuilds nginx. Every
    part is undoable with `runbook undo RUN_ID`. `--purge NAME` later drops trash_NAME's
    database and user for good (that cannot be undone). Refuses an install whose queue
    record says it is done unless --force: that is a live store, not junk.
  ]],
  params = {
    id = { type = "int", doc = "installs.id of the failed install" },
    purge = { type = "string", doc = "drop the trash database and user of install NAME (left by an earlier clean)" },
    force = { type = "bool", default = false, doc = "clean an install even if it looks finished" },
  },
  on_failure = "undo",
  locks = function() return { "installs", "ip-pool" } end,
  run = function(args)
    if (args.id == nil) == (args.purge == nil) then error("give --id ID (clean) or --purge NAME (drop its trash)", 0) end
    if args.purge then return purge(args.purge) end

    local install, sites, addresses = nil, {}, {}
    local nginx_hosts = {}
    step("Find what the install left", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      install = db.query_one("internal", "SELECT * FROM installs WHERE id = ?", { args.id })
      if not install then error("no install " .. args.id .. " in the installs table", 0) end
      check_name(install.fs_name)
      check_name(install.db_name)
      -- A done install record for one of its hostnames (its args hold the install's arguments).
      local finished
      for _, site in ipairs(db.query("internal", "SELECT hostname FROM install_sites WHERE install_id = ?", { install.id })) do
        finished = finished or db.query_one("internal",
          "SELECT id FROM queue WHERE runbook = 'install' AND status = 'done' AND args LIKE ? ORDER BY id DESC LIMIT 1",
          { '%"' .. site.hostname .. '"%' })
      end
      if finished and not args.force then
        error(("install %d (%s) was installed (queue record %d is done): it is a store, not junk (--force cleans it anyway)"):format(
          install.id, install.fs_name, finished.id), 0)
      end
      sites = db.query("internal", "SELECT * FROM install_sites WHERE install_id = ? ORDER BY id", { install.id })
      for _, site in ipairs(sites) do
        for _, row in ipairs(db.query("internal", "SELECT * FROM install_site_ips WHERE install_site_id = ? ORDER BY id", { site.id })) do
          addresses[#addresses + 1] = row
        end
      end
      log.info(("install %d (%s): %d sites, %d addresses, home %s"):format(install.id, install.fs_name, #sites, #addresses,
        fs.exists(install.home_dir) and install.home_dir or "(gone)"))
    end)

    step("Unmount the FTP bind mounts", function()
      if fs.exists(install.home_dir) then
        local mounted = mount.list(install.home_dir)
        table.sort(mounted, function(a, b) return #a.target > #b.target end)
        for _, m in ipairs(mounted) do mount.unbind(m.target) end
      end
      db.delete("internal", "startup_mounts", { install_id = install.id })
    end)

    step("Remove the install's folders and crons", function()
      if fs.exists(install.home_dir) then fs.remove(install.home_dir) end
      for _, server in ipairs(servers.all()) do
        if type(server.sync) == "string" and server.sync:sub(1, 1) == "/" and fs.exists(server.sync .. install.home_dir) then
          fs.remove(server.sync .. install.home_dir)
        elseif type(server.sync) == "string" and server.sync:sub(1, 1) ~= "/" then
          log.warn(("%s is reached over %s: remove %s there by hand if it exists"):format(server.hostname, server.sync, install.home_dir))
        end
        if type(server.cron_file) == "string" then
          for _, line in ipairs(cron.list({ file = server.cron_file })) do
            if line:find(install.home_dir .. "/", 1, true) then cron.remove(line, { file = server.cron_file }) end
          end
        end
      end
    end)

    step("Release the IPs and the DNS records", function()
      for _, site in ipairs(sites) do dns.point("master", site.hostname, {}) end
      ips.release("master", install.id)
    end)

    step("Delete the install's rows", function()
      for _, site in ipairs(sites) do db.delete("internal", "install_site_ips", { install_site_id = site.id }) end
      db.delete("internal", "install_sites", { install_id = install.id })
      db.delete("internal", "install_handlers", { install_id = install.id })
      db.delete("internal", "installs", { id = install.id })
    end)

    step("Move the database and its user to the trash", function()
      local name, trash = install.db_name, "trash_" .. install.db_name
      local exists = db.query_one("installs", "SELECT DEFAULT_CHARACTER_SET_NAME AS charset FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        { name })
      if exists then
        db.create_database("installs", trash)
        for _, row in ipairs(db.query("installs", "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", { name })) do
          local from, to = quoted(name) .. "." .. db.quote_name(row.t), quoted(trash) .. "." .. db.quote_name(row.t)
          db.exec("installs", "RENAME TABLE " .. from .. " TO " .. to, {}, { undo = { "RENAME TABLE " .. to .. " TO " .. from, {} } })
        end
        -- Empty now: dropping it loses nothing, and undo creates it again.
        if not exists.charset:find("^[%w_]+$") then error("database " .. name .. " has an odd character set: " .. exists.charset, 0) end
        db.exec("installs", "DROP DATABASE " .. quoted(name), {},
          { undo = { "CREATE DATABASE " .. quoted(name) .. " CHARACTER SET " .. exists.charset, {} } })
      else
        log.info("no database " .. name)
      end
      local user = install.db_user and check_name(install.db_user) or nil
      for _, row in ipairs(user and db.query("installs", "SELECT Host AS host FROM mysql.user WHERE User = ?", { user }) or {}) do
        -- Account names are string literals, not identifiers: the host must be plain to be inlined.
        if not row.host:find("^[%w%.%-_%%:/]+$") then error(("user %s has an odd host '%s': move it by hand"):format(user, row.host), 0) end
        local account = ("'%s'@'%s'"):format(user, row.host)
        local hidden = ("'trash_%s'@'%s'"):format(user, row.host)
        -- Renamed, not dropped: its password hash stays in MySQL, never in the journal.
        db.exec("installs", "RENAME USER " .. account .. " TO " .. hidden, {}, { undo = { "RENAME USER " .. hidden .. " TO " .. account, {} } })
        db.exec("installs", "ALTER USER " .. hidden .. " ACCOUNT LOCK", {}, { undo = { "ALTER USER " .. hidden .. " ACCOUNT UNLOCK", {} } })
      end
      log.info(("`runbook run clean-install --purge %s` drops the trash for good"):format(name))
    end)

    step("Rebuild nginx config", function()
      local site_ids, ip_ids = {}, {}
      for _, site in ipairs(sites) do site_ids[#site_ids + 1] = site.id end
      for _, row in ipairs(addresses) do ip_ids[#ip_ids + 1] = row.id end
      nginx.rebuild({ hosts = nginx_hosts, patch = { installs = { delete = { install.id } }, sites = { delete = site_ids },
                                                     site_ips = { delete = ip_ids } } })
    end)
  end,
}
