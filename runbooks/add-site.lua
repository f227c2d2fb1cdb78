-- runbooks/add-site.lua: the guide's "Adding a new site" — the site in the install's own
-- database ($site = new site(); $site->hostname = "http://..."; $site->insert()), its record
-- in install_sites, the IPs it is served on in install_site_ips, and nginx rebuilt. The guide's
-- steps leave out where the IPs come from and the DNS: here they come from the pool as for a
-- new install (stdlib/ips.lua), and a domain the company manages gets the A records.
local dns = require("dns")
local ids = require("ids")
local nginx = require("nginx")
local sites = require("sites")

return runbook {
  summary = "Add a site (hostname) to an install: its own sites row, install_sites, IPs, DNS, nginx",
  runs_on = "the install's master; certificates to the install's servers, nginx on every dispatcher (agents)",
  doc = [[
    The guide's "Adding a new site". Run it on the install's master (settings.this_server).
    The site gets a row in the install's own database (sites: http://HOSTNAME,
    https://SECURE_HOSTNAME, rel_url, secure_rel_url), a row in install_sites, addresses
    from the master database's pool like a new install (a paid install a movable IP on
    every dispatcher, a free one an IP on its master) in install_site_ips and server_ips,
    A records when the company manages the domain of the hostname (and of the secure
    hostname), and nginx is rebuilt (config
    test first). With --ssl-pem/--ssl-key the certificate must cover the secure hostname;
    it is copied to HOME/certs on every server of the install. A failed run is undone.
    See docs/runbooks.md.
  ]],
  params = {
    install = { type = "string", required = true, doc = "the install: its installs.id, fs_name or one of its hostnames" },
    hostname = { type = "hostname", required = true, doc = "the new site's hostname (wholesale.teacollection.com)" },
    secure_hostname = { type = "hostname", doc = "the name its https pages use (default the hostname)" },
    rel_url = { type = "string", default = "/", doc = "the store's path on the site (default /)" },
    secure_rel_url = { type = "string", doc = "the same for https (default --rel-url)" },
    ssl_pem = { type = "path", doc = "the site's certificate (copied to HOME/certs on every server of the install)" },
    ssl_key = { type = "path", doc = "its key (copied to HOME/certs, mode 0600)" },
  },
  on_failure = "undo",
  locks = function() return { "installs" } end,
  run = function(args)
    local hostname = args.hostname
    local secure = args.secure_hostname or hostname
    local rel_url = args.rel_url
    local secure_rel_url = args.secure_rel_url or rel_url
    for _, check in ipairs({ { "--rel-url", rel_url }, { "--secure-rel-url", secure_rel_url } }) do
      if check[2]:sub(1, 1) ~= "/" or check[2]:find("%s") then
        error(check[1] .. " must be a path starting with /, got " .. check[2], 0)
      end
    end
    if (args.ssl_pem == nil) ~= (args.ssl_key == nil) then error("give both --ssl-pem and --ssl-key, or neither", 0) end

    local install, store, site, site_ips
    local nginx_hosts = {}

    step("Check the new site", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      install = sites.find_install(args.install)
      if not install then error("--install " .. args.install .. ": no install has this id, fs_name or hostname", 0) end
      sites.check_here(install, "add-site")
      for _, name in ipairs({ hostname, secure }) do
        local taken = sites.user_of(name)
        if taken then
          error(("hostname %s is already %s of site %d of install %d"):format(name,
            taken.hostname == name and "the hostname" or "the secure hostname", taken.id, taken.install_id), 0)
        end
      end
      store = sites.check_store(install)
      if args.ssl_pem then
        sites.check_servers(install)
        sites.check_certificate(args.ssl_pem, args.ssl_key, secure)
      end
      log.info(("%s install %d (%s), master %s: new site %s"):format(install.free == 0 and "paid" or "free", install.id,
        install.fs_name, tostring(install.master), hostname))
    end)

    step("$site->insert(): the site in the install's own database", function()
      db.insert("installs", store, { hostname = sites.url("http", hostname), secure_hostname = sites.url("https", secure),
                                     rel_url = rel_url, secure_rel_url = secure_rel_url })
    end)

    step("Add a record to install_sites with the hostnames info", function()
      site = { id = ids.next("internal", "install_sites"), install_id = install.id, hostname = hostname,
               secure_hostname = secure, rel_url = rel_url, secure_rel_url = secure_rel_url }
      if args.ssl_pem then
        site.ssl_pem, site.ssl_key = sites.install_certificate(install, hostname, args.ssl_pem, args.ssl_key)
      end
      db.insert("internal", "install_sites", site)
    end)

    step("Add the ips that are used for that site in install_site_ips", function()
      site_ips = sites.allocate_ips(install, site.id)
    end)

    step("Point the managed DNS records of the site at its IPs", function()
      local addresses = {}
      for _, row in ipairs(site_ips) do addresses[#addresses + 1] = row.ip end
      local names = { hostname }
      if secure ~= hostname then names[2] = secure end
      for _, name in ipairs(names) do
        -- A name with A records has no CNAME (what pointed it elsewhere gives way to the store).
        for _, row in ipairs(dns.zone("master", name) and dns.records("master", name, "CNAME") or {}) do
          log.info(("%s CNAME %s gives way to the store"):format(row.name, row.content))
          db.delete("master", "dns_records", { id = row.id })
        end
        if dns.point("master", name, addresses) == 0 then
          if dns.zone("master", name) then
            log.info(name .. " already points at " .. table.concat(addresses, ", "))
          else
            log.info(("the company does not manage %s's domain: its DNS must point it at %s"):format(name,
              table.concat(addresses, ", ")))
          end
        end
      end
    end)

    step("Rebuild nginx config", function()
      nginx.rebuild({ hosts = nginx_hosts, patch = { sites = { upsert = { sites.nginx_row(site) } }, site_ips = { upsert = site_ips } } })
    end)
  end,
}
