-- runbooks/add-server.lua: the guide's "Adding new dispatcher server(web server)" and "Adding
-- new handler(PHP)", once the software is installed there:
--   "Copy their config files from any of the other servers."
--   "Copy /home/internal from any of the other servers to the one and add a record for it in
--   the handlers table. Add to crontab its lib/cron/cron.php"
--   "When adding a new dispatcher all php-fpm config files on all handlers must be updated so
--   they allow connections from the new dispatcher internal ip" (/usr/local/etc/php-fpm.conf)
--   "On the master (divinity database) - New record into the servers table. Add the
--   available ips of the new server into server_ips table. On the slave (internal database)
--   - Insert new record into the handlers table."
-- The files are copied from this server (one of "the other servers"); the other servers are
-- reached as stdlib/servers.lua says. php-fpm takes single addresses only in
-- allowed_clients (stdlib/php_fpm.lua), so each dispatcher is listed there.
local ids = require("ids")
local nginx = require("nginx")
local php_fpm = require("php_fpm")
local servers = require("servers")
local setting = require("settings")

-- What each role copies from this server when settings.add_server.config_files does not say:
-- a dispatcher runs nginx and php-fpm (it is also a PHP handler of the installs it serves);
-- a PHP handler php-fpm only ("php.ini, extensions.ini or any other auto loaded .ini file used
-- by PHP"; "Always install APC! Also copy its configuration" — apc.ini is among them).
local CONFIG_FILES = {
  dispatcher = { "/usr/local/etc/nginx", "/usr/local/etc/php.ini", "/usr/local/etc/php" },
  php = { "/usr/local/etc/php.ini", "/usr/local/etc/php" },
}

return runbook {
  summary = "Add a dispatcher (web server) or a PHP handler: config files, /home/internal, cron, servers/server_ips/handlers rows, php-fpm allowed_clients",
  runs_on = "a dispatcher; copies to the new server, edits php-fpm on every handler it reaches, nginx on every dispatcher",
  doc = [[
    The guide's "Adding new dispatcher server(web server)" (--role dispatcher) and "Adding new
    handler(PHP)" (--role php), run on a dispatcher once nginx/php-fpm are installed on the
    new server and [settings.servers."HOSTNAME"] says how to reach it (sync, cron_file).
    From this server it copies the config files (a dispatcher: /usr/local/etc/nginx, php.ini
    and /usr/local/etc/php; a handler: the PHP ones; settings.add_server.config_files
    changes the lists) and /home/internal, adds the cron line of
    /home/internal/lib/cron/cron.php, the master database's servers row (and for a
    dispatcher its --movable-ip/--fixed-ip addresses in server_ips), and the handlers row.
    php-fpm's listen.allowed_clients (settings.php_fpm_conf, else
    /usr/local/etc/php-fpm.conf): a new dispatcher's private IP is added on every handler
    this server can reach (the others are listed, to do by hand) and the new server's own
    copy allows every dispatcher. A new dispatcher joins the paid installs' PHP upstreams
    with --weight 0 (backup) by default, and nginx is rebuilt: raise its weight once the
    installs are on it. allowed_clients takes single addresses: a network like 10.0.0.0/8
    does not work there (docs/runbooks.md). A failed run is undone. See docs/runbooks.md.
  ]],
  params = {
    role = { type = "enum", values = { "dispatcher", "php" }, required = true, doc = "dispatcher (web server: nginx and php-fpm) or php (a PHP handler)" },
    hostname = { type = "hostname", required = true, doc = "the new server's hostname (handlers.hostname, servers.hostname)" },
    private_ip = { type = "ip", required = true, doc = "its internal (VLAN) address: the one php-fpm allows and nginx sends PHP requests to" },
    public_ip = { type = "ip", doc = "its public address (handlers.public_ip)" },
    movable_ip = { type = "ip", list = true, doc = "dispatcher: available IPs routed to the VLAN (server_ips, movable; paid installs get these)" },
    fixed_ip = { type = "ip", list = true, doc = "dispatcher: available IPs that stay on it (server_ips, fixed)" },
    carp = { type = "string", doc = "dispatcher: its CARP interface (handlers.carp_interface, carp3)" },
    weight = { type = "int", min = 0, max = 1000, doc = "handlers.weight (default: 0 for a dispatcher, a backup until its installs are there; 1 for a PHP handler)" },
  },
  on_failure = "undo",
  locks = function() return { "servers", "ip-pool" } end,
  run = function(args)
    local dispatcher = args.role == "dispatcher"
    if not dispatcher then
      for _, name in ipairs({ "movable_ip", "fixed_ip", "carp" }) do
        if args[name] then error(("--%s is for a dispatcher: a PHP handler serves no sites"):format(name:gsub("_", "-")), 0) end
      end
    end
    if args.carp and not args.carp:find("^[%w]+$") then error("--carp must be an interface name like carp3, got " .. args.carp, 0) end
    local conf_path = setting.string("php_fpm_conf") or "/usr/local/etc/php-fpm.conf"
    local internal_home = setting.string("internal_home") or "/home/internal"
    local add_settings = setting.table("add_server")
    local lists = type(add_settings.config_files) == "table" and add_settings.config_files or {}
    local files = type(lists[args.role]) == "table" and lists[args.role] or CONFIG_FILES[args.role]

    local new, server_row, handler_row, addresses = nil, nil, nil, {}
    local edits, by_hand = {}, {}   -- {hostname =, server = settings or nil (this server), text =} ; hostnames
    local new_conf                  -- the new server's php-fpm.conf
    local dispatcher_ips = {}

    step("Check the new server", function()
      for _, check in ipairs({ { "internal", "handlers" }, { "master", "servers" } }) do
        local row = db.query_one(check[1], "SELECT id, hostname, private_ip FROM " .. check[2] .. " WHERE hostname = ? OR private_ip = ?",
          { args.hostname, args.private_ip })
        if row then
          error(("%s is already in the %s table: %s %d, %s %s"):format(row.hostname == args.hostname and args.hostname or args.private_ip,
            check[2], check[2] == "handlers" and "handler" or "server", row.id, row.hostname, row.private_ip), 0)
        end
      end
      local seen = { [args.private_ip] = "--private-ip" }
      for _, list in ipairs({ { "movable_ip", 1 }, { "fixed_ip", 0 } }) do
        for _, ip in ipairs(args[list[1]] or {}) do
          local flag = "--" .. list[1]:gsub("_", "-")
          if seen[ip] then error(("%s %s is also given as %s"):format(flag, ip, seen[ip]), 0) end
          seen[ip] = flag
          local pool = db.query_one("master", "SELECT server_id FROM server_ips WHERE ip = ?", { ip })
          if pool then error(("%s %s is already in the IP pool (server_ips) of server %d"):format(flag, ip, pool.server_id), 0) end
          addresses[#addresses + 1] = { ip = ip, movable = list[2] }
        end
      end
      new = servers.check(args.hostname, { "sync", "cron_file" })
      for _, path in ipairs(files) do
        if not fs.exists(path) then error(("%s does not exist on this server: nothing to copy (settings.add_server.config_files)"):format(path), 0) end
      end
      if not fs.exists(internal_home .. "/lib/cron/cron.php") then
        error(internal_home .. "/lib/cron/cron.php does not exist on this server: is " .. internal_home .. " the internal plugin?", 0)
      end
      if not fs.exists(conf_path) then error(conf_path .. " does not exist on this server (settings.php_fpm_conf)", 0) end

      -- php-fpm configs: the new server's own copy allows every dispatcher; for a dispatcher,
      -- every handler allows it too.
      for _, row in ipairs(db.query("internal", "SELECT private_ip FROM handlers WHERE kind = 'dispatcher' ORDER BY id")) do
        dispatcher_ips[#dispatcher_ips + 1] = row.private_ip
      end
      if dispatcher then dispatcher_ips[#dispatcher_ips + 1] = args.private_ip end
      -- A line php-fpm would drop an entry of is refused here, naming host, file and line.
      local here_text = fs.read(conf_path)
      new_conf = php_fpm.allow(here_text, dispatcher_ips, (setting.string("this_server") or "this server") .. ":" .. conf_path)
      if dispatcher then
        for _, handler in ipairs(db.query("internal", "SELECT id, hostname, kind FROM handlers ORDER BY id")) do
          local function edit(text, there)
            local after, added = php_fpm.allow(text, { args.private_ip }, handler.hostname .. ":" .. conf_path)
            return { hostname = handler.hostname, server = there, text = after, added = added }
          end
          if handler.hostname == setting.string("this_server") then
            edits[#edits + 1] = edit(here_text)
          else
            local there = servers.reach(handler.hostname)
            local text = there and servers.read(there, conf_path)
            if text then
              edits[#edits + 1] = edit(text, there)
            else
              by_hand[#by_hand + 1] = handler.hostname
            end
          end
        end
      end
      server_row = { id = ids.next("master", "servers"), hostname = args.hostname, private_ip = args.private_ip, kind = args.role }
      handler_row = { id = ids.next("internal", "handlers"), hostname = args.hostname, private_ip = args.private_ip,
                      public_ip = args.public_ip, kind = args.role, weight = args.weight or (dispatcher and 0 or 1),
                      carp_interface = args.carp }
      log.info(("new %s %s (%s): server %d, handler %d, %d addresses; files from %s"):format(args.role, args.hostname,
        args.private_ip, server_row.id, handler_row.id, #addresses, tostring(setting.string("this_server"))))
    end)

    step("Copy their config files from any of the other servers", function()
      for _, path in ipairs(files) do servers.push(new, path) end
      -- php-fpm.conf is this server's with the dispatchers allowed (written, so the plan shows it).
      if servers.writable(new) then
        servers.write(new, conf_path, new_conf, { mode = "0644" })
      else
        servers.push(new, conf_path)
        by_hand[#by_hand + 1] = args.hostname
      end
    end)

    step("Copy /home/internal from any of the other servers", function()
      servers.push(new, internal_home)
    end)

    step("Add to crontab its lib/cron/cron.php", function()
      local folder = new.cron_file:match("^(.*)/[^/]+$")
      if folder and folder ~= "" and not fs.exists(folder) then fs.mkdir(folder) end
      cron.add(("*/5 * * * * %s %s %s/lib/cron/cron.php"):format(setting.string("cron_user") or "www", setting.string("php") or "/usr/local/bin/php",
        internal_home), { file = new.cron_file })
    end)

    step("On the master: new record into the servers table, the available ips into server_ips", function()
      db.insert("master", "servers", server_row)
      for _, address in ipairs(addresses) do
        db.insert("master", "server_ips", { server_id = server_row.id, ip = address.ip, movable = address.movable })
      end
    end)

    step("On the slave: insert new record into the handlers table", function()
      db.insert("internal", "handlers", handler_row)
    end)

    if dispatcher then
      step("Update all php-fpm config files on all handlers to allow the new dispatcher", function()
        for _, edit in ipairs(edits) do
          if #edit.added == 0 then
            log.info(("%s: php-fpm already allows %s (or allows everyone)"):format(edit.hostname, args.private_ip))
          elseif edit.server then
            servers.write(edit.server, conf_path, edit.text)
          else
            fs.write(conf_path, edit.text)
          end
        end
      end)
    end

    step("Reload php-fpm where its config changed", function()
      local changed = { args.hostname }
      for _, edit in ipairs(edits) do changed[#changed + 1] = edit.hostname end
      log.info(("php-fpm reads allowed_clients when it starts: reload it on %s (service php-fpm reload)"):format(table.concat(changed, ", ")))
      if #by_hand > 0 then
        log.warn(("this server cannot edit the php-fpm config of %s: set listen.allowed_clients = %s there by hand"):format(
          table.concat(by_hand, ", "), table.concat(dispatcher_ips, ",")))
      end
      -- The guide: "look what is inside /etc/sysctl.conf and copy the vars that seem right ...
      -- I would rather check each variable and what it does before copying it".
      log.info("/etc/sysctl.conf is not copied: compare it with this server's and take the variables that fit " .. args.hostname)
    end)

    if dispatcher then
      step("Rebuild nginx config", function()
        nginx.rebuild({ hosts = nginx.other_dispatchers(), patch = { handlers = { upsert = { handler_row } } } })
        if handler_row.weight == 0 then
          log.info(("%s is a backup PHP handler of the paid installs until their homes and shared code are there; then "
            .. "UPDATE handlers SET weight = 1 WHERE id = %d and rebuild nginx"):format(args.hostname, handler_row.id))
        end
        if settings.dispatchers ~= nil then
          local listed = false
          for _, name in ipairs(setting.table("dispatchers")) do listed = listed or name == args.hostname end
          if not listed then log.warn(("add %s to settings.dispatchers in the configuration"):format(args.hostname)) end
        end
      end)
    end
  end,
}
