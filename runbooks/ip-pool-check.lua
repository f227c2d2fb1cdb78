-- runbooks/ip-pool-check.lua: the guide's wish for the IP pool ("When we run out we must
-- order more IPs. We can track the amount we have and have some small notifier to notify us
-- that we need more.") Reads the master database's server_ips, prints the free movable and
-- fixed addresses of every server, and fails — so cron mails its output — when a server
-- has fewer free addresses than the threshold. Changes nothing.
local setting = require("settings")

return runbook {
  summary = "Report the free movable and fixed IPs of every server; fail below a threshold (for cron)",
  runs_on = "anywhere with the master connection; reads only",
  doc = [[
    The guide's "small notifier" for the IP pool (Install process: "When we run out we must
    order more IPs"). For every server of the master database's servers table it counts the
    addresses of server_ips that no install holds, movable (routed to the VLAN: what paid
    installs get) and fixed, and prints a table. The run fails (exit 1) when a dispatcher has
    fewer free movable addresses than --min-movable or fewer free fixed ones than --min-fixed
    (cloud handlers serve no sites and are only listed), naming each one and how many to order. Thresholds default to
    settings.ip_pool.min_movable and settings.ip_pool.min_fixed, else 2 and 0. Reads only:
    run it from cron as often as you like, e.g.
      0 * * * * root runbook run ip-pool-check --yes || true
    (cron mails the output of a failed run).
  ]],
  params = {
    min_movable = { type = "int", doc = "the fewest free movable IPs a dispatcher may have (default settings.ip_pool.min_movable, else 2)" },
    min_fixed = { type = "int", doc = "the fewest free fixed IPs a dispatcher may have (default settings.ip_pool.min_fixed, else 0)" },
  },
  run = function(args)
    local pool = setting.table("ip_pool")
    local min_movable = args.min_movable or math.tointeger(pool.min_movable) or 2
    local min_fixed = args.min_fixed or math.tointeger(pool.min_fixed) or 0
    if min_movable < 0 or min_fixed < 0 then error("thresholds cannot be negative", 0) end
    local short = {}

    step("Count the free IPs of every server", function()
      local servers = db.query("master", [[
        SELECT s.id, s.hostname, s.kind,
               COALESCE(SUM(ip.movable = 1 AND ip.install_id IS NULL), 0) AS free_movable,
               COALESCE(SUM(ip.movable = 1), 0) AS movable,
               COALESCE(SUM(ip.movable = 0 AND ip.install_id IS NULL), 0) AS free_fixed,
               COALESCE(SUM(ip.movable = 0), 0) AS fixed
        FROM servers s LEFT JOIN server_ips ip ON ip.server_id = s.id
        GROUP BY s.id, s.hostname, s.kind ORDER BY s.id]])
      if #servers == 0 then error("the master database has no servers", 0) end
      local width = 6
      for _, server in ipairs(servers) do width = math.max(width, #server.hostname) end
      print(("%-" .. width .. "s  %-10s  %13s  %11s"):format("server", "kind", "free movable", "free fixed"))
      for _, server in ipairs(servers) do
        local free_movable, free_fixed = math.tointeger(server.free_movable), math.tointeger(server.free_fixed)
        print(("%-" .. width .. "s  %-10s  %6d of %-4d  %4d of %-4d"):format(server.hostname, server.kind,
          free_movable, math.tointeger(server.movable), free_fixed, math.tointeger(server.fixed)))
        if server.kind == "dispatcher" and free_movable < min_movable then
          short[#short + 1] = ("%s has %d free movable IP%s (at least %d wanted): order %d more routed to the VLAN"):format(
            server.hostname, free_movable, free_movable == 1 and "" or "s", min_movable, min_movable - free_movable)
        end
        if server.kind == "dispatcher" and free_fixed < min_fixed then
          short[#short + 1] = ("%s has %d free fixed IP%s (at least %d wanted): order %d more"):format(
            server.hostname, free_fixed, free_fixed == 1 and "" or "s", min_fixed, min_fixed - free_fixed)
        end
      end
    end)

    if #short > 0 then
      error("the IP pool is running out:\n  " .. table.concat(short, "\n  "), 0)
    end
    log.info(("every dispatcher has at least %d free movable IPs and at least %d free fixed ones"):format(
      min_movable, min_fixed))
  end,
}
