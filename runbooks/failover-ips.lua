-- runbooks/failover-ips.lua: the guide's ip_manager ("Failsafe of the dispatchers").
--
-- devd runs it when a CARP interface goes up or down (see docs/failover.md for the devd.conf
-- block and the /home/admin/ip_manager wrapper). It reads /usr/local/etc/mas_ip_manager.cfg
-- in the guide's format:
--
--   [carp2]
--   interface = igb1
--   ips : 208.43.48.5
--         208.43.48.6
--
-- On LINK_DOWN of a carp it takes that section's IPs on the named NIC — each one only if
-- it does not answer ping, as the guide says — and on LINK_UP it releases them (or the
-- other way round, with take_on = "LINK_UP" in [settings.failover_ips]). It needs no
-- database: it runs exactly when the other dispatcher (and maybe more) is in trouble.

local configparser = require("configparser")
local setting = require("settings")

-- True for an IPv4 address in dotted-quad form or an IPv6 address (hex groups and colons).
local function is_ip(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    for _, part in ipairs({ a, b, c, d }) do
      if #part > 3 or tonumber(part) > 255 then return false end
    end
    return true
  end
  return text:find(":", 1, true) ~= nil and text:match("^[%x:%.]+$") ~= nil and #text <= 45
end

-- An interface name as the kernel spells it: carp2, igb1, vlan10, em0.1 (at most 15 bytes).
local function is_interface(name)
  return #name >= 1 and #name <= 15 and name:match("^[%a][%w_.%-]*$") ~= nil
end

return runbook {
  summary = "Move the dispatchers' floating IPs on a CARP event (the guide's ip_manager, run by devd)",
  runs_on = "each dispatcher, started by devd; this host's interface only; needs no database",
  doc = [[
    devd runs this when carp1 or carp2 goes UP or DOWN (docs/failover.md has the
    devd.conf block and the /home/admin/ip_manager wrapper). It reads the section
    [CARP] of the config file (default /usr/local/etc/mas_ip_manager.cfg):

      [carp2]
      interface = igb1
      ips : 208.43.48.5
            208.43.48.6

    LINK_DOWN: the other dispatcher is gone; every IP of the section is pinged and the
    ones that do not answer are added to the interface (an IP that still answers is
    left where it is and logged). LINK_UP: the other dispatcher is back; the IPs are
    removed from the interface. (`take_on = "LINK_UP"` in [settings.failover_ips]
    swaps the two, for hosts whose devd reports carp(4)'s MASTER as LINK_UP: see
    docs/failover.md.) Running it twice changes nothing the second time; a dry-run
    pings but changes nothing; `runbook undo RUN_ID` reverses a run. It needs no
    database.
  ]],
  params = {
    carp = { type = "string", required = true,
             doc = "the section: the CARP interface of the event (devd's $subsystem), e.g. carp2, or VHID@NIC (2@igb1: section carp2)" },
    action = { type = "enum", values = { "LINK_UP", "LINK_DOWN", "MASTER", "BACKUP" }, required = true,
               doc = "devd's $type: MASTER takes the section's IPs and BACKUP releases them (system CARP); for the carpN "
                  .. "interfaces' IFNET events, LINK_DOWN takes and LINK_UP releases (see take_on)" },
    config_file = { type = "path", default = "/usr/local/etc/mas_ip_manager.cfg",
                    doc = "the ip_manager config file with a [CARP] section per interface" },
  },
  -- One event per CARP interface at a time; the wrapper waits for the lock (--lock-timeout).
  locks = function(args) return { "failover-ips:" .. (args.carp:gsub("^(%d+)@.*$", "carp%1")) } end,
  -- A failover that stops half way keeps the addresses it moved: serving them is the point.
  on_failure = "keep",
  run = function(args)
    cleanup(function()
      log.warn(("the addresses moved before the failure stay as they are: `runbook log %s` lists them, "
        .. "`runbook undo %s` moves them back"):format(context.run_id, context.run_id))
    end)
    -- devd's CARP events name the vhid and its NIC ("2@igb1"): the section is carpVHID.
    local vhid, nic = args.carp:match("^(%d+)@(.+)$")
    local carp = vhid and ("carp" .. vhid) or args.carp
    if not is_interface(carp) or (nic and not is_interface(nic)) then
      error("argument --carp: expected an interface name like carp2 (or VHID@NIC like 2@igb1), got '" .. args.carp .. "'", 0)
    end
    -- Which event takes the IPs. The guide: "when dispatch2 (carp2) goes down - on dispatch1
    -- ... ip_manager --carp=carp2 --action=LINK_DOWN ... will add" them. carp(4) itself
    -- raises LINK_UP on the host that becomes MASTER: hosts whose devd reports it that way
    -- set take_on = "LINK_UP" in [settings.failover_ips] (docs/failover.md).
    local options = setting.table("failover_ips")
    local take_on = options.take_on or "LINK_DOWN"
    if take_on ~= "LINK_DOWN" and take_on ~= "LINK_UP" then
      error("settings.failover_ips.take_on must be \"LINK_DOWN\" or \"LINK_UP\", got " .. tostring(take_on), 0)
    end
    -- MASTER and BACKUP (devd's system CARP, carp(4) since FreeBSD 10) say it outright.
    local take
    if args.action == "MASTER" or args.action == "BACKUP" then take = args.action == "MASTER" else take = args.action == take_on end

    local interface, ips
    step("Read the config file " .. args.config_file, function()
      -- Read as Python's configparser read it for the old ip_manager (stdlib/configparser.lua):
      -- a repeated key or section is an error naming the line, not "the last one wins".
      local sections, order = configparser.parse(fs.read(args.config_file), args.config_file)
      local section = sections[carp]
      if not section then
        error(("no section [%s] in %s (it has: %s)"):format(carp, args.config_file,
          #order > 0 and table.concat(order, ", ") or "no sections"), 0)
      end
      interface = section.interface
      if not interface or not is_interface(interface) then
        error(("[%s] in %s needs 'interface = NIC' (like igb1), got '%s'"):format(carp, args.config_file,
          tostring(interface)), 0)
      end
      ips = {}
      local seen = {}
      for ip in (section.ips or ""):gmatch("[^%s,]+") do
        if not is_ip(ip) then
          error(("[%s] in %s: '%s' is not an IP address"):format(carp, args.config_file, ip), 0)
        end
        if not seen[ip] then
          seen[ip] = true
          ips[#ips + 1] = ip
        end
      end
      if #ips == 0 then log.warn(("[%s] in %s lists no ips: nothing to move"):format(carp, args.config_file)) end
      log.info(("%s: interface %s, ips %s"):format(args.carp, interface, table.concat(ips, " ")))
    end)

    if take then
      -- The guide: "before they are taken the script does a ping to those ips. If the ping
      -- is successful, the IPs are not taken."
      local free, answering = {}, {}
      step("Ping the IPs before they are taken", function()
        local present, absent = {}, {}
        for _, ip in ipairs(net.addresses(interface)) do present[ip] = true end
        for _, ip in ipairs(ips) do
          if not present[ip] then absent[#absent + 1] = ip end
        end
        -- All at once: the failover waits one ping timeout, not one per address.
        local answers = #absent == 0 and {} or parallel(absent, function(ip) return net.ping(ip) end,
                                                         { limit = math.min(#absent, 64) })
        local answered = {}
        for i, ip in ipairs(absent) do answered[ip] = answers[i] end
        for _, ip in ipairs(ips) do
          if present[ip] then
            free[#free + 1] = ip -- already ours: add_ip below reports "already so"
          elseif answered[ip] then
            answering[#answering + 1] = ip
            log.warn(ip .. " still answers ping: another host has it, so it is not taken")
          else
            free[#free + 1] = ip
          end
        end
      end)
      step("Add the IPs to " .. interface, function()
        for i, ip in ipairs(free) do
          -- force: this run pinged it a moment ago; a second ping per address would only
          -- slow the failover down by a second each.
          net.add_ip(interface, ip, { force = true })
          progress(i, #free)
        end
      end)
      log.info(("%s %s: %d of %d IPs are on %s%s"):format(args.carp, args.action, #free, #ips, interface,
        #answering > 0 and ("; not taken (still answer ping): " .. table.concat(answering, " ")) or ""))
    else
      local released = 0
      step("Remove the IPs from " .. interface, function()
        for i, ip in ipairs(ips) do
          if net.remove_ip(interface, ip) then released = released + 1 end
          progress(i, #ips)
        end
      end)
      log.info(("%s %s: released %d IPs from %s%s"):format(args.carp, args.action, released, interface,
        released < #ips and (" (" .. (#ips - released) .. " of the section's " .. #ips .. " were not on it)") or ""))
    end
  end,
}
