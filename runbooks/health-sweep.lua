-- runbooks/health-sweep.lua: the guide's cron_slave_widgets ("It checks all sites and if a
-- site is dead it mails us and deletes rudolf, catalog cache and vars cache"). Each site this
-- dispatcher serves is asked for its page (http.get on the site's address here, with its
-- hostname as the Host header); for a dead one the install's caches are cleared
-- (stdlib/install_caches.lua, as after a code update), the site is asked again, the report is
-- mailed, and the run fails so that cron notices.
local configparser = require("configparser")
local install_caches = require("install_caches")
local installs = require("installs")
local setting = require("settings")

-- "127.0.0.1" -> "127.0.0.1", "2001:db8::1" -> "[2001:db8::1]" (a URL's host).
local function url_host(ip)
  return ip:find(":", 1, true) and ("[" .. ip .. "]") or ip
end

return runbook {
  summary = "Check that every site of this dispatcher answers; clear a dead one's caches, mail the report, fail (for cron)",
  runs_on = "each dispatcher, from cron; checks the sites this dispatcher serves",
  doc = [[
    The guide's cron_slave_widgets. Every site with an address on this dispatcher
    (settings.this_server; install_site_ips), or on an address this dispatcher took over
    from its peer (held now on an interface of mas_ip_manager.cfg,
    settings.health_sweep.ip_manager_config), is asked, all at once (64 at a time), for
    http://ADDRESS:PORT/REL_URL with
    Host: HOSTNAME (PORT: settings.nginx.http_port, else 80). A site is dead when nothing
    answers within --timeout seconds, or the answer is a 5xx (a 4xx is warned about: the
    server answers, but the page may be the wrong one). For each install with a dead
    site its caches are cleared (rudolf, catalog_cache and local/tmp in its home here, and
    its database's cache table, where the store keeps its cached vars: stdlib/install_caches),
    the dead sites are asked again, and the report is mailed to --mail-to (default
    settings.health_sweep.mail_to). The run fails (exit 1) when any site was dead, even if
    it answers again after the clearing. Without dead sites it changes nothing. From cron:
      */10 * * * * root runbook run health-sweep --yes
    `runbook undo RUN_ID` puts the cleared cache files back (the cache table's rows cannot
    be: they are rebuilt on demand).
  ]],
  params = {
    install = { type = "string", list = true, doc = "only these installs (id, fs_name or hostname; repeat or comma list); default every one served here" },
    path = { type = "string", doc = "the page to ask for (default each site's rel_url)" },
    timeout = { type = "number", default = 10, min = 0.1, max = 300, doc = "seconds a site has to answer" },
    mail_to = { type = "email", doc = "who gets the report (default settings.health_sweep.mail_to; none: printed only)" },
  },
  -- Cleared caches stay cleared: the store rebuilds them, and a failed sweep is no reason
  -- to put stale ones back.
  on_failure = "keep",
  run = function(args)
    cleanup(function()
      log.warn(("caches cleared before the failure stay cleared: `runbook log %s` lists them"):format(context.run_id))
    end)
    local config = setting.table("health_sweep")
    local nginx_settings = setting.table("nginx")
    local port = math.tointeger(nginx_settings.http_port) or 80
    local mail_to = args.mail_to or config.mail_to
    if args.path and (args.path:sub(1, 1) ~= "/" or args.path:find("[%s%c]")) then
      error("--path must be a path starting with / (no spaces), got " .. args.path, 0)
    end

    local checked, dead = 0, {}
    local first_dead, dead_installs = {}, {}   -- install id -> its first dead site; those sites in order

    step("It checks all sites", function()
      local here = db.query_one("internal", "SELECT id, hostname FROM handlers WHERE hostname = ?", { tostring(setting.string("this_server")) })
      if not here then
        error(("this server (settings.this_server = %s) is not in the handlers table"):format(tostring(setting.string("this_server"))), 0)
      end
      local only
      if args.install then
        only = {}
        for _, ref in ipairs(args.install) do only[installs.find("internal", ref).id] = true end
      end
      -- The addresses this dispatcher holds now: the floating ones it took over from its
      -- peer (failover-ips) included, read from the interfaces of mas_ip_manager.cfg.
      local held = {}
      local manager = config.ip_manager_config or "/usr/local/etc/mas_ip_manager.cfg"
      if fs.exists(manager) then
        local interfaces = {}
        for _, section in pairs(configparser.parse(fs.read(manager), manager)) do
          if section.interface and not interfaces[section.interface] then
            interfaces[section.interface] = true
            for _, ip in ipairs(net.addresses(section.interface)) do held[ip] = true end
          end
        end
      end
      local rows = db.query("internal", [[
        SELECT s.id, s.install_id, s.hostname, s.rel_url, i.fs_name, i.home_dir, i.db_name, a.ip, a.handler_id
        FROM install_sites s JOIN installs i ON i.id = s.install_id
        JOIN install_site_ips a ON a.install_site_id = s.id
        ORDER BY s.install_id, s.id, a.handler_id <> ?, a.ip]], { here.id })
      -- One address per site: its own here, else one taken over from the peer.
      local sites, seen = {}, {}
      for _, site in ipairs(rows) do
        local ours = site.handler_id == here.id or held[site.ip]
        if ours and not seen[site.id] and (not only or only[site.install_id]) then
          seen[site.id] = true
          if site.handler_id ~= here.id then site.taken_over = true end
          site.url = ("http://%s:%d%s"):format(url_host(site.ip), port, args.path or site.rel_url or "/")
          sites[#sites + 1] = site
        end
      end
      -- All at once (up to 64): a sweep with dead sites waits about one --timeout per 64
      -- of them, not one per site.
      local answers = #sites == 0 and {} or parallel(sites, function(site)
        local response, why = http.get(site.url, { host = site.hostname, timeout = args.timeout, max_body = 0 })
        return { response = response, why = why }
      end, { limit = math.min(#sites, 64) })
      for i, site in ipairs(sites) do
        checked = checked + 1
        local response, why = answers[i].response, answers[i].why
        local where = site.taken_over and " (an address taken over from the peer)" or ""
        if response and response.status < 400 then
          log.info(("%s answers %d in %d ms%s"):format(site.hostname, response.status, response.ms, where))
        elseif response and response.status < 500 then
          -- The server answers, so the store is not dead; the page may be wrong (--path).
          log.warn(("%s answers %d %s for %s%s: not dead, but is that the right page?"):format(site.hostname, response.status,
            response.reason, site.url, where))
        else
          site.why = response and ("%d %s"):format(response.status, response.reason) or why
          log.warn(("%s is dead: %s (%s)%s"):format(site.hostname, site.why, site.url, where))
          dead[#dead + 1] = site
          if not first_dead[site.install_id] then
            first_dead[site.install_id] = site
            dead_installs[#dead_installs + 1] = site
          end
        end
      end
      log.info(("%d sites served here checked (%s), %d dead"):format(checked, here.hostname, #dead))
    end)

    if #dead == 0 then return end

    step("Delete rudolf, catalog cache and vars cache of the dead sites' installs", function()
      for _, site in ipairs(dead_installs) do
        local removed = install_caches.clear_files(site.home_dir)
        local truncated = install_caches.clear_table("installs", site.db_name)
        site.cleared = ("%d cache files removed%s"):format(removed, truncated and ", cache table emptied" or "")
        log.info(("install %d (%s): %s"):format(site.install_id, site.fs_name, site.cleared))
      end
    end)

    local lines = {}
    step("Check the dead sites again", function()
      local again = parallel(dead, function(site)
        local response, why = http.get(site.url, { host = site.hostname, timeout = args.timeout, max_body = 0 })
        return { response = response, why = why }
      end, { limit = math.min(#dead, 64) })
      for i, site in ipairs(dead) do
        local response, why = again[i].response, again[i].why
        local back = response and response.status < 500
        site.after = back and ("answers %d after the clearing"):format(response.status)
          or ("still dead: " .. (response and ("%d %s"):format(response.status, response.reason) or why))
        lines[#lines + 1] = ("%s (install %d, %s) was dead at %s: %s; %s; %s"):format(site.hostname, site.install_id, site.fs_name,
          site.url, site.why, first_dead[site.install_id].cleared, site.after)
        if back then log.info(site.hostname .. " " .. site.after) else log.warn(site.hostname .. " " .. site.after) end
      end
    end)

    local summary = ("%d of %d sites served by %s were dead"):format(#dead, checked, tostring(setting.string("this_server")))
    step("It mails us", function()
      if not mail_to then
        log.warn("no --mail-to and no settings.health_sweep.mail_to: the report is not mailed")
        return
      end
      mail.send({ to = mail_to, from = config.mail_from or "runbook@" .. tostring(setting.string("this_server")),
                  subject = summary, body = summary .. ":\n\n" .. table.concat(lines, "\n") .. "\n" })
    end)

    error(summary .. ":\n  " .. table.concat(lines, "\n  "), 0)
  end,
}
