-- stdlib/sites.lua: an install's sites, for the add-site, change-hostname and change-ssl
-- runbooks (the same rules as the install runbook's site steps: addresses, certificates).
-- The guide: "Each
-- site is being inserted in the install_sites table. Also the ssl keys paths and info are
-- stored here. In install_site_ips are inserted the IP's for each site"; "Adding a new site:
-- $site->hostname = "http://wholesale.teacollection.com"; $site->secure_hostname =
-- "https://..." ... After that add a record to install_sites with the hostnames info and
-- after that add the ips that are used for that site in install_site_ips"; "Change ssl: Put
-- the files in /home/$install/certs on all servers".
--
--   sites.find_install(value) -> install row or nil
--       value: an installs.id, an fs_name or one of the install's hostnames (install_sites
--       hostname or secure_hostname). Row: id, email, db_name, fs_name, home_dir, free,
--       dynamic_ips, master_handler_id, master (its handlers.hostname).
--   sites.user_of(name [, except_site_id]) -> the install_sites row that has `name` as its
--       hostname or secure_hostname (other than site except_site_id), or nil
--   sites.check_here(install, what)  errors unless this server (settings.this_server) is the
--       install's master: certificates are written in its home and copied from there
--   sites.servers(install) -> handler rows {id, hostname, kind, server_id} the install lives
--       on: its master first, then (paid installs) every other dispatcher; server_id is the
--       master database's servers.id of the same hostname
--   sites.check_servers(install)  errors (before anything changes) when this server does not
--       know how to reach another server of the install (settings.servers."HOST".sync)
--   sites.allocate_ips(install, site_id) -> install_site_ips rows {id, install_site_id, ip, handler_id}
--       the guide's IPs for a new site: from the master database's pool (stdlib/ips.lua: a
--       movable address per dispatcher for a paid install, one on the master for a free one),
--       each held in server_ips and inserted into install_site_ips with an id from ids.next
--   sites.addresses(site_id) -> the install_site_ips rows of a site (id, install_site_id, ip, handler_id)
--   sites.store_table(install) -> "DB_NAME.sites", the install's own sites table (connection
--       "installs"); sites.check_store(install) errors when that table does not exist
--   sites.url(scheme, host) -> "http://host"; sites.url_host(url) -> its host in lower case;
--   sites.with_host(url, host) -> the URL with that host (scheme, port and path kept)
--   sites.check_certificate(pem, key, hostname [, {any_name = true}]) -> covered, why, expiry date
--       errors unless the PEM file is a certificate, the key is its private key, it has not
--       expired, and it covers `hostname` (openssl x509 -checkhost: SAN and wildcards as
--       browsers read them; with any_name a name it does not cover is returned, not an
--       error); paths as the runbook names them (under --root). No message holds the key.
--   sites.covers(pem, hostname) -> true, or false and why (a missing or unreadable file: false)
--   sites.expiry(pem) -> its notAfter date, and whether that is past
--       (these run settings.openssl, default "openssl" on the PATH, as reads: also in a dry-run)
--   sites.install_certificate(install, name, pem, key) -> ssl_pem, ssl_key
--       copies the files to HOME/certs/NAME.pem and NAME.key (both 0600, the key a secret) and to the
--       same place on every other server of the install ("on all servers": a folder sync is
--       fs.write effects, undone; else servers.push: through that server's agent, undone
--       there, or over ssh or to its rsync daemon, marked `!`)
--       too (every dispatcher serves every install from its own nginx)
--   sites.nginx_row(site) -> the row nginx.patch wants for a site (the columns nginx.load reads)
--
-- Connections: "internal" (installs, sites, handlers), "master" (servers, the IP pool),
-- "installs" (the install's own database, named installs.db_name), as in schema/README.md.

local ids = require("ids")
local ips = require("ips")
local servers_config = require("servers")   -- (`servers` is the list of an install's servers below)
local setting = require("settings")

local M = {}

local INSTALL_COLUMNS = "i.id, i.email, i.db_name, i.fs_name, i.home_dir, i.free, i.dynamic_ips, i.master_handler_id, "
  .. "h.hostname AS master"

function M.find_install(value)
  value = tostring(value)
  local from = "FROM installs i LEFT JOIN handlers h ON h.id = i.master_handler_id"
  local row
  if value:find("^%d+$") and #value <= 10 then
    row = db.query_one("internal", "SELECT " .. INSTALL_COLUMNS .. " " .. from .. " WHERE i.id = ?", { math.tointeger(tonumber(value)) })
  end
  row = row or db.query_one("internal", "SELECT " .. INSTALL_COLUMNS .. " " .. from .. " WHERE i.fs_name = ?", { value })
  row = row or db.query_one("internal", "SELECT " .. INSTALL_COLUMNS .. " " .. from
    .. " JOIN install_sites s ON s.install_id = i.id WHERE s.hostname = ? OR s.secure_hostname = ? ORDER BY s.id",
    { value:lower(), value:lower() })
  return row
end

function M.user_of(name, except_site_id)
  return db.query_one("internal", [[
    SELECT id, install_id, hostname, secure_hostname FROM install_sites
    WHERE (hostname = ? OR secure_hostname = ?) AND id <> ? ORDER BY id]], { name, name, except_site_id or 0 })
end

function M.check_here(install, what)
  local here = setting.string("this_server")
  if here and install.master and install.master:lower() ~= here:lower() then
    error(("install %d (%s) has its master on %s: run %s there, not on %s"):format(install.id, install.fs_name,
      install.master, what, here), 0)
  end
end

function M.servers(install)
  local list = {}
  local master = db.query_one("internal", "SELECT id, hostname, kind FROM handlers WHERE id = ?", { install.master_handler_id })
  if not master then
    error(("install %d (%s): its master handler %s is not in the handlers table"):format(install.id, install.fs_name,
      tostring(install.master_handler_id)), 0)
  end
  list[1] = master
  if install.free == 0 then
    for _, row in ipairs(db.query("internal", "SELECT id, hostname, kind FROM handlers WHERE kind = 'dispatcher' AND id <> ? ORDER BY id",
      { master.id })) do
      list[#list + 1] = row
    end
  end
  for _, handler in ipairs(list) do
    local server = db.query_one("master", "SELECT id FROM servers WHERE hostname = ?", { handler.hostname })
    if not server then error("handler " .. handler.hostname .. " is not in the master's servers table", 0) end
    handler.server_id = server.id
  end
  return list
end

function M.check_servers(install)
  local servers = M.servers(install)
  for i = 2, #servers do servers_config.check(servers[i].hostname) end
  return servers
end

function M.allocate_ips(install, site_id)
  local servers = M.servers(install)
  local server_ids, handler_of = {}, {}
  for _, handler in ipairs(servers) do
    server_ids[#server_ids + 1] = handler.server_id
    handler_of[handler.server_id] = handler.id
  end
  local rows = {}
  local addresses = ips.allocate("master", { install_id = install.id, install_site_id = site_id, paid = install.free == 0,
                                             master_server_id = server_ids[1], servers = server_ids })
  for _, address in ipairs(addresses) do
    local row = { id = ids.next("internal", "install_site_ips"), install_site_id = site_id, ip = address.ip,
                  handler_id = handler_of[address.server_id] }
    db.insert("internal", "install_site_ips", row)
    rows[#rows + 1] = row
    log.info(("%s on %s%s"):format(address.ip, row.handler_id == servers[1].id and "the master" or ("handler " .. row.handler_id),
      address.movable and " (movable)" or ""))
  end
  return rows
end

function M.addresses(site_id)
  return db.query("internal", "SELECT id, install_site_id, ip, handler_id FROM install_site_ips WHERE install_site_id = ? ORDER BY id",
    { site_id })
end

function M.store_table(install)
  if not tostring(install.db_name):find("^[%w_$]+$") then
    error(("install %d: db_name '%s' is not a plain database name"):format(install.id, tostring(install.db_name)), 0)
  end
  return install.db_name .. ".sites"
end

function M.check_store(install)
  local table_name = M.store_table(install)
  local found = db.query_one("installs", "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'sites'",
    { install.db_name })
  if not found then
    error(("the install's own database has no sites table (%s on connection installs)"):format(table_name), 0)
  end
  return table_name
end

function M.url(scheme, host) return scheme .. "://" .. host end

-- The URL with its host replaced: "http://old.example.com/shop" -> "http://new.example.com/shop".
function M.with_host(url, host)
  local scheme, rest = url:match("^(%a[%w+.-]*://)[^/:]*(.*)$")
  if not scheme then return host end
  return scheme .. host .. rest
end

function M.url_host(url)
  if type(url) ~= "string" then return nil end
  return (url:gsub("^%s+", ""):gsub("^%a[%w+.-]*://", ""):gsub("[/:].*$", ""):lower())
end

-- The path on this machine of a path the runbook names (nginx and openssl read the files
-- themselves, so under --root DIR they need DIR in front).
local function real_path(path)
  if context.root == "/" then return path end
  return (context.root:gsub("/+$", "")) .. path
end

-- openssl as a read (also in a dry-run): its result, or nil and why it could not run.
local function run_openssl(argv)
  local command = { setting.string("openssl") or "openssl" }
  for _, word in ipairs(argv) do command[#command + 1] = word end
  local ok, result = pcall(cmd.run, command, { read_only = true, timeout = 30 })
  if not ok then return nil, tostring(result) end
  return result
end

-- Its output, or nil and the first line that says what went wrong.
local function openssl(argv)
  local result, problem = run_openssl(argv)
  if not result then return nil, problem end
  if result.status ~= 0 then
    return nil, (result.stderr:match("[^\n]*[Uu]nable[^\n]*") or result.stderr:match("[^\n]+") or ("exit " .. result.status))
  end
  return result.stdout
end

function M.covers(pem, hostname)
  if not fs.exists(pem) then return false, pem .. " does not exist" end
  local out, problem = openssl({ "x509", "-noout", "-checkhost", hostname, "-in", real_path(pem) })
  if not out then return false, pem .. ": " .. problem end
  if out:find("does match", 1, true) then return true end
  local subject = openssl({ "x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", real_path(pem) }) or ""
  local names = {}
  for name in subject:gmatch("DNS:([^,%s]+)") do names[#names + 1] = name end
  if #names == 0 then names[1] = subject:match("CN%s*=%s*([^,\n/]+)") or "no names" end
  return false, ("%s is for %s"):format(pem, table.concat(names, ", "))
end

function M.expiry(pem)
  local out, problem = openssl({ "x509", "-noout", "-enddate", "-in", real_path(pem) })
  if not out then error(pem .. ": " .. problem, 0) end
  local date = out:match("notAfter=([^\n]+)") or "an unknown date"
  -- -checkend 0 exits 1 when the certificate is no longer valid now, 0 when it still is.
  local result, why = run_openssl({ "x509", "-noout", "-checkend", "0", "-in", real_path(pem) })
  if not result then error(pem .. ": " .. why, 0) end
  return date, result.status ~= 0
end

function M.check_certificate(pem, key, hostname, options)
  options = options or {}
  for _, path in ipairs({ pem, key }) do
    if not fs.exists(path) then error(path .. " does not exist", 0) end
  end
  local cert_key, problem = openssl({ "x509", "-noout", "-pubkey", "-in", real_path(pem) })
  if not cert_key then error(pem .. " is not a certificate: " .. problem, 0) end
  local own_key
  own_key, problem = openssl({ "pkey", "-pubout", "-in", real_path(key) })
  if not own_key then error(key .. " is not a private key: " .. problem, 0) end
  if own_key ~= cert_key then error(("%s is not the key of %s"):format(key, pem), 0) end
  local date, expired = M.expiry(pem)
  if expired then error(("%s expired on %s"):format(pem, date), 0) end
  local covered, why = M.covers(pem, hostname)
  if not covered and not options.any_name then error(("the certificate does not cover %s: %s"):format(hostname, why), 0) end
  return covered, why, date
end

function M.install_certificate(install, name, pem, key)
  local certs = install.home_dir .. "/certs"
  local ssl_pem, ssl_key = certs .. "/" .. name .. ".pem", certs .. "/" .. name .. ".key"
  local pem_text, key_text = fs.read(pem), fs.read(key)
  local function put(prefix)
    fs.mkdir(prefix .. certs)
    fs.write(prefix .. ssl_pem, pem_text, { mode = "0600" })
    fs.write(prefix .. ssl_key, key_text, { mode = "0600", secret = true })
  end
  put("")
  local servers = M.check_servers(install)
  for i = 2, #servers do
    local server = servers_config.reach(servers[i].hostname)
    if server.sync:sub(1, 1) == "/" then
      put((server.sync:gsub("/+$", "")))
    else
      -- Through that server's agent (undone there), else over ssh or to its rsync daemon.
      servers_config.push(server, certs)
    end
    log.info(("the certificate is on %s too"):format(servers[i].hostname))
  end
  return ssl_pem, ssl_key
end

function M.nginx_row(site)
  return { id = site.id, install_id = site.install_id, hostname = site.hostname, secure_hostname = site.secure_hostname,
           ssl_pem = site.ssl_pem, ssl_key = site.ssl_key }
end

return M
