-- runbooks/cloud-manager.lua: the guide's cloud_manager ("In /home/admin there is a script
-- called cloud_manager. It is a small python app that manages all the things related to
-- temporary cloud servers." — run on dispatch1): add a cloud server to the handlers table,
-- remove it, add an install to it (sync the install and its shared code, its cron there,
-- nginx), remove an install from it — and what the guide says is missing: weights ("It is
-- not automated by anything for now.. It is done manually by editing nginx config"), kept
-- per install in install_handlers.weight and rendered by stdlib/nginx.lua.
local ids = require("ids")
local installs = require("installs")
local nginx = require("nginx")
local install_handlers = require("install_handlers")
local servers = require("servers")
local setting = require("settings")

local CONNECTION = "internal"

-- The guide's spellings (add_install) are accepted too.
local ACTIONS = { "add", "remove", "add-install", "remove-install", "weight", "list", "add_install", "remove_install" }

-- Which arguments each action takes (besides --action): "required", "optional", or a
-- server given by --ip or --hostname ("server").
local TAKES = {
  add = { ip = "required", hostname = "required", weight = "optional" },
  remove = { server = true, force = "optional" },
  ["add-install"] = { server = true, id = "required", weight = "optional" },
  ["remove-install"] = { server = true, id = "required" },
  weight = { server = true, id = "required", weight = "required" },
  list = { ip = "optional", hostname = "optional", id = "optional" },
}

-- "10.0.4.2" -> 32-bit number; nil when it is no IPv4 address.
local function ipv4(text)
  local a, b, c, d = tostring(text):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local n = 0
  for _, part in ipairs({ a, b, c, d }) do
    part = tonumber(part)
    if part > 255 then return nil end
    n = n * 256 + part
  end
  return n
end

-- Whether ip is in the CIDR network ("10.0.0.0/8").
local function in_network(ip, cidr)
  local base, bits = tostring(cidr):match("^([%d%.]+)/(%d+)$")
  local address, network = ipv4(ip), base and ipv4(base)
  bits = tonumber(bits)
  if not network or not bits or bits > 32 then error("settings.cloud_manager.vlan must be an IPv4 network like 10.0.0.0/8, got " .. tostring(cidr), 0) end
  if not address then return false end
  local size = 2 ^ (32 - bits)
  return address // size == network // size
end

-- Removes a folder on the other server: with fs.remove when it is a folder here (undone
-- from the run's backup), over ssh for HOST: (cannot be undone); an rsync daemon cannot
-- remove, so that is left to the operator with a warning.
local function remove_there(server, hostname, path)
  local there = servers.folder(server, path)
  if there then return fs.remove(there) end
  local host, prefix = server.sync:match("^([^/:]+):(.*)$")
  if host and not server.sync:find("^rsync://") then
    remote.run(host, { "rm", "-rf", "--", prefix .. path })
    return true
  end
  log.warn(("%s on %s: an rsync daemon cannot remove it; remove it there by hand"):format(path, hostname))
  return false
end

-- The install's cron line (as the install runbook writes it).
local function cron_line(install)
  return ("*/5 * * * * %s %s %s/heavymetal/lib/cron/cron.php"):format(setting.string("cron_user") or "www",
    setting.string("php") or "/usr/local/bin/php", install.home_dir)
end

local function cron_remove(server, install)
  if type(server.cron_file) ~= "string" then return end
  cron.remove(cron_line(install), { file = server.cron_file })
  -- The install runbook's cron.d file holds one line per install: a file left empty goes.
  if fs.exists(server.cron_file) and fs.read(server.cron_file) == "" then fs.remove(server.cron_file) end
end

local function describe(handler)
  return ("%s (%s, handler %d)"):format(handler.hostname, handler.private_ip, handler.id)
end

return runbook {
  summary = "Cloud handlers: add or remove a cloud server, add or remove an install on it, set an install's handler weights",
  runs_on = "a dispatcher (a free install's master); the cloud through settings.servers, nginx on every dispatcher (agents)",
  doc = [[
    The guide's cloud_manager, run on a dispatcher (dispatch1):
      --action add --ip 10.0.4.2 --hostname tmp-cloud2.make-a-store.com [--weight N]
          a cloud server in the handlers table (kind cloud; --weight: the weight its
          installs get by default, 1)
      --action add-install --id INSTALL --ip IP [--weight N]
          sync the install's home and its shared code there, its cron there, then the
          install_handlers row and the nginx rebuild: the cloud gets PHP requests
      --action weight --id INSTALL --ip IP --weight N
          the share of the install's PHP requests that handler gets (0: backup). Works for
          the install's dispatchers too: --ip 10.0.0.1 --weight 0 puts d1 to backup for
          that install only
      --action remove-install --id INSTALL --ip IP
          nginx first (no more requests there), then its home, its cron and (when no other
          install there uses it) its shared code on the cloud
      --action remove --ip IP [--force]
          the server's records and the nginx rebuild; one that still serves installs is
          refused unless --force, which removes its installs from it first
      --action list [--ip IP] [--id INSTALL]
          the cloud servers, their installs and weights (changes nothing)
    --id is the install's id, name or one of its hostnames; the server is --ip or
    --hostname. How this server reaches the cloud is [settings.servers."HOSTNAME"] sync and
    cron_file, as for the other dispatcher. See docs/runbooks.md.
  ]],
  params = {
    action = { type = "enum", values = ACTIONS, required = true,
               doc = "add, remove, add-install, remove-install, weight or list (add_install, remove_install: the guide's spelling)" },
    ip = { type = "ip", doc = "the server's private IP (handlers.private_ip): a cloud server's, or a dispatcher's for --action weight" },
    hostname = { type = "hostname", doc = "the cloud server's hostname (handlers.hostname)" },
    id = { type = "string", doc = "the install: its id, name (installs.fs_name) or one of its hostnames" },
    weight = { type = "int", min = 0, max = 1000, doc = "the handler's weight for the install (0: backup); with add, its installs' default" },
    force = { type = "bool", doc = "remove: also remove the installs the server still serves" },
  },
  on_failure = "undo",
  locks = function() return { "cloud-manager", "installs" } end,
  run = function(args)
    local action = args.action:gsub("_", "-")
    local takes = TAKES[action]

    -- Arguments that belong to another action are refused, not ignored.
    for _, name in ipairs({ "ip", "hostname", "id", "weight", "force" }) do
      if args[name] ~= nil and not takes[name] and not (takes.server and (name == "ip" or name == "hostname")) then
        error(("--%s is not an argument of --action %s"):format(name, action), 0)
      end
      if takes[name] == "required" and args[name] == nil then
        error(("--action %s needs --%s"):format(action, name), 0)
      end
    end
    if takes.server and args.ip == nil and args.hostname == nil then
      error(("--action %s needs the server: --ip (its private IP) or --hostname"):format(action), 0)
    end

    -- The server named by --ip and/or --hostname.
    local function find_server()
      local by_ip = args.ip and db.query_one(CONNECTION, "SELECT * FROM handlers WHERE private_ip = ?", { args.ip })
      local by_name = args.hostname and db.query_one(CONNECTION, "SELECT * FROM handlers WHERE hostname = ?", { args.hostname })
      if args.ip and not by_ip or args.hostname and not by_name then
        local known = {}
        for _, row in ipairs(db.query(CONNECTION, "SELECT id, hostname, private_ip FROM handlers WHERE kind = 'cloud' ORDER BY id")) do
          known[#known + 1] = ("%s %s"):format(row.hostname, row.private_ip)
        end
        error(("no server %s in the handlers table (cloud servers: %s)"):format(args.ip or args.hostname,
          #known > 0 and table.concat(known, ", ") or "none"), 0)
      end
      if by_ip and by_name and by_ip.id ~= by_name.id then
        error(("--ip %s is %s, but --hostname %s is %s"):format(args.ip, by_ip.hostname, args.hostname, by_name.private_ip), 0)
      end
      return by_ip or by_name
    end

    local function require_cloud(server, what)
      if server.kind ~= "cloud" then
        error(("%s is a %s, not a cloud server: cloud-manager %s cloud servers only"):format(describe(server), server.kind, what), 0)
      end
    end

    -- The installs a server serves through install_handlers rows.
    local function installs_on(server)
      return db.query(CONNECTION, [[
        SELECT i.id, i.fs_name, i.home_dir, i.free, i.master_handler_id, i.shared_code_group_id, ih.weight
        FROM install_handlers ih JOIN installs i ON i.id = ih.install_id WHERE ih.handler_id = ? ORDER BY i.id]], { server.id })
    end

    local function names(rows)
      local out = {}
      for _, row in ipairs(rows) do out[#out + 1] = ("%d (%s)"):format(row.id, row.fs_name) end
      return table.concat(out, ", ")
    end

    local function rebuild(changes, patch)
      step("Rebuild nginx config", function()
        install_handlers.rebuild_nginx({ patch = patch, hosts = nginx.other_dispatchers() }, changes)
      end)
    end

    -- ------------------------------------------------------------------- list
    if action == "list" then
      step("List the cloud servers and their installs", function()
        local listed = (args.ip or args.hostname) and { find_server() }
          or db.query(CONNECTION, "SELECT * FROM handlers WHERE kind = 'cloud' ORDER BY id")
        local install = args.id and installs.find(CONNECTION, args.id) or nil
        if #listed == 0 then print("no cloud server in the handlers table") end
        for _, server in ipairs(listed) do
          local on = installs_on(server)
          print(("%s: %s, default weight %d, %d install%s%s"):format(describe(server), server.kind, server.weight, #on,
            #on == 1 and "" or "s", servers.reach(server.hostname) and "" or " (no [settings.servers] entry: add-install cannot reach it)"))
          for _, row in ipairs(on) do
            if not install or install.id == row.id then print(("  install %d (%s) weight %d"):format(row.id, row.fs_name, row.weight)) end
          end
        end
        if install then
          print(("install %d (%s): %s"):format(install.id, install.fs_name, install_handlers.shares(install_handlers.of(CONNECTION, install))))
        end
      end)
      return
    end

    -- ------------------------------------------------------------------- add
    if action == "add" then
      local row
      step("Check the new server", function()
        local vlan = setting.table("cloud_manager").vlan or "10.0.0.0/8"
        if not in_network(args.ip, vlan) then
          error(("--ip %s is not a private address of the VLAN (%s): a cloud server is reached at its 10.x address"):format(args.ip, vlan), 0)
        end
        local taken = db.query_one(CONNECTION, "SELECT * FROM handlers WHERE private_ip = ?", { args.ip })
        if taken then error(("--ip %s is already in the handlers table: handler %d, %s"):format(args.ip, taken.id, taken.hostname), 0) end
        taken = db.query_one(CONNECTION, "SELECT * FROM handlers WHERE hostname = ?", { args.hostname })
        if taken then error(("--hostname %s is already in the handlers table: handler %d, %s"):format(args.hostname, taken.id, taken.private_ip), 0) end
      end)

      step("This adds a new server in the handlers table", function()
        row = { id = ids.next(CONNECTION, "handlers"), hostname = args.hostname, private_ip = args.ip, kind = "cloud",
                weight = args.weight or 1 }
        db.insert(CONNECTION, "handlers", row)
        log.info(("%s is at the list of available servers; no install uses it yet, so nginx is unchanged"):format(describe(row)))
      end)

      step("Check what the server needs before it gets installs", function()
        local server = servers.reach(args.hostname)
        if not server or type(server.sync) ~= "string" or type(server.cron_file) ~= "string" then
          log.warn(("add-install needs to know how to reach it: set sync and cron_file in [settings.servers.\"%s\"]"):format(args.hostname))
        end
        local clients = {}
        for _, d in ipairs(db.query(CONNECTION, "SELECT private_ip FROM handlers WHERE kind = 'dispatcher' ORDER BY id")) do
          clients[#clients + 1] = d.private_ip
        end
        log.info(("its php-fpm must allow the dispatchers: listen.allowed_clients = %s"):format(table.concat(clients, ",")))
      end)
      return
    end

    -- ------------------------------------------------------------------- the others
    local server, install, group, target
    step("Find the server" .. (takes.id and " and the install" or ""), function()
      server = find_server()
      if args.id then install = installs.find(CONNECTION, args.id) end
      if action == "add-install" or action == "remove-install" then
        require_cloud(server, action == "add-install" and "adds installs to" or "removes installs from")
      elseif action == "remove" then
        require_cloud(server, "removes")
      end
      if install then
        group = db.query_one(CONNECTION, "SELECT id, dir FROM shared_code_groups WHERE id = ?", { install.shared_code_group_id })
        if not group then error(("install %d's shared code group %d does not exist"):format(install.id, install.shared_code_group_id), 0) end
        target = install_handlers.of(CONNECTION, install)
        log.info(("install %d (%s): %s"):format(install.id, install.fs_name, install_handlers.shares(target)))
      end
    end)

    -- ------------------------------------------------------------------- weight
    if action == "weight" then
      local entry
      for _, e in ipairs(target) do if e.id == server.id then entry = e end end
      local changes = {}
      step("Give weights to the clouds", function()
        if not entry then
          if server.kind == "cloud" then
            error(("%s does not serve install %d (%s): add it first (--action add-install)"):format(describe(server), install.id, install.fs_name), 0)
          end
          error(("%s does not serve install %d (%s), a %s install: its PHP handlers are %s"):format(describe(server), install.id,
            install.fs_name, install.free == 0 and "paid" or "free", install_handlers.shares(target)), 0)
        end
        local row = entry.row
        if entry.why ~= "added" and args.weight == server.weight then
          -- A dispatcher back at its own weight: no override row.
          if row then
            db.delete(CONNECTION, "install_handlers", { id = row.id })
            changes.delete = { { install_id = install.id, handler_id = server.id } }
          else
            log.info(("%s already has its weight %d for install %d"):format(server.hostname, args.weight, install.id))
          end
        elseif row then
          db.update(CONNECTION, "install_handlers", { weight = args.weight }, { id = row.id })
          changes.upsert = { { install_id = install.id, handler_id = server.id, weight = args.weight } }
        else
          local new = { id = ids.next(CONNECTION, "install_handlers"), install_id = install.id, handler_id = server.id, weight = args.weight }
          db.insert(CONNECTION, "install_handlers", new)
          changes.upsert = { new }
        end
        local after = install_handlers.of(CONNECTION, install, changes)
        log.info(("install %d (%s) now: %s"):format(install.id, install.fs_name, install_handlers.shares(after)))
      end)
      rebuild(changes)
      return
    end

    -- ------------------------------------------------------------------- add-install
    if action == "add-install" then
      local there
      local weight = args.weight or server.weight
      step("Check that the install can go there", function()
        for _, e in ipairs(target) do
          if e.id == server.id then
            error(("install %d (%s) is on %s already (weight %d): change it with --action weight"):format(install.id,
              install.fs_name, server.hostname, e.weight), 0)
          end
        end
        there = servers.reach(server.hostname)
        if not there or type(there.sync) ~= "string" or there.sync == "" then
          error(("how does this server reach %s? set sync in [settings.servers.\"%s\"] (a folder, HOST: or rsync://)"):format(
            server.hostname, server.hostname), 0)
        end
        if type(there.cron_file) ~= "string" then
          error(("where are the crons of %s? set cron_file in [settings.servers.\"%s\"]"):format(server.hostname, server.hostname), 0)
        end
        if not fs.exists(install.home_dir) then
          local master = db.query_one(CONNECTION, "SELECT hostname FROM handlers WHERE id = ?", { install.master_handler_id })
          error(("install %d's home %s is not on this server: run cloud-manager on its master, %s"):format(install.id,
            install.home_dir, master and master.hostname or "handler " .. install.master_handler_id), 0)
        end
        if not fs.exists(group.dir) then error(("the shared code %s is not on this server"):format(group.dir), 0) end
        local folder = servers.folder(there, "/")
        if folder and not fs.exists(folder) then
          error(("%s stands in for %s (settings.servers sync) and does not exist"):format(folder, server.hostname), 0)
        end
        local home_there = servers.folder(there, install.home_dir)
        if home_there and fs.exists(home_there) then
          error(("%s already exists on %s, though the install is not on it: remove it there first"):format(install.home_dir, server.hostname), 0)
        end
      end)

      step("Syncs the install files and shared code", function()
        servers.push(there, group.dir, { delete = true })
        -- The FTP tree's bind mounts are the install's own folders again: not copied twice.
        servers.push(there, install.home_dir, { delete = true, excludes = { "/heavymetal/tmp/ftp/*" } })
      end)

      step("Also adds crons for that install on the new server", function()
        cron.add(cron_line(install), { file = there.cron_file })
      end)

      local changes
      step("Add additional php handler for install", function()
        local row = { id = ids.next(CONNECTION, "install_handlers"), install_id = install.id, handler_id = server.id, weight = weight }
        db.insert(CONNECTION, "install_handlers", row)
        changes = { upsert = { row } }
        log.info(("install %d (%s) now: %s"):format(install.id, install.fs_name,
          install_handlers.shares(install_handlers.of(CONNECTION, install, changes))))
      end)
      rebuild(changes)
      return
    end

    -- ------------------------------------------------------------------- remove-install, remove
    -- The installs to take off the server: nginx first (no request goes there any more),
    -- then their files and crons there.
    local leaving
    if action == "remove-install" then
      step("Check that the install is on the server", function()
        local on = false
        for _, e in ipairs(target) do if e.id == server.id and e.row then on = true end end
        if not on then
          error(("install %d (%s) is not on %s"):format(install.id, install.fs_name, describe(server)), 0)
        end
        leaving = { install }
      end)
    else
      step("Check what the server still serves", function()
        leaving = installs_on(server)
        if #leaving > 0 and not args.force then
          error(("%s still serves install%s %s: remove %s first (--action remove-install) or give --force to remove %s with the server"):format(
            describe(server), #leaving == 1 and "" or "s", names(leaving), #leaving == 1 and "it" or "them",
            #leaving == 1 and "it" or "them"), 0)
        end
        for _, check in ipairs({
          { "installs", "master_handler_id", "the master of installs" },
          { "shared_code_groups", "handler_id", "the master of shared code groups" },
          { "install_site_ips", "handler_id", "the handler of site addresses" },
        }) do
          local used = db.query(CONNECTION, ("SELECT id FROM %s WHERE %s = ? ORDER BY id"):format(check[1], check[2]), { server.id })
          if #used > 0 then
            local list = {}
            for _, row in ipairs(used) do list[#list + 1] = tostring(row.id) end
            error(("%s is %s %s (%s.%s): not a removable cloud server"):format(describe(server), check[3], table.concat(list, ", "),
              check[1], check[2]), 0)
          end
        end
        if #leaving > 0 then log.info(("--force: installs %s leave %s with it"):format(names(leaving), server.hostname)) end
      end)
    end

    local changes = { delete = {} }
    step(action == "remove" and "Removes all records related to this server" or "Removes install from cloud server", function()
      for _, row in ipairs(leaving) do
        db.delete(CONNECTION, "install_handlers", { install_id = row.id, handler_id = server.id })
        changes.delete[#changes.delete + 1] = { install_id = row.id, handler_id = server.id }
        local after = install_handlers.of(CONNECTION, row, changes)
        local active, backups = 0, {}
        for _, e in ipairs(after) do
          if e.weight > 0 then active = active + 1 else backups[#backups + 1] = e.private_ip end
        end
        log.info(("install %d (%s) now: %s"):format(row.id, row.fs_name, install_handlers.shares(after)))
        if active == 0 and #backups > 0 then
          log.warn(("install %d has no handler with a weight above 0 left (nginx uses them all alike): give them theirs back with "
            .. "--action weight --id %d --weight 1 --ip IP, for IP %s"):format(row.id, row.id, table.concat(backups, " and ")))
        end
      end
      if action == "remove" then db.delete(CONNECTION, "handlers", { id = server.id }) end
    end)
    rebuild(changes, action == "remove" and { handlers = { delete = { server.id } } } or nil)

    if #leaving > 0 then
      step("Remove the install files, shared code and crons from the server", function()
        local there = servers.reach(server.hostname)
        if not there or type(there.sync) ~= "string" or there.sync == "" then
          log.warn(("no [settings.servers.\"%s\"] sync: the files and crons of %s stay on the server (remove them there, or drop the server)")
            :format(server.hostname, names(leaving)))
          return
        end
        local groups, order = {}, {}
        for _, row in ipairs(leaving) do
          cron_remove(there, row)
          remove_there(there, server.hostname, row.home_dir)
          if not groups[row.shared_code_group_id] then groups[row.shared_code_group_id] = true; order[#order + 1] = row.shared_code_group_id end
        end
        -- A shared code another install on the server still uses stays.
        for _, group_id in ipairs(order) do
          local still = action == "remove-install" and db.query_one(CONNECTION, [[
            SELECT i.id, i.fs_name FROM install_handlers ih JOIN installs i ON i.id = ih.install_id
            WHERE ih.handler_id = ? AND i.shared_code_group_id = ? AND i.id <> ? ORDER BY i.id LIMIT 1]],
            { server.id, group_id, install.id }) or nil
          local dir = db.query_one(CONNECTION, "SELECT dir FROM shared_code_groups WHERE id = ?", { group_id })
          if still then
            log.info(("%s stays on %s: install %d (%s) uses it"):format(dir and dir.dir or "group " .. group_id, server.hostname, still.id, still.fs_name))
          elseif dir then
            remove_there(there, server.hostname, dir.dir)
          end
        end
      end)
    end
  end,
}
