-- stdlib/ips.lua: the IP pool of the master database (`server_ips`: an address is free
-- while its install_id is NULL). The guide: "The available IPs are stored in the master
-- plugin ... in the table server_ips. When we run out we must order more IPs." Paid
-- installs get a movable IP (routed to the VLAN, can move between d1 and d2) on each
-- dispatcher; free installs get one IP on their master.
--
--   ips.free(connection, server_id [, {movable = true|false}]) -> rows {id, server_id, ip, movable}
--   ips.count_free(connection) -> { {server_id, movable, free}, ... }
--   ips.dispatchers(connection) -> array of server ids (servers.kind = 'dispatcher', by id)
--   ips.allocate(connection, {install_id =, install_site_id =, paid =,
--                             master_server_id = (free installs), servers = {ids} (paid; default every dispatcher)})
--       -> array of {id, server_id, ip, movable}
--   ips.release(connection, install_id) -> number of addresses released
--
-- allocate marks each address held with db.update (an effect; its undo frees the address
-- again) and takes the lock "ip-pool" so two runs never hand out the same address. Within
-- one run it never hands out an address twice, also in a dry-run (where the planned
-- updates are not in the database), so a dry-run predicts the real run.
-- `connection` is the master database ("master").

local M = {}

-- Addresses handed out by this run (the module is loaded once per run).
local taken = {}

local function as_id(value, what)
  local n = math.tointeger(value)
  if not n or n <= 0 then error("ips: " .. what .. " must be a positive integer, got " .. tostring(value), 3) end
  return n
end

function M.free(connection, server_id, options)
  local sql = "SELECT id, server_id, ip, movable FROM server_ips WHERE server_id = ? AND install_id IS NULL"
  local params = { as_id(server_id, "server_id") }
  if options and options.movable ~= nil then
    sql = sql .. " AND movable = ?"
    params[#params + 1] = options.movable and 1 or 0
  end
  local rows = db.query(connection, sql .. " ORDER BY id", params)
  local result = {}
  for _, row in ipairs(rows) do
    if not taken[row.id] then result[#result + 1] = row end
  end
  return result
end

function M.count_free(connection)
  return db.query(connection, [[
    SELECT server_id, movable, COUNT(*) AS free FROM server_ips WHERE install_id IS NULL
    GROUP BY server_id, movable ORDER BY server_id, movable]])
end

function M.dispatchers(connection)
  local ids = {}
  for _, row in ipairs(db.query(connection, "SELECT id FROM servers WHERE kind = 'dispatcher' ORDER BY id")) do
    ids[#ids + 1] = row.id
  end
  return ids
end

local function server_name(connection, server_id)
  local row = db.query_one(connection, "SELECT hostname FROM servers WHERE id = ?", { server_id })
  return row and row.hostname or "not in the servers table"
end

-- The first free address on the server (movable ones first when asked), or an error saying
-- what to order.
local function pick(connection, server_id, movable, fallback)
  local candidates = M.free(connection, server_id, { movable = movable })
  if #candidates == 0 and fallback ~= nil then
    candidates = M.free(connection, server_id, { movable = fallback })
    if #candidates > 0 then
      log.warn(("no free %s IP on server %d (%s): using a %s one (%s)"):format(movable and "movable" or "fixed",
        server_id, server_name(connection, server_id), fallback and "movable" or "fixed", candidates[1].ip))
    end
  end
  if #candidates == 0 then
    error(("no free %sIP on server %d (%s): order more"):format(movable and "movable " or "", server_id,
      server_name(connection, server_id)), 0)
  end
  return candidates[1]
end

function M.allocate(connection, options)
  assert(type(options) == "table", "ips.allocate(connection, {install_id =, install_site_id =, paid =, ...})")
  local install_id = as_id(options.install_id, "install_id")
  local site_id = options.install_site_id ~= nil and as_id(options.install_site_id, "install_site_id") or nil
  lock("ip-pool")
  local wanted = {}
  if options.paid then
    local servers = options.servers or M.dispatchers(connection)
    if #servers == 0 then error("ips: there is no dispatcher in the servers table", 2) end
    for _, id in ipairs(servers) do wanted[#wanted + 1] = { server = as_id(id, "servers[]"), movable = true } end
  else
    wanted[1] = { server = as_id(options.master_server_id, "master_server_id"), movable = false, fallback = true }
  end
  -- Check the whole request before holding anything, so a short pool changes nothing.
  local picked, seen = {}, {}
  for _, want in ipairs(wanted) do
    local row = pick(connection, want.server, want.movable, want.fallback)
    if seen[row.id] then error("ips: server " .. want.server .. " is listed twice", 2) end
    seen[row.id] = true
    picked[#picked + 1] = row
    taken[row.id] = true
  end
  local result = {}
  for _, row in ipairs(picked) do
    db.update(connection, "server_ips", { install_id = install_id, install_site_id = site_id }, { id = row.id })
    result[#result + 1] = { id = row.id, server_id = row.server_id, ip = row.ip, movable = row.movable == 1 }
  end
  return result
end

-- Frees every address an install holds (downgrade, removal): one db.update per address, whose
-- undo gives it back to the install and site.
function M.release(connection, install_id)
  install_id = as_id(install_id, "install_id")
  lock("ip-pool")
  local rows = db.query(connection, "SELECT id FROM server_ips WHERE install_id = ? ORDER BY id", { install_id })
  for _, row in ipairs(rows) do
    db.update(connection, "server_ips", { install_id = db.NULL, install_site_id = db.NULL }, { id = row.id })
  end
  return #rows
end

return M
