-- runbooks/install.lua: the guide's "Install process" — bare_slave::install() (the initial
-- part: the install's rows in the internal database, its IPs, its codebase, the queue
-- record) and slave::install_v2() (the core part: home, file tree, database, config.php,
-- "mut", sync, crons, vars, FTP, mail, nginx), in one run on the install's master.
--
-- The guide: "If any of the above steps fail the whole install fails and must start from
-- the start. NK: Does it roll back, undo what it did, etc? Nope." Here a failed install is
-- undone (on_failure = "undo"): rows, IPs, files, the database and its user, mounts, crons
-- are put back as they were, and the queue record keeps the error — the failing SQL file,
-- its statement and the MySQL error — where the guide says to look first.
local codebase = require("codebase")
local dns = require("dns")
local handlers = require("handlers")
local ids = require("ids")
local install_config = require("install_config")
local install_tree = require("install_tree")
local ips = require("ips")
local nginx = require("nginx")
local queue = require("queue")
local servers = require("servers")
local setting = require("settings")
local site_checks = require("sites")

-- settings.homes may be one folder or a list of them: installs go in the first.
local function homes_folder()
  local homes = settings.homes
  if type(homes) == "table" then homes = homes[1] end
  return type(homes) == "string" and homes or "/usr/home"
end

-- The hosts the install's database user connects from: settings.install_db_hosts (a host
-- pattern or a list of them), default "localhost".
local function install_db_hosts()
  local hosts = settings.install_db_hosts
  if hosts == nil then return { "localhost" } end
  if type(hosts) == "string" then hosts = { hosts } end
  if type(hosts) ~= "table" or #hosts == 0 then
    error("settings.install_db_hosts must be a host pattern or a list of them (\"10.0.0.%\")", 0)
  end
  for _, host in ipairs(hosts) do
    if type(host) ~= "string" or host == "" then
      error("settings.install_db_hosts must be a host pattern or a list of them (\"10.0.0.%\")", 0)
    end
  end
  return hosts
end

-- The guide: "The dir name will be the first several letters of the first hostname", made
-- unique with a number (www_bioex1 is the FTP user of install bioex1): 8 letters and digits
-- of the hostname without "www.", then 1, 2, ...
local function name_base(hostname)
  local letters = hostname:lower():gsub("^www%.", ""):gsub("[^%w]", ""):sub(1, 8)
  if not letters:find("^%a") then letters = ("s" .. letters):sub(1, 8) end
  return letters
end

-- The first free name: no install row, no home folder, no database and no MySQL user of
-- that name yet.
local function unique_name(base, home_base)
  for n = 1, 9999 do
    local name = base .. n
    local taken = db.query_one("internal", "SELECT id FROM installs WHERE fs_name = ? OR db_name = ? OR db_user = ?",
      { name, name, name })
      or fs.exists(home_base .. "/" .. name)
      or db.query_one("installs", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", { name })
      or db.query_one("installs", "SELECT User FROM mysql.user WHERE User = ?", { name })
    if not taken then return name end
  end
  error("no free install name for " .. base .. "1 ... " .. base .. "9999", 0)
end

return runbook {
  summary = "Install a new store: rows, IPs, codebase, home, database, config, SQL updates, sync, FTP, mail, nginx",
  runs_on = "the install's master (settings.this_server); the home, crons and nginx on the other dispatchers (agents or settings.servers)",
  doc = [[
    The guide's "Install process", both parts, run on the install's master (this server,
    settings.this_server, unless --server or a [settings.pins] entry names another one: then
    run it there). Paid installs get a movable IP on every dispatcher and dynamic_ips = 1,
    and live on both dispatchers (their home is synced to the others); free installs get one
    IP on the master. The codebase is the shared code group for free or paid installs on
    the master with the fewest installs under its limit (or --codebase, or the customer's
    pin). The home is HOMES/NAME, NAME from the first hostname (shopexam1); theme,
    snippets and mas_assets/theme are copies, everything else links to the codebase. A
    failed install is undone and its queue record holds the error. See docs/runbooks.md.
  ]],
  params = {
    email = { type = "email", required = true, doc = "the customer's email: the welcome mail goes there" },
    hostname = { type = "hostname", list = true, required = true,
                 doc = "the store's hostnames (repeat the flag or separate with commas); the first names its home" },
    plan = { type = "enum", values = { "paid", "free" }, required = true,
             doc = "paid: movable IPs on both dispatchers; free: one IP on the master" },
    server = { type = "string", doc = "the master handler (handlers.id or hostname; default this server, settings.this_server)" },
    codebase = { type = "int", doc = "the shared code group (shared_code_groups.id) instead of the least used one" },
    ssl_pem = { type = "path", doc = "the certificate of the first hostname (copied to HOME/certs)" },
    ssl_key = { type = "path", doc = "its key (copied to HOME/certs, mode 0600)" },
  },
  on_failure = "undo",
  locks = function() return { "installs" } end,
  run = function(args)
    local free = args.plan == "free"
    local hostnames, seen = {}, {}
    for _, name in ipairs(args.hostname) do
      name = name:lower()
      if seen[name] then error("--hostname " .. name .. " is given twice", 0) end
      seen[name] = true
      hostnames[#hostnames + 1] = name
    end
    if (args.ssl_pem == nil) ~= (args.ssl_key == nil) then error("give both --ssl-pem and --ssl-key, or neither", 0) end
    -- As add-site, change-hostname and change-ssl check theirs: the key is the certificate's,
    -- it has not expired and it covers the first hostname; before anything is touched.
    if args.ssl_pem then site_checks.check_certificate(args.ssl_pem, args.ssl_key, hostnames[1]) end
    local home_base = homes_folder()
    local master, group, install, sites, queue_id = nil, nil, nil, {}, nil
    local site_ips = {}   -- rows for install_site_ips
    local on_servers = {} -- handler rows the install lives on (master first)
    local nginx_hosts = {} -- the other dispatchers' [hosts], whose nginx is rebuilt too

    step("Check the order", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      for _, name in ipairs(hostnames) do
        local taken = db.query_one("internal", "SELECT install_id FROM install_sites WHERE hostname = ? OR secure_hostname = ?",
          { name, name })
        if taken then error(("hostname %s is already a site of install %d"):format(name, taken.install_id), 0) end
      end
      local pin = codebase.pin(args.email)
      local wanted = args.server or (pin and pin.handler) or setting.string("this_server")
      if wanted == nil then error("which server is this? set this_server in [settings] (a handlers.hostname) or give --server", 0) end
      master = handlers.find("internal", wanted)
      if not master then error("--server " .. tostring(wanted) .. ": no such handler in the handlers table", 0) end
      if master.kind ~= "dispatcher" then error(("handler %d (%s) is a %s, not a dispatcher: it cannot be an install's master"):format(
        master.id, master.hostname, master.kind), 0) end
      local this_server = setting.string("this_server")
      if this_server and master.hostname ~= this_server then
        error(("the install's master is %s (%s): run the install there, not on %s"):format(master.hostname,
          args.server and "--server" or "settings.pins", this_server), 0)
      end
      on_servers[1] = master
      if not free then
        for _, row in ipairs(db.query("internal", "SELECT id, hostname, kind FROM handlers WHERE kind = 'dispatcher' AND id <> ? ORDER BY id",
          { master.id })) do
          on_servers[#on_servers + 1] = row
          -- How the home and crons reach it, and its rsync daemon's password file, before
          -- anything is touched.
          servers.daemon_password(servers.check(row.hostname, { "sync", "cron_file" }))
        end
      end
      install_db_hosts()
      log.info(("%s install of %s for %s on %s"):format(args.plan, table.concat(hostnames, ", "), args.email, master.hostname))
    end)

    step("We choose a codebase for the install", function()
      if args.codebase then
        group = db.query_one("internal", [[
          SELECT g.id, g.dir, g.free, g.revision, g.`limit`, g.handler_id, COUNT(i.id) AS installs
          FROM shared_code_groups g LEFT JOIN installs i ON i.shared_code_group_id = g.id WHERE g.id = ? GROUP BY g.id]],
          { args.codebase })
        if not group then error("--codebase " .. args.codebase .. ": no such shared code group", 0) end
        if (group.free == 1) ~= free then
          error(("--codebase %d is a codebase for %s installs; this install is %s"):format(group.id,
            group.free == 1 and "free" or "paid", args.plan), 0)
        end
        if group.installs >= group.limit then
          error(("--codebase %d is full: %d installs, limit %d"):format(group.id, group.installs, group.limit), 0)
        end
        log.info("codebase " .. group.dir .. " (given with --codebase)")
      else
        local reason
        group, reason = codebase.choose("internal", { free = free, handler_id = master.id, email = args.email })
        log.info("codebase " .. group.dir .. ": " .. reason)
      end
      -- The group must not be updated (update-shared-code) while an install joins it.
      lock("shared-code:" .. group.id)
      if not fs.exists(group.dir .. "/heavymetal/lib") then
        error(("codebase %d has no checkout at %s (heavymetal/lib is missing)"):format(group.id, group.dir), 0)
      end
    end)

    step("A record in the installs table is created for the install", function()
      local name = unique_name(name_base(hostnames[1]), home_base)
      install = {
        id = ids.next("internal", "installs"),
        email = args.email,
        db_name = name,
        db_user = name,
        fs_name = name,
        home_dir = home_base .. "/" .. name,
        shared_code_group_id = group.id,
        master_handler_id = master.id,
        free = free and 1 or 0,
        license = args.plan,
        dynamic_ips = free and 0 or 1,
        ftp_user = "www_" .. name,
      }
      db.insert("internal", "installs", install)
      log.info(("install %d: home %s, database %s"):format(install.id, install.home_dir, install.db_name))
    end)

    step("A queue record is being added for the core installation", function()
      -- Written as running by this run; if the install fails, queue.begin's cleanup hook
      -- writes it again (after the undo) as failed, with the error.
      -- Its args are this run's arguments, so `runbook queue rerun ID` can run it again.
      queue_id = queue.begin("internal", { runbook = "install", handler_id = master.id, args = {
        email = args.email, hostname = hostnames, plan = args.plan, server = args.server, codebase = args.codebase,
        ssl_pem = args.ssl_pem, ssl_key = args.ssl_key } })
    end)

    do
      local home = install.home_dir

      step("Each site is being inserted in the install_sites table", function()
        local certs = home .. "/certs"
        for i, name in ipairs(hostnames) do
          local site = { id = ids.next("internal", "install_sites"), install_id = install.id, hostname = name,
                         secure_hostname = name, rel_url = "/", secure_rel_url = "/" }
          if i == 1 and args.ssl_pem then
            site.ssl_pem = certs .. "/" .. name .. ".pem"
            site.ssl_key = certs .. "/" .. name .. ".key"
          end
          db.insert("internal", "install_sites", site)
          sites[#sites + 1] = site
        end
      end)

      step("In install_site_ips are inserted the IPs for each site", function()
        local server_ids, handler_of = {}, {}
        for _, handler in ipairs(on_servers) do
          local server = db.query_one("master", "SELECT id FROM servers WHERE hostname = ?", { handler.hostname })
          if not server then error("handler " .. handler.hostname .. " is not in the master's servers table", 0) end
          server_ids[#server_ids + 1] = server.id
          handler_of[server.id] = handler.id
        end
        for _, site in ipairs(sites) do
          local addresses = ips.allocate("master", { install_id = install.id, install_site_id = site.id, paid = not free,
                                                     master_server_id = server_ids[1], servers = server_ids })
          for _, address in ipairs(addresses) do
            local row = { id = ids.next("internal", "install_site_ips"), install_site_id = site.id, ip = address.ip,
                          handler_id = handler_of[address.server_id] }
            db.insert("internal", "install_site_ips", row)
            site_ips[#site_ips + 1] = row
            log.info(("%s: %s on %s%s"):format(site.hostname, address.ip, on_servers[1].id == row.handler_id and "the master" or
              "handler " .. row.handler_id, address.movable and " (movable)" or ""))
          end
        end
      end)

      step("Point the managed DNS records of the sites at their IPs", function()
        -- Not in the guide's install list, but its "Change install hostname" and "Downgrade"
        -- edit these records: a store whose domain the company manages gets an A record per
        -- site and address here (dns.lua).
        local added = 0
        for _, site in ipairs(sites) do
          local addresses = {}
          for _, row in ipairs(site_ips) do
            if row.install_site_id == site.id then addresses[#addresses + 1] = row.ip end
          end
          added = added + dns.point("master", site.hostname, addresses)
        end
        if added == 0 then log.info("the company manages no domain of " .. table.concat(hostnames, ", ")) end
      end)

      step("A subdir is created in " .. home_base, function()
        if fs.exists(home) then error(home .. " already exists", 0) end
        fs.mkdir(home, { mode = "0755" })
      end)

      step("The filesystem is being created", function()
        local made = install_tree.link(group.dir, home)
        log.info(("%d links to %s; own copies of %s"):format(made.links, group.dir, table.concat(made.copied, ", ")))
        for _, dir in ipairs({ "heavymetal/tmp", "local", "local/tmp", "html/images", "certs" }) do
          fs.mkdir(home .. "/" .. dir)
        end
        if args.ssl_pem then
          fs.write(sites[1].ssl_pem, fs.read(args.ssl_pem), { mode = "0600" })
          fs.write(sites[1].ssl_key, fs.read(args.ssl_key), { mode = "0600", secret = true })
        end
      end)

      local password
      step("Database and db user/pass are created for the install", function()
        db.create_database("installs", install.db_name)
        -- PHP on the handlers reaches the database over TCP, so the user is made for the hosts
        -- they connect from (settings.install_db_hosts, e.g. the private VLAN "10.0.0.%"),
        -- one password for all; a database on this server alone needs only "localhost".
        for _, host in ipairs(install_db_hosts()) do
          password = db.create_user("installs", install.db_user, { database = install.db_name, host = host,
                                                                   password = password })
        end
        db.load_sql_file("installs", install.db_name, settings.install_schema or "/usr/local/share/runbook/schema/install.sql")
      end)

      step("Config file is being populated and saved to /heavymetal/config.php", function()
        local hosts = setting.table("database_hosts")
        fs.write(home .. "/heavymetal/config.php", install_config.render({
          db_host = hosts.master or "localhost",
          db_name = install.db_name,
          db_user = install.db_user,
          db_pass = password,
          install_id = install.id,
          fs_name = install.fs_name,
          home_dir = home,
          shared_code_dir = group.dir,
        }), { mode = "0640", secret = true })
      end)

      step("Mut is being run to process all the sql updates and tmp dir creations", function()
        local sql_dir = group.dir .. "/sql"
        local plugins = fs.exists(sql_dir) and fs.list(sql_dir) or {}
        local applied = 0
        for _, plugin in ipairs(plugins) do
          if (fs.stat(sql_dir .. "/" .. plugin) or {}).type == "directory" then
            local files = db.apply_updates("installs", install.db_name, sql_dir .. "/" .. plugin,
              { plugin_id = plugin, revision = tostring(group.revision) })
            applied = applied + #files
          end
        end
        log.info(("%d SQL updates from %d plugins"):format(applied, #plugins))
        for _, dir in ipairs({ "rudolf", "catalog_cache", "ftp" }) do fs.mkdir(home .. "/heavymetal/tmp/" .. dir) end
      end)

      step("Add values to the vars related to memcache and sphinx", function()
        local vars = {}
        local memcache = setting.table("memcache")
        local sphinx = setting.table("sphinx")
        if memcache.servers then vars[#vars + 1] = { "memcache.servers", tostring(memcache.servers) } end
        vars[#vars + 1] = { "memcache.prefix", install.fs_name .. ":" }
        if sphinx.host then vars[#vars + 1] = { "sphinx.host", tostring(sphinx.host) } end
        if sphinx.port then vars[#vars + 1] = { "sphinx.port", tostring(sphinx.port) } end
        vars[#vars + 1] = { "sphinx.index", install.fs_name }
        -- db.exec, not db.insert: in a dry-run the store's database exists only in the plan.
        local vars_table = db.quote_name(install.db_name) .. ".vars"
        for _, var in ipairs(vars) do
          db.exec("installs", "INSERT INTO " .. vars_table .. " (name, value) VALUES (?, ?)", var,
            { undo = { "DELETE FROM " .. vars_table .. " WHERE name = ?", { var[1] } } })
        end
        for _, site in ipairs(sites) do
          local site_table = db.quote_name(install.db_name) .. ".sites"
          db.exec("installs", "INSERT INTO " .. site_table .. " (hostname, secure_hostname, rel_url, secure_rel_url) VALUES (?, ?, '/', '/')",
            { "http://" .. site.hostname, "https://" .. site.secure_hostname },
            { undo = { "DELETE FROM " .. site_table .. " WHERE hostname = ?", { "http://" .. site.hostname } } })
        end
      end)

      step("An FTP directory structure is created in /heavymetal/tmp/ftp", function()
        local ftp = home .. "/heavymetal/tmp/ftp"
        local mounts = {
          { source = home .. "/heavymetal/theme", target = ftp .. "/theme" },
          { source = home .. "/html/mas_assets/theme", target = ftp .. "/assets" },
          { source = home .. "/html/images", target = ftp .. "/images" },
        }
        for _, m in ipairs(mounts) do
          fs.mkdir(m.target)
          db.insert("internal", "startup_mounts", { id = ids.next("internal", "startup_mounts"), install_id = install.id,
                                                    source = m.source, target = m.target })
          mount.bind(m.source, m.target)
        end
        local owner = setting.string("ftp_owner")
        if owner then
          for _, m in ipairs(mounts) do fs.chown(m.source, owner) end
          fs.chown(ftp, owner)
        end
      end)

      if #on_servers > 1 then
        step("The install directory is synced with all the servers", function()
          for i = 2, #on_servers do
            local server = servers.check(on_servers[i].hostname)
            if server.sync:sub(1, 1) == "/" then
              local destination = server.sync .. home
              if fs.exists(destination) then error(destination .. " already exists on " .. on_servers[i].hostname, 0) end
              rsync.push(home .. "/", destination .. "/", { undo = { "rm", "-rf", "--", context.root:gsub("/$", "") .. destination } })
            else
              -- An rsync daemon asks for the guide's password file (rsyncd_root.pwd); the copy
              -- is new there, so undo removes it again (servers.removal).
              if servers.exists(server, home) then error(home .. " already exists on " .. on_servers[i].hostname, 0) end
              rsync.push(home .. "/", server.sync .. home .. "/", { password = servers.daemon_password(server),
                                                                     undo = servers.removal(server, home) })
            end
          end
        end)

        step("Create crons for the servers other than the master", function()
          local line = ("*/5 * * * * %s %s %s/heavymetal/lib/cron/cron.php"):format(setting.string("cron_user") or "www",
            setting.string("php") or "/usr/local/bin/php", home)
          for i = 2, #on_servers do
            local server = servers.check(on_servers[i].hostname, { "cron_file" })
            if server.host then
              -- On that server itself, through runbook's agent there (undone there too).
              on(server.host, function() cron.add(line, { file = server.cron_file }) end)
            else
              cron.add(line, { file = server.cron_file })
            end
          end
        end)
      end

      step("Send mail to customer", function()
        local lines = { "Hello,", "", "your store is installed and answers at:" }
        for _, site in ipairs(sites) do lines[#lines + 1] = "  http://" .. site.hostname .. "/" end
        lines[#lines + 1] = ""
        lines[#lines + 1] = "Point your domain's DNS at these addresses:"
        for _, row in ipairs(site_ips) do lines[#lines + 1] = "  " .. row.ip end
        lines[#lines + 1] = ""
        lines[#lines + 1] = "Your FTP user is " .. install.ftp_user .. "."
        mail.send({ to = args.email, from = setting.string("welcome_from") or "support@make-a-store.com",
                    subject = "Your store " .. hostnames[1] .. " is ready", body = table.concat(lines, "\n") .. "\n" })
      end)

      step("Rebuild nginx config", function()
        local patch_sites = {}
        for _, site in ipairs(sites) do
          patch_sites[#patch_sites + 1] = { id = site.id, install_id = install.id, hostname = site.hostname,
                                            secure_hostname = site.secure_hostname, ssl_pem = site.ssl_pem, ssl_key = site.ssl_key }
        end
        nginx.rebuild({ hosts = nginx_hosts, patch = {
          installs = { upsert = { { id = install.id, fs_name = install.fs_name, home_dir = home, master_handler_id = master.id,
                                    free = install.free } } },
          sites = { upsert = patch_sites },
          site_ips = { upsert = site_ips },
        } })
      end)
    end

    step("Install done", function()
      queue.done("internal", queue_id)
      log.info(("install %d (%s) is done: %s"):format(install.id, install.fs_name, install.home_dir))
    end)
  end,
}
