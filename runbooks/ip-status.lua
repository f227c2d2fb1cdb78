-- runbooks/ip-status.lua: the guide's "box down but IPs not moved — check ifconfig ...
-- carp1": where every floating IP is right now. For each section of mas_ip_manager.cfg
-- (a CARP interface and its addresses) it shows the carp state on each dispatcher
-- (FreeBSD's `ifconfig carpN`), which dispatcher holds each address (read on each of them,
-- the others through their agents), which addresses answer ping (all at once), and where
-- the file and the master database's pool (server_ips, movable) disagree. It reads only.

local configparser = require("configparser")
local servers = require("servers")
local setting = require("settings")

-- The addresses of a section's `ips` (whitespace or commas between them).
local function addresses_of(text)
  local list = {}
  for ip in (text or ""):gmatch("[^%s,]+") do list[#list + 1] = ip end
  return list
end

-- "carp: MASTER vhid 1 advbase 1 advskew 0" -> "MASTER" (FreeBSD's ifconfig).
local function carp_state(text)
  return text:match("carp: (%u+)") or "unknown"
end

return runbook {
  summary = "Show where every floating IP is: carp state and holder on each dispatcher, ping, and config vs pool differences",
  runs_on = "either dispatcher; reads the other through its agent and the master database; changes nothing",
  doc = [[
    For each section of mas_ip_manager.cfg (--config-file): the carp interface's state on
    each dispatcher (FreeBSD's `ifconfig carpN`: MASTER or BACKUP; "no carp" on Linux),
    and for each floating address: the section it is in, the server the master database's
    pool (server_ips, movable = 1) gives it to and the install using it, the dispatcher(s)
    holding it now (read on each: this one, and settings.dispatchers' others through their
    agents), and whether it answers ping (all at once). Flagged: an address in the pool but
    in no carp section, one in a section but not in the pool, one held by no dispatcher or
    by two, a dispatcher that cannot be read. With --json the report is one JSON object
    (the `message` of a log event). It changes nothing; the run fails only when it cannot
    read the config file.
  ]],
  params = {
    config_file = { type = "path", default = "/usr/local/etc/mas_ip_manager.cfg", doc = "the ip_manager config file" },
  },
  -- It only reads (its commands are read_only): a failure has nothing to undo.
  on_failure = "undo",
  run = function(args)
    local sections, order, pool, hosts = {}, {}, {}, {}
    local flags = {}

    step("Read mas_ip_manager.cfg and the pool", function()
      local parsed
      parsed, order = configparser.parse(fs.read(args.config_file), args.config_file)
      for _, carp in ipairs(order) do
        sections[carp] = { interface = parsed[carp].interface, ips = addresses_of(parsed[carp].ips) }
      end
      local ok, rows = pcall(db.query, "master", [[
        SELECT s.hostname, i.ip, i.install_id FROM server_ips i JOIN servers s ON s.id = i.server_id
        WHERE i.movable = 1 ORDER BY s.hostname, i.ip]])
      if ok then
        for _, row in ipairs(rows) do pool[row.ip] = { server = row.hostname, install = row.install_id } end
      else
        flags[#flags + 1] = "the pool (server_ips on the master database) could not be read: " .. tostring(rows)
        pool = nil
      end
    end)

    step("Read each dispatcher", function()
      local function read(name)
        local seen = { name = name, carp = {}, holds = {} }
        for _, carp in ipairs(order) do
          local interface = sections[carp].interface
          if context.platform == "freebsd" then
            local shown = cmd.run({ "ifconfig", carp }, { read_only = true })
            seen.carp[carp] = shown.status == 0 and carp_state(shown.stdout) or "no such interface"
          else
            seen.carp[carp] = "no carp (" .. context.platform .. ")"
          end
          if interface then
            for _, ip in ipairs(net.addresses(interface)) do seen.holds[ip] = true end
          end
        end
        return seen
      end
      hosts[#hosts + 1] = read(setting.string("this_server") or context.host)
      for _, dispatcher in ipairs(servers.other_dispatchers()) do
        if dispatcher.host then
          local ok, seen = pcall(on, dispatcher.host, function() return read(dispatcher.hostname) end)
          if ok then
            hosts[#hosts + 1] = seen
          else
            flags[#flags + 1] = dispatcher.hostname .. " could not be read: " .. tostring(seen)
          end
        else
          flags[#flags + 1] = dispatcher.hostname .. " has no [hosts] entry here: its addresses were not read"
        end
      end
    end)

    local addresses = {}
    step("Ping every floating IP", function()
      local known, list = {}, {}
      for _, carp in ipairs(order) do
        for _, ip in ipairs(sections[carp].ips) do
          if not known[ip] then known[ip] = { section = carp }; list[#list + 1] = ip end
        end
      end
      for ip in pairs(pool or {}) do
        if not known[ip] then known[ip] = {}; list[#list + 1] = ip end
      end
      table.sort(list)
      local answers = #list == 0 and {} or parallel(list, function(ip) return net.ping(ip) end, { limit = math.min(#list, 64) })
      for i, ip in ipairs(list) do
        local entry = { ip = ip, section = known[ip].section, answers = answers[i] == true, held_by = {} }
        if pool and pool[ip] then entry.server, entry.install = pool[ip].server, pool[ip].install end
        for _, host in ipairs(hosts) do
          if host.holds[ip] then entry.held_by[#entry.held_by + 1] = host.name end
        end
        if pool and not pool[ip] then flags[#flags + 1] = ip .. " is in [" .. entry.section .. "] but not in the pool (server_ips)" end
        if not entry.section then flags[#flags + 1] = ip .. " is in the pool (" .. entry.server .. ") but in no carp section" end
        if #entry.held_by == 0 then flags[#flags + 1] = ip .. " is held by no dispatcher read" end
        if #entry.held_by > 1 then flags[#flags + 1] = ip .. " is held by " .. table.concat(entry.held_by, " and ") end
        addresses[#addresses + 1] = entry
      end
    end)

    local report = { sections = {}, addresses = addresses, flags = flags }
    for _, carp in ipairs(order) do
      local states = {}
      for _, host in ipairs(hosts) do states[host.name] = host.carp[carp] end
      report.sections[#report.sections + 1] = { carp = carp, interface = sections[carp].interface, state = states }
    end
    if context.json then
      print(json.encode(report))
      return
    end
    for _, section in ipairs(report.sections) do
      local states = {}
      for _, host in ipairs(hosts) do states[#states + 1] = host.name .. " " .. section.state[host.name] end
      print(("[%s] on %s: %s"):format(section.carp, tostring(section.interface), table.concat(states, ", ")))
    end
    for _, entry in ipairs(addresses) do
      print(("  %-15s  %-7s  held by %-30s  %s%s"):format(entry.ip, entry.section or "-",
        #entry.held_by > 0 and table.concat(entry.held_by, ", ") or "nobody", entry.answers and "answers ping" or "no answer",
        entry.server and ("  pool: " .. entry.server .. (entry.install and (", install " .. entry.install) or ", free")) or ""))
    end
    for _, flag in ipairs(flags) do log.warn(flag) end
    log.info(("%d floating IPs, %d sections, %d dispatchers read, %d flagged"):format(#addresses, #order, #hosts, #flags))
  end,
}
