-- runbooks/change-ssl.lua: the guide's "Change ssl": "Put the files in /home/$install/certs on
-- all servers. In install_sites for that install insert two fields ssl_pem and ssl_key, which
-- are the absolute paths to those files and rebuild nginx on all servers." What the guide
-- leaves to the operator's eye is checked first: the key is the certificate's, the
-- certificate has not expired and covers the site's secure hostname. A refused certificate
-- changes nothing; the key is a secret (its content is in no log, plan or error).
local nginx = require("nginx")
local sites = require("sites")

return runbook {
  summary = "Give sites a new certificate: files in HOME/certs on all servers, install_sites ssl_pem/ssl_key, nginx",
  runs_on = "the install's master; the files to every server of the install, nginx on every dispatcher (agents)",
  doc = [[
    The guide's "Change ssl". Run it on the install's master (settings.this_server). The
    certificate and its key are checked with openssl: the key must be the certificate's,
    the certificate must not have expired, and it must cover each --site's secure hostname
    (SAN and wildcards as browsers read them; --any-name serves it anyway, with a warning).
    Then they are copied to HOME/certs/SITE.pem and SITE.key (mode 0600) on every server of
    the install (its master, and for a paid install every dispatcher: settings.servers),
    install_sites.ssl_pem/ssl_key of the sites are set to those absolute paths, and nginx is
    rebuilt (config test first). Several --site share one certificate (a wildcard or SAN
    certificate): the files are named after the first. A failed run is undone; `runbook
    undo` puts the old files, rows and nginx back. See docs/runbooks.md.
  ]],
  params = {
    site = { type = "hostname", list = true, required = true,
             doc = "the site: its hostname or secure hostname in install_sites (repeat, or a comma list, for sites of the same install)" },
    ssl_pem = { type = "path", required = true, doc = "the new certificate (PEM; the chain after it)" },
    ssl_key = { type = "path", required = true, doc = "its private key (PEM; a secret: copied, never shown)" },
    any_name = { type = "bool", default = false, doc = "accept a certificate that does not cover the site's secure hostname (warned)" },
  },
  on_failure = "undo",
  locks = function() return { "installs" } end,
  run = function(args)
    local install, chosen, ssl_pem, ssl_key = nil, {}, nil, nil
    local nginx_hosts = {}

    step("Check the certificate", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      for _, name in ipairs(args.site) do
        local site = db.query_one("internal", [[
          SELECT id, install_id, hostname, secure_hostname, ssl_pem, ssl_key FROM install_sites
          WHERE hostname = ? OR secure_hostname = ? ORDER BY hostname = ? DESC, id]], { name, name, name })
        if not site then error("--site " .. name .. ": no site has this hostname or secure hostname", 0) end
        for _, seen in ipairs(chosen) do
          if seen.id == site.id then error(("--site %s: site %d (%s) is named twice"):format(name, site.id, site.hostname), 0) end
        end
        if install and site.install_id ~= install.id then
          error(("--site %s is a site of install %d, %s of install %d: one install per run"):format(name, site.install_id,
            chosen[1].hostname, install.id), 0)
        end
        install = install or sites.find_install(site.install_id)
        if not install then error(("site %d belongs to install %d, which is not in the installs table"):format(site.id, site.install_id), 0) end
        chosen[#chosen + 1] = site
      end
      sites.check_here(install, "change-ssl")
      sites.check_servers(install)

      local expiry
      for _, site in ipairs(chosen) do
        local name = (site.secure_hostname and site.secure_hostname ~= "") and site.secure_hostname or site.hostname
        local covered, why, date = sites.check_certificate(args.ssl_pem, args.ssl_key, name, { any_name = args.any_name })
        if not covered then
          log.warn(("the certificate does not cover %s (%s): browsers will warn on it (--any-name)"):format(name, why))
        end
        expiry = date
      end

      -- The files are named after the first site; a site left out must not be using them
      -- (it would be served the new certificate without being checked against it).
      local certs = install.home_dir .. "/certs/" .. chosen[1].hostname
      ssl_pem, ssl_key = certs .. ".pem", certs .. ".key"
      local ids = {}
      for _, site in ipairs(chosen) do ids[#ids + 1] = site.id end
      for _, other in ipairs(db.query("internal", "SELECT id, hostname, ssl_pem, ssl_key FROM install_sites WHERE install_id = ? ORDER BY id",
        { install.id })) do
        local mine = false
        for _, id in ipairs(ids) do mine = mine or id == other.id end
        if not mine and (other.ssl_pem == ssl_pem or other.ssl_key == ssl_key) then
          error(("%s is also the certificate of site %d (%s): give --site %s too, so it is checked for that name"):format(
            ssl_pem, other.id, other.hostname, other.hostname), 0)
        end
      end
      local names = {}
      for _, site in ipairs(chosen) do names[#names + 1] = site.hostname end
      log.info(("install %d (%s): %s get %s (valid until %s)"):format(install.id, install.fs_name, table.concat(names, ", "),
        args.ssl_pem, expiry))
    end)

    step("Put the files in /home/$install/certs on all servers", function()
      sites.install_certificate(install, chosen[1].hostname, args.ssl_pem, args.ssl_key)
    end)

    step("In install_sites insert the two fields ssl_pem and ssl_key", function()
      for _, site in ipairs(chosen) do
        db.update("internal", "install_sites", { ssl_pem = ssl_pem, ssl_key = ssl_key }, { id = site.id })
        if site.ssl_pem and site.ssl_pem ~= "" and site.ssl_pem ~= ssl_pem then
          log.info(("%s no longer uses %s: the old files stay in the certs folder"):format(site.hostname, site.ssl_pem))
        end
        site.ssl_pem, site.ssl_key = ssl_pem, ssl_key
      end
    end)

    step("Rebuild nginx on all servers", function()
      local rows = {}
      for _, site in ipairs(chosen) do rows[#rows + 1] = sites.nginx_row(site) end
      nginx.rebuild({ hosts = nginx_hosts, patch = { sites = { upsert = rows } } })
    end)
  end,
}
