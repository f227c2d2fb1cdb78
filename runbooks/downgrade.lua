-- runbooks/downgrade.lua: the guide's "Downgrade paid to free":
--   1. Change symlinks of the install to point a shared code that is for free installs. The
--      shared code group that we are moving the install to must be the same revision which
--      is the paid one.
--   2. Edit install_site_ips for the site and remove the unneeded ips. We must leave just one
--      since we wont be serving the site from many servers anymore.
--   3. Change install license to match a free one.
--   4. Unmount all bind mounts related to that install (ftp mostly)
--   5. Stop ftp access. I just rename the username to username_del
--   6. Edit dns records for that install so only one is left for the site and will point the
--      master dispatcher. Delete all else.
--   7. Rebuild nginx.
-- What the guide leaves out and a free install must not keep: the addresses it gives up go
-- back to the master database's pool (server_ips), the startup_mounts rows go (cron_mount
-- would mount them again), and its copy and cron line on the other dispatchers go (a free
-- install lives on its master only). Everything is one undoable run.
local codebase = require("codebase")
local dns = require("dns")
local install_config = require("install_config")
local install_tree = require("install_tree")
local installs = require("installs")
local nginx = require("nginx")
local servers = require("servers")
local setting = require("settings")

local GROUP_COLUMNS = [[
  SELECT g.id, g.dir, g.free, g.revision, g.`limit`, g.handler_id, COUNT(i.id) AS installs
  FROM shared_code_groups g LEFT JOIN installs i ON i.shared_code_group_id = g.id ]]

local function group_row(id)
  return db.query_one("internal", GROUP_COLUMNS .. " WHERE g.id = ? GROUP BY g.id", { id })
end

local function group_name(group)
  return ("%s (group %d)"):format(group.dir:match("([^/]+)/*$") or group.dir, group.id)
end

-- The free group the install moves to: --codebase, else the free group at the same revision
-- on the install's master with the fewest installs under its limit (pinned groups are
-- another customer's). Refuses with one line naming both revisions.
local function choose_group(install, master, from, wanted)
  if wanted then
    local to = group_row(wanted)
    if not to then error("--codebase " .. wanted .. ": no such shared code group", 0) end
    if to.free ~= 1 then
      error(("--codebase %d: %s is a codebase for paid installs; a downgraded install goes to one for free installs"):format(
        to.id, group_name(to)), 0)
    end
    if tostring(to.revision) ~= tostring(from.revision) then
      error(("--codebase %d: %s is at revision %s and the install's %s at revision %s: the shared code group we move to must be the same revision"
        .. " (update-shared-code one of them first)"):format(to.id, group_name(to), to.revision, group_name(from), from.revision), 0)
    end
    if to.installs >= to.limit then
      error(("--codebase %d: %s is full (%d installs, limit %d)"):format(to.id, group_name(to), to.installs, to.limit), 0)
    end
    return to, "given with --codebase"
  end
  local reserved, mine = codebase.pinned_groups(), codebase.pin(install.email)
  local candidates = db.query("internal", GROUP_COLUMNS .. [[
    WHERE g.free = 1 AND g.handler_id = ? GROUP BY g.id ORDER BY installs, g.id]], { master.id })
  local why_not, other_revision = {}, false
  for _, group in ipairs(candidates) do
    if reserved[group.id] and not (mine and mine.group == group.id) then
      why_not[#why_not + 1] = group_name(group) .. " is pinned for another customer"
    elseif tostring(group.revision) ~= tostring(from.revision) then
      why_not[#why_not + 1] = ("%s is at revision %s"):format(group_name(group), group.revision)
      other_revision = true
    elseif group.installs >= group.limit then
      why_not[#why_not + 1] = ("%s is full (%d of %d)"):format(group_name(group), group.installs, group.limit)
    else
      return group, ("the free group at revision %s with the fewest installs (%d of %d)"):format(group.revision,
        group.installs, group.limit)
    end
  end
  if #why_not == 0 then why_not[1] = "and there is no free codebase there" end
  error(("no free codebase of the same revision has room on %s: the install's %s is at revision %s, %s; %s"):format(
    master.hostname, group_name(from), from.revision, table.concat(why_not, ", "),
    other_revision and "the shared code group we move to must be the same revision (update-shared-code one of them,"
      .. " add-codebase --plan free, or --codebase ID)" or "add-codebase --plan free, or --codebase ID"), 0)
end

-- Frees one address of the master database's pool (ips.release frees all of an install's);
-- undo gives it back to the install and site.
local function release_address(pool)
  db.update("master", "server_ips", { install_id = db.NULL, install_site_id = db.NULL }, { id = pool.id })
end

-- Removes the install's copy on another server. A folder standing in for it (the demo's
-- /srv/NAME): fs.remove, undone from the run's backup. HOST:PREFIX over ssh: moved aside to
-- HOME.downgraded-RUN_ID (undo moves it back) for the operator to delete once the downgrade
-- has settled. An rsync daemon cannot remove anything: a warning says to do it by hand.
local function remove_copy(hostname, server, home)
  local sync = server.sync
  if sync:sub(1, 1) == "/" then
    local there = (sync:gsub("/+$", "")) .. home
    if fs.exists(there) then
      fs.remove(there)
      log.info(("%s: its copy %s is removed"):format(hostname, there))
    else
      log.info(("%s: no copy at %s"):format(hostname, there))
    end
    return
  end
  local host, prefix = sync:match("^([^/:]+):(.*)$")
  if host and not sync:find("^rsync://") then
    local path = prefix:gsub("/+$", "") .. home
    local aside = path .. ".downgraded-" .. context.run_id
    local seen = remote.run(host, { "sh", "-c", 'if [ -e "$1" ]; then echo yes; else echo no; fi', "sh", path }, { read_only = true })
    if (seen.stdout or ""):find("yes") then
      remote.run(host, { "mv", "--", path, aside }, { undo = { "mv", "--", aside, path } })
      log.warn(("%s: the copy %s is moved aside to %s; delete it there once the downgrade has settled"):format(hostname, path, aside))
    else
      log.info(("%s: no copy at %s"):format(hostname, path))
    end
    return
  end
  log.warn(("%s is reached through an rsync daemon (%s), which cannot remove files: remove %s there by hand"):format(
    hostname, sync, home))
end

return runbook {
  summary = "Downgrade a paid install to free: free codebase, one IP, free license, no FTP, one DNS record, nginx",
  runs_on = "the install's master; its copy and cron on the other dispatchers, nginx on every dispatcher (agents)",
  doc = [[
    The guide's "Downgrade paid to free", on the install's master (settings.this_server).
    The install's links are pointed into a free shared code group at the same revision as
    its paid one (--codebase, else the free group on its master with the fewest installs
    under its limit; another revision is refused), and checked; installs gets that group,
    free = 1, license 'free', dynamic_ips = 0 and its FTP user renamed USER_del; each site
    keeps one address, the one on the master, the others leave install_site_ips and go back
    to the master database's pool; the FTP bind mounts are unmounted and their
    startup_mounts rows deleted; managed DNS keeps one A record per site, at the kept
    address; the copy and cron line on the other dispatchers are removed (a free install
    lives on its master only); nginx is rebuilt (config test first). Refuses a free install,
    one on cloud handlers, and a site with no address on the master. `runbook undo RUN_ID`
    makes it paid again. See docs/runbooks.md.
  ]],
  params = {
    install = { type = "string", required = true, doc = "the install: its installs.id, fs_name or one of its hostnames" },
    codebase = { type = "int", doc = "the free shared code group to move it to (shared_code_groups.id) instead of the least used one" },
  },
  on_failure = "undo",
  locks = function() return { "installs", "ip-pool" } end,
  run = function(args)
    local install, master, from, to
    local sites, keep, drop = {}, {}, {} -- drop: install_site_ips rows that go
    local others = {}                    -- the other dispatchers the paid install lives on
    local nginx_hosts = {}

    step("Check the downgrade", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      install = installs.find("internal", args.install)
      if install.free == 1 then
        error(("install %d (%s) is already free (license %s): nothing to downgrade"):format(install.id, install.fs_name,
          tostring(install.license)), 0)
      end
      master = db.query_one("internal", "SELECT id, hostname FROM handlers WHERE id = ?", { install.master_handler_id })
      if not master then
        error(("install %d (%s): its master handler %s is not in the handlers table"):format(install.id, install.fs_name,
          tostring(install.master_handler_id)), 0)
      end
      local this_server = setting.string("this_server")
      if this_server and master.hostname:lower() ~= this_server:lower() then
        error(("install %d (%s) has its master on %s: run downgrade there, not on %s"):format(install.id, install.fs_name,
          master.hostname, this_server), 0)
      end
      local clouds = db.query("internal", [[
        SELECT h.hostname FROM install_handlers ih JOIN handlers h ON h.id = ih.handler_id WHERE ih.install_id = ? ORDER BY h.id]],
        { install.id })
      if #clouds > 0 then
        local names = {}
        for _, row in ipairs(clouds) do names[#names + 1] = row.hostname end
        error(("install %d (%s) is served by cloud handlers too (%s): a free install lives on its master only;"
          .. " take it off each first (cloud-manager --action remove-install --id %d --hostname %s)"):format(install.id,
          install.fs_name, table.concat(names, ", "), install.id, names[1]), 0)
      end
      if not fs.exists(install.home_dir) then
        error(("install %d (%s): its home %s is not on this server"):format(install.id, install.fs_name, install.home_dir), 0)
      end

      from = group_row(install.shared_code_group_id)
      if not from then
        error(("install %d (%s): its shared code group %d does not exist"):format(install.id, install.fs_name,
          install.shared_code_group_id), 0)
      end
      local reason
      to, reason = choose_group(install, master, from, args.codebase)
      -- No update-shared-code may run under either group while the links move.
      lock("shared-code:" .. from.id)
      lock("shared-code:" .. to.id)
      if not fs.exists(to.dir .. "/heavymetal/lib") then
        error(("%s has no checkout at %s (heavymetal/lib is missing)"):format(group_name(to), to.dir), 0)
      end

      -- Each site keeps one address: the first one on the master.
      sites = db.query("internal", "SELECT id, hostname FROM install_sites WHERE install_id = ? ORDER BY id", { install.id })
      for _, site in ipairs(sites) do
        local rows = db.query("internal", "SELECT id, install_site_id, ip, handler_id FROM install_site_ips WHERE install_site_id = ? ORDER BY id",
          { site.id })
        local addresses = {}
        for _, row in ipairs(rows) do
          addresses[#addresses + 1] = row.ip
          if not keep[site.id] and row.handler_id == master.id then keep[site.id] = row else drop[#drop + 1] = row end
        end
        if #rows > 0 and not keep[site.id] then
          error(("site %s has no address on the master %s (only %s): the address it keeps must be the master's,"
            .. " which serves it after the downgrade"):format(site.hostname, master.hostname, table.concat(addresses, ", ")), 0)
        end
      end

      for _, row in ipairs(db.query("internal", "SELECT hostname FROM handlers WHERE kind = 'dispatcher' AND id <> ? ORDER BY id",
        { master.id })) do
        others[#others + 1] = row.hostname
      end
      log.info(("install %d (%s), %s license, master %s: %s -> %s, revision %s (%s)"):format(install.id, install.fs_name,
        tostring(install.license), master.hostname, from.dir, to.dir, to.revision, reason))
    end)

    local home = install.home_dir
    step("Change symlinks of the install to point a shared code that is for free installs", function()
      local changed = fs.relink_tree(home, from.dir, to.dir)
      log.info(("%d links of %s now point into %s"):format(changed, home, to.dir))
      local left = install_tree.links_into(home, from.dir)
      if left > 0 then error(("%d links of %s still point into %s"):format(left, home, from.dir), 0) end
      db.update("internal", "installs", { shared_code_group_id = to.id }, { id = install.id })
      local config = home .. "/heavymetal/config.php"
      if fs.exists(config) then
        local text = fs.read(config)
        if install_config.parse(text).shared_code_dir ~= nil then
          fs.write(config, install_config.set(text, "shared_code_dir", to.dir), { secret = true })
        end
      end
    end)

    step("Edit install_site_ips for the site and remove the unneeded ips", function()
      for _, site in ipairs(sites) do
        if keep[site.id] then
          log.info(("%s keeps %s on %s"):format(site.hostname, keep[site.id].ip, master.hostname))
        else
          log.warn(("%s has no address: nginx serves it on the catch-all address"):format(site.hostname))
        end
      end
      for _, row in ipairs(drop) do
        db.delete("internal", "install_site_ips", { id = row.id })
        local pool = db.query_one("master", "SELECT id, ip, install_id, install_site_id FROM server_ips WHERE ip = ?", { row.ip })
        if pool and pool.install_id == install.id then
          release_address(pool)
          log.info(("%s: back in the pool"):format(row.ip))
        elseif pool then
          log.warn(("%s is held by install %s in server_ips, not by this one: left as it is"):format(row.ip, tostring(pool.install_id)))
        else
          log.warn(("%s is not in the master's pool (server_ips): nothing to free"):format(row.ip))
        end
      end
      if #drop == 0 then log.info("no address to remove") end
    end)

    step("Change install license to match a free one", function()
      db.update("internal", "installs", { free = 1, license = "free", dynamic_ips = 0 }, { id = install.id })
    end)

    step("Unmount all bind mounts related to that install (ftp mostly)", function()
      local rows = db.query("internal", "SELECT id, target FROM startup_mounts WHERE install_id = ? ORDER BY id", { install.id })
      local mounted, seen = {}, {}
      local function add(list)
        for _, m in ipairs(list) do
          if not seen[m.target] then seen[m.target] = true; mounted[#mounted + 1] = m end
        end
      end
      add(mount.list(home))
      for _, row in ipairs(rows) do
        if row.target ~= home and row.target:sub(1, #home + 1) ~= home .. "/" and fs.exists(row.target) then add(mount.list(row.target)) end
      end
      -- The deepest first: a mount inside another one goes before it.
      table.sort(mounted, function(a, b) if #a.target ~= #b.target then return #a.target > #b.target end return a.target < b.target end)
      for _, m in ipairs(mounted) do mount.unbind(m.target) end
      -- cron_mount mounts what startup_mounts lists: the rows go too.
      db.delete("internal", "startup_mounts", { install_id = install.id })
      log.info(("%d mounts unmounted, %d startup_mounts rows deleted"):format(#mounted, #rows))
    end)

    step("Stop ftp access: rename the username to username_del", function()
      local user = install.ftp_user
      if user == nil or user == "" then
        log.info("the install has no FTP user")
      elseif user:sub(-4) == "_del" then
        log.info("the FTP user " .. user .. " is disabled already")
      else
        db.update("internal", "installs", { ftp_user = user .. "_del" }, { id = install.id })
        log.info(("FTP user %s is now %s_del"):format(user, user))
      end
    end)

    step("Edit dns records for that install so only one is left for the site and will point the master dispatcher", function()
      local managed, kept_of = 0, {}
      for _, site in ipairs(sites) do
        if keep[site.id] then
          kept_of[site.hostname] = true
          if dns.zone("master", site.hostname) then
            managed = managed + 1
            dns.point("master", site.hostname, { keep[site.id].ip })
          end
        end
      end
      -- Other names of managed zones that point at an address given up (a hand-made alias):
      -- the address goes back to the pool and could be the next install's.
      for _, row in ipairs(drop) do
        local site_ip = nil
        for _, site in ipairs(sites) do if site.id == row.install_site_id then site_ip = keep[site.id] end end
        for _, record in ipairs(db.query("master", "SELECT id, name, content FROM dns_records WHERE type = 'A' AND content = ? ORDER BY id",
          { row.ip })) do
          if not kept_of[record.name] and site_ip then
            db.update("master", "dns_records", { content = site_ip.ip }, { id = record.id })
            log.info(("%s pointed at %s, which goes back to the pool: it points at %s now"):format(record.name, row.ip, site_ip.ip))
          elseif not kept_of[record.name] then
            db.delete("master", "dns_records", { id = record.id })
            log.info(("%s pointed at %s, which goes back to the pool: removed"):format(record.name, row.ip))
          end
        end
      end
      if managed == 0 then
        log.info("the company manages the DNS of none of the sites: the customer's DNS must point them at the kept addresses")
      end
    end)

    if #others > 0 then
      step("Remove the install from the other servers: it is served from its master only now", function()
        local cron_marker = home .. "/"
        for _, hostname in ipairs(others) do
          local server = servers.reach(hostname)
          if not server or type(server.sync) ~= "string" then
            log.warn(("how does this server reach %s? no sync in [settings.servers.\"%s\"]: remove %s and its cron line there by hand"):format(
              hostname, hostname, home))
          else
            remove_copy(hostname, server, home)
          end
          if server and type(server.cron_file) == "string" then
            local removed = 0
            if fs.exists(server.cron_file) then
              for _, line in ipairs(cron.list({ file = server.cron_file })) do
                if line:find(cron_marker, 1, true) then
                  cron.remove(line, { file = server.cron_file })
                  removed = removed + 1
                end
              end
            end
            log.info(("%s: %d cron lines of the install removed from %s"):format(hostname, removed, server.cron_file))
          elseif server then
            log.warn(("where are the crons of %s? set cron_file in [settings.servers.\"%s\"]; remove the install's cron line there by hand"):format(
              hostname, hostname))
          end
        end
      end)
    end

    step("Rebuild nginx", function()
      local gone = {}
      for _, row in ipairs(drop) do gone[#gone + 1] = row.id end
      nginx.rebuild({ hosts = nginx_hosts, patch = {
        installs = { upsert = { { id = install.id, fs_name = install.fs_name, home_dir = install.home_dir,
                                  master_handler_id = install.master_handler_id, free = 1, custom_rewrites = install.custom_rewrites } } },
        site_ips = { delete = gone },
      } })
      log.info(("install %d (%s) is free now: %s"):format(install.id, install.fs_name, to.dir))
    end)
  end,
}
