-- runbooks/change-hostname.lua: the guide's "Change install hostname":
--   - change the hostname in install_sites table in the internal database. There needs to be
--     changed hostname, secure_hostname and ssl info (if has its own)
--   - if there is some ip change, change install_site_ips records for that install_site
--   - if we manage their dns settings, go and change all the dns records related to the last
--     hostname with the new ... Mostly here will be domains and subdomains changes.
--   - rebuild nginx config
-- plus what the guide leaves out: the site's row in the install's own database (the store
-- answers by it), and a certificate that does not cover the new name is never kept silently.
local dns = require("dns")
local nginx = require("nginx")
local sites = require("sites")

-- Record types that make a name point at the store. Others (MX, TXT, NS, SRV, ...) belong to
-- the domain, not to the store, and stay where they are.
local WEB_TYPES = { A = true, AAAA = true, CNAME = true }

-- `name` is `base` or a name under it.
local function under(name, base)
  return name == base or name:sub(-(#base + 1)) == "." .. base
end

-- `name` (under `old`) with `old` replaced by `new`: www.shop.example.com -> www.store.example.com.
local function rename(name, old, new)
  return name:sub(1, #name - #old) .. new
end

return runbook {
  summary = "Change a site's hostname: install_sites, SSL, IPs, managed DNS, the store's sites row, nginx",
  runs_on = "the install's master; certificates to the install's servers, nginx on every dispatcher (agents)",
  doc = [[
    The guide's "Change install hostname". Run it on the install's master
    (settings.this_server). The site whose hostname is FROM becomes TO in install_sites and in
    the install's own database (sites: http://TO, https://SECURE). The secure hostname follows
    (FROM -> TO, secure.FROM -> secure.TO) unless --secure-hostname names it; another secure
    name is kept. A site with its own certificate: if the certificate does not cover the new
    secure hostname the run refuses unless --ssl-pem/--ssl-key (a new certificate, copied to
    HOME/certs on every server of the install), --drop-ssl (serve http only until there is
    one) or --keep-ssl (keep serving the old one) says what to do. --new-ip replaces the
    site's address on that address's server with that free address of the pool. DNS, when
    the company manages the domains: the records that point at the store (A/AAAA/CNAME of
    FROM, and A/AAAA of names under FROM that point at the site's addresses, CNAMEs under
    FROM that point into FROM) move to the same names under TO; CNAMEs elsewhere that point
    at FROM now point at TO; other records (MX, TXT, mail.FROM, ...) stay. If the company
    manages FROM's domain but not TO's, those records are removed; a TO (and a new secure
    hostname) in a managed domain that nothing moved to gets A records for the site's
    addresses. Then nginx is rebuilt (config test first). A failed run is undone.
    See docs/runbooks.md.
  ]],
  params = {
    from = { type = "hostname", required = true, doc = "the site's hostname now (install_sites.hostname)" },
    to = { type = "hostname", required = true, doc = "its new hostname" },
    secure_hostname = { type = "hostname", doc = "the new secure hostname (default: follows the hostname, see above)" },
    ssl_pem = { type = "path", doc = "a certificate for the new name (copied to HOME/certs on every server of the install)" },
    ssl_key = { type = "path", doc = "its key (copied to HOME/certs, mode 0600)" },
    keep_ssl = { type = "bool", default = false, doc = "keep the site's certificate even if it does not cover the new name" },
    drop_ssl = { type = "bool", default = false, doc = "drop the site's certificate: served over http only until it gets one for the new name" },
    new_ip = { type = "ip", list = true, doc = "a free pool address that replaces the site's address on its server (repeat for more)" },
  },
  on_failure = "undo",
  locks = function() return { "installs" } end,
  run = function(args)
    local old, new = args.from, args.to
    if old == new then error("--to is the same as --from: nothing to change", 0) end
    if (args.ssl_pem == nil) ~= (args.ssl_key == nil) then error("give both --ssl-pem and --ssl-key, or neither", 0) end
    local chosen = (args.ssl_pem and 1 or 0) + (args.keep_ssl and 1 or 0) + (args.drop_ssl and 1 or 0)
    if chosen > 1 then error("give one of --ssl-pem/--ssl-key, --keep-ssl and --drop-ssl", 0) end

    local site, install, old_secure, new_secure, ssl
    local changed = {}          -- the site's install_sites row after the change
    local replacements = {}     -- {row =, old_pool =, new_pool =}
    local site_ips = {}         -- the site's install_site_ips rows after the change
    local dns_plan = { moves = {}, conflicts = {}, removals = {}, retargets = {}, inserts = {} }
    local store, store_rows = nil, {}
    local nginx_hosts = {}

    step("Check the change", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      site = db.query_one("internal", [[
        SELECT id, install_id, hostname, secure_hostname, rel_url, secure_rel_url, ssl_pem, ssl_key
        FROM install_sites WHERE hostname = ?]], { old })
      if not site then
        local secure_of = db.query_one("internal", "SELECT id, hostname FROM install_sites WHERE secure_hostname = ?", { old })
        if secure_of then
          error(("%s is the secure hostname of site %d, not a site's hostname: give --from %s (and --secure-hostname for its new secure name)"):format(
            old, secure_of.id, secure_of.hostname), 0)
        end
        error("no site has the hostname " .. old, 0)
      end
      install = sites.find_install(site.install_id)
      if not install then error(("site %d belongs to install %d, which is not in the installs table"):format(site.id, site.install_id), 0) end
      sites.check_here(install, "change-hostname")

      local taken = sites.user_of(new, site.id)
      if taken then
        error(("hostname %s is already %s of site %d of install %d"):format(new,
          taken.hostname == new and "the hostname" or "the secure hostname", taken.id, taken.install_id), 0)
      end

      -- The secure hostname follows the hostname unless it is some other name.
      old_secure = site.secure_hostname or old
      if args.secure_hostname then
        new_secure = args.secure_hostname
      elseif under(old_secure, old) then
        new_secure = rename(old_secure, old, new)
      else
        new_secure = old_secure
        log.info(("the secure hostname %s is not under %s: it stays (--secure-hostname changes it)"):format(old_secure, old))
      end
      if new_secure ~= new then
        local user = sites.user_of(new_secure, site.id)
        if user and (user.install_id ~= install.id or user.hostname == new_secure) then
          error(("secure hostname %s is already %s of site %d of install %d"):format(new_secure,
            user.hostname == new_secure and "the hostname" or "the secure hostname", user.id, user.install_id), 0)
        end
      end
      for _, other in ipairs(db.query("internal", "SELECT id, hostname FROM install_sites WHERE secure_hostname = ? AND id <> ?",
        { old, site.id })) do
        log.warn(("site %d (%s) uses %s as its secure hostname: it is left as it is"):format(other.id, other.hostname, old))
      end

      -- The certificate ("ssl info (if has its own)").
      local own = site.ssl_pem and site.ssl_pem ~= "" and site.ssl_key and site.ssl_key ~= ""
      if args.ssl_pem then
        sites.check_servers(install)
        sites.check_certificate(args.ssl_pem, args.ssl_key, new_secure)
        ssl = "new"
      elseif not own then
        ssl = "none"
        if args.keep_ssl or args.drop_ssl then log.info(old .. " has no certificate of its own: nothing to keep or drop") end
      elseif args.drop_ssl then
        ssl = "drop"
      elseif new_secure == old_secure then
        ssl = "keep"
      else
        local covered, why = sites.covers(site.ssl_pem, new_secure)
        if covered then
          ssl = "keep"
          log.info(("its certificate %s covers %s: it stays"):format(site.ssl_pem, new_secure))
        elseif args.keep_ssl then
          ssl = "keep"
          log.warn(("%s keeps a certificate that does not cover it (%s): browsers will warn until it is replaced"):format(new_secure, why))
        else
          error(("site %s has its own certificate, which does not cover %s (%s): give --ssl-pem and --ssl-key for the new name, "
            .. "--drop-ssl to serve it without SSL until there is one, or --keep-ssl to keep the old one"):format(old, new_secure, why), 0)
        end
      end

      -- "if there is some ip change": each new address replaces the site's address on its server.
      local current = sites.addresses(site.id)
      local on_server, seen = {}, {}
      for _, row in ipairs(current) do
        local pool = db.query_one("master", "SELECT id, server_id, ip, movable, install_id, install_site_id FROM server_ips WHERE ip = ?", { row.ip })
        if pool then
          if on_server[pool.server_id] then on_server[pool.server_id] = false else on_server[pool.server_id] = { row = row, pool = pool } end
        end
      end
      for _, ip in ipairs(args.new_ip or {}) do
        local pool = db.query_one("master", "SELECT id, server_id, ip, movable, install_id, install_site_id FROM server_ips WHERE ip = ?", { ip })
        if not pool then error(("--new-ip %s is not in the IP pool (server_ips)"):format(ip), 0) end
        if pool.install_site_id == site.id then error(("--new-ip %s is already an address of %s"):format(ip, old), 0) end
        if pool.install_id then
          error(("--new-ip %s is held by install %d (site %s)"):format(ip, pool.install_id, tostring(pool.install_site_id)), 0)
        end
        local server = db.query_one("master", "SELECT hostname FROM servers WHERE id = ?", { pool.server_id })
        local server_name = server and server.hostname or ("server " .. pool.server_id)
        local held = on_server[pool.server_id]
        if held == false then error(("the site has more than one address on %s: which one %s replaces is not clear"):format(server_name, ip), 0) end
        if not held then
          local list = {}
          for _, row in ipairs(current) do list[#list + 1] = row.ip end
          error(("--new-ip %s is on %s, where the site has no address to replace (its addresses: %s)"):format(ip, server_name,
            #list > 0 and table.concat(list, ", ") or "none"), 0)
        end
        if seen[pool.server_id] then error(("--new-ip: two addresses on %s"):format(server_name), 0) end
        seen[pool.server_id] = true
        if install.free == 0 and pool.movable ~= 1 then
          error(("--new-ip %s is a fixed address: a paid install's addresses are movable (they follow a failover)"):format(ip), 0)
        end
        replacements[#replacements + 1] = { row = held.row, old_pool = held.pool, new_pool = pool }
      end
      local new_ip_of = {}
      for _, r in ipairs(replacements) do new_ip_of[r.row.ip] = r.new_pool.ip end
      local addresses = {}
      for _, row in ipairs(current) do
        site_ips[#site_ips + 1] = { id = row.id, install_site_id = row.install_site_id, ip = new_ip_of[row.ip] or row.ip,
                                    handler_id = row.handler_id }
        addresses[#addresses + 1] = new_ip_of[row.ip] or row.ip
      end

      -- DNS: what moves, what goes, what stays (read now: a dry-run does not see its own changes).
      local zones = {}
      local function zone_of(name)
        if zones[name] == nil then zones[name] = dns.zone("master", name) or false end
        return zones[name] or nil
      end
      local old_zone, new_zone = zone_of(old), zone_of(new)
      local moved_ids, landing, kept = {}, {}, {}
      local related = old_zone and db.query("master",
        "SELECT id, domain, name, type, content, ttl FROM dns_records WHERE name = ? OR name LIKE ? ORDER BY id",
        { old, "%." .. old }) or {}
      local mine = {}
      for _, row in ipairs(current) do mine[row.ip] = true end
      for _, row in ipairs(related) do
        local name, kind, target = row.name:lower(), row.type:upper(), row.content:lower():gsub("%.$", "")
        local renamed = rename(name, old, new)
        -- Names of other sites move with their own site; a name another site has already is not taken.
        local other = name ~= old and name ~= old_secure and sites.user_of(name, site.id)
        local blocked = not other and sites.user_of(renamed, site.id)
        local moves = WEB_TYPES[kind] and not other and not blocked
          and (name == old or (kind == "CNAME" and under(target, old)) or mine[row.content])
        if moves then
          local content = row.content
          if kind == "CNAME" and under(target, old) then
            content = rename(target, old, new) .. (row.content:sub(-1) == "." and "." or "")
          elseif new_ip_of[content] then
            content = new_ip_of[content]
          end
          moved_ids[row.id] = true
          local zone = zone_of(renamed)
          if zone then
            dns_plan.moves[#dns_plan.moves + 1] = { row = row, domain = zone, name = renamed, content = content }
            landing[renamed] = true
          else
            dns_plan.removals[#dns_plan.removals + 1] = row
          end
        else
          local why = other and (" (site " .. other.id .. ")") or blocked and (" (" .. renamed .. " is site " .. blocked.id .. ")") or ""
          kept[#kept + 1] = ("%s %s %s%s"):format(row.name, row.type, row.content, why)
        end
      end
      if #kept > 0 then log.info("records under " .. old .. " that stay as they are: " .. table.concat(kept, "; ")) end
      -- CNAMEs elsewhere that point at the old name follow it.
      for _, row in ipairs(db.query("master", "SELECT id, name, content FROM dns_records WHERE type = 'CNAME' AND content IN (?, ?) ORDER BY id",
        { old, old .. "." })) do
        if not moved_ids[row.id] then
          dns_plan.retargets[#dns_plan.retargets + 1] = { row = row, content = new .. (row.content:sub(-1) == "." and "." or "") }
        end
      end
      -- The new hostname (and a new secure hostname no other site uses) in a managed zone gets
      -- A records for the site's addresses when no record moved there (like install).
      local targets = { new }
      if new_secure ~= new and not sites.user_of(new_secure, site.id) then targets[2] = new_secure end
      for _, name in ipairs(targets) do
        local zone = zone_of(name)
        if zone and not landing[name] then
          for _, ip in ipairs(addresses) do
            dns_plan.inserts[#dns_plan.inserts + 1] = { domain = zone, name = name, type = ip:find(":") and "AAAA" or "A",
                                                        content = ip, ttl = 3600 }
          end
          landing[name] = true
        end
      end
      -- What the names that now point at the store held before (A/AAAA/CNAME) gives way.
      local names = {}
      for name in pairs(landing) do names[#names + 1] = name end
      table.sort(names)
      for _, name in ipairs(names) do
        for _, row in ipairs(dns.records("master", name)) do
          if WEB_TYPES[row.type:upper()] and not moved_ids[row.id] then dns_plan.conflicts[#dns_plan.conflicts + 1] = row end
        end
      end
      dns_plan.old_zone, dns_plan.new_zone, dns_plan.addresses = old_zone, new_zone, addresses

      -- The install's own database: the rows whose host is the old name.
      store = sites.check_store(install)
      for _, row in ipairs(db.query("installs", "SELECT id, hostname, secure_hostname FROM " .. store .. " ORDER BY id")) do
        if sites.url_host(row.hostname) == old then
          local set = { hostname = sites.with_host(row.hostname, new) }
          if sites.url_host(row.secure_hostname) == old_secure then set.secure_hostname = sites.with_host(row.secure_hostname, new_secure) end
          store_rows[#store_rows + 1] = { id = row.id, set = set }
        end
      end
      if #store_rows == 0 then log.warn(("the install's own database has no sites row for %s (%s): none is changed"):format(old, store)) end

      log.info(("site %d of install %d (%s): %s -> %s, secure %s -> %s, certificate: %s"):format(site.id, install.id, install.fs_name,
        old, new, old_secure, new_secure, ({ new = "new", none = "none", keep = "kept", drop = "dropped" })[ssl]))
    end)

    step("Change the hostname in install_sites", function()
      local set = { hostname = new, secure_hostname = new_secure }
      for key, value in pairs(site) do changed[key] = value end
      changed.hostname, changed.secure_hostname = new, new_secure
      if ssl == "new" then
        set.ssl_pem, set.ssl_key = sites.install_certificate(install, new, args.ssl_pem, args.ssl_key)
        changed.ssl_pem, changed.ssl_key = set.ssl_pem, set.ssl_key
      elseif ssl == "drop" then
        set.ssl_pem, set.ssl_key = db.NULL, db.NULL
      end
      db.update("internal", "install_sites", set, { id = site.id })
      if ssl == "drop" then
        changed.ssl_pem, changed.ssl_key = nil, nil
        log.warn(("%s is served without SSL now: its certificate %s stays in the certs folder; the guide's Change ssl gives it a new one"):format(
          new, site.ssl_pem))
      end
    end)

    if #replacements > 0 then
      step("Change install_site_ips records for that install_site", function()
        lock("ip-pool")
        for _, r in ipairs(replacements) do
          db.update("internal", "install_site_ips", { ip = r.new_pool.ip }, { id = r.row.id })
          db.update("master", "server_ips", { install_id = db.NULL, install_site_id = db.NULL }, { id = r.old_pool.id })
          db.update("master", "server_ips", { install_id = install.id, install_site_id = site.id }, { id = r.new_pool.id })
          log.info(("%s replaces %s (%s)"):format(r.new_pool.ip, r.row.ip, r.new_pool.movable == 1 and "movable" or "fixed"))
        end
      end)
    end

    step("Change all the dns records related to the last hostname with the new", function()
      for _, row in ipairs(dns_plan.conflicts) do
        log.info(("%s %s %s gives way to the store"):format(row.name, row.type, row.content))
        db.delete("master", "dns_records", { id = row.id })
      end
      for _, move in ipairs(dns_plan.moves) do
        local set = { name = move.name }
        if move.domain ~= move.row.domain then set.domain = move.domain end
        if move.content ~= move.row.content then set.content = move.content end
        db.update("master", "dns_records", set, { id = move.row.id })
      end
      for _, row in ipairs(dns_plan.inserts) do db.insert("master", "dns_records", row) end
      for _, r in ipairs(dns_plan.retargets) do
        db.update("master", "dns_records", { content = r.content }, { id = r.row.id })
      end
      for _, row in ipairs(dns_plan.removals) do db.delete("master", "dns_records", { id = row.id }) end
      local addresses = table.concat(dns_plan.addresses, ", ")
      if not dns_plan.new_zone and dns_plan.old_zone then
        log.warn(("the company does not manage %s's domain: %d records of %s removed; the customer's DNS must point %s at %s"):format(
          new, #dns_plan.removals, old, new, addresses))
      elseif not dns_plan.new_zone then
        log.info(("the company manages neither domain: the customer's DNS must point %s at %s"):format(new, addresses))
      end
    end)

    step("Change the site in the install's own database", function()
      for _, row in ipairs(store_rows) do db.update("installs", store, row.set, { id = row.id }) end
    end)

    step("Rebuild nginx config", function()
      nginx.rebuild({ hosts = nginx_hosts, patch = { sites = { upsert = { sites.nginx_row(changed) } }, site_ips = { upsert = site_ips } } })
    end)
  end,
}
