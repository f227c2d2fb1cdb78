-- stdlib/dns.lua: the DNS records of the domains the company manages (the master database's
-- `dns_records`). The guide: "if we manage their dns settings, go and change all the dns
-- records related to the last hostname with the new"; a downgrade leaves "only one ... for
-- the site and will point the master dispatcher".
--
--   dns.zone(connection, hostname) -> the managed domain the hostname is in (the longest
--       `domain` of dns_records equal to it or a suffix after a dot), or nil
--   dns.records(connection, name [, type]) -> rows {id, domain, name, type, content, ttl} for that name
--   dns.point(connection, hostname, addresses [, ttl]) -> number of records added
--       Makes the A records of `hostname` exactly `addresses` (in the hostname's zone; nothing
--       when the company does not manage it): missing ones are inserted, others deleted.
--
-- Changes are db.insert / db.delete effects (planned, journaled, undone). A dry-run reads the
-- table as it is: records this run planned are not seen by later reads.

local M = {}

local function check_name(value, what)
  if type(value) ~= "string" or not value:find("^[%w%.%-_*]+$") then
    error("dns: " .. what .. " must be a host name, got " .. tostring(value), 3)
  end
  return value:lower()
end

function M.zone(connection, hostname)
  hostname = check_name(hostname, "hostname")
  local best
  for _, row in ipairs(db.query(connection, "SELECT DISTINCT domain FROM dns_records")) do
    local domain = row.domain:lower()
    if hostname == domain or hostname:sub(-(#domain + 1)) == "." .. domain then
      if not best or #domain > #best then best = domain end
    end
  end
  return best
end

function M.records(connection, name, type_name)
  name = check_name(name, "name")
  if type_name then
    return db.query(connection, "SELECT id, domain, name, type, content, ttl FROM dns_records WHERE name = ? AND type = ? ORDER BY id",
      { name, type_name })
  end
  return db.query(connection, "SELECT id, domain, name, type, content, ttl FROM dns_records WHERE name = ? ORDER BY id", { name })
end

function M.point(connection, hostname, addresses, ttl)
  hostname = check_name(hostname, "hostname")
  local zone = M.zone(connection, hostname)
  if not zone then return 0 end
  local wanted, added = {}, 0
  for _, address in ipairs(addresses) do wanted[address] = true end
  for _, row in ipairs(M.records(connection, hostname, "A")) do
    if wanted[row.content] then wanted[row.content] = nil else db.delete(connection, "dns_records", { id = row.id }) end
  end
  for _, address in ipairs(addresses) do
    if wanted[address] then
      db.insert(connection, "dns_records", { domain = zone, name = hostname, type = "A", content = address, ttl = ttl or 3600 })
      wanted[address] = nil
      added = added + 1
    end
  end
  return added
end

return M
