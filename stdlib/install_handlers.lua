-- stdlib/install_handlers.lua: the PHP handlers of an install and their weights, as
-- stdlib/nginx.lua renders them into the install's upstream, and the install_handlers rows
-- that change them (the guide: "How can we give weights to the clouds ... we want all their
-- traffic to go to the new debian clouds, and NOT to d1 and d2 ... It is done manually by
-- editing nginx config").
--
-- An install's PHP handlers (nginx.lua's rules): its master, every dispatcher when it is
-- paid, and each handler of its install_handlers rows (cloud handlers). A master or
-- dispatcher weighs handlers.weight unless an install_handlers row of the install names it:
-- then the row's weight (a per-install override, how a dispatcher is put to `backup` for one
-- install). Weight 0 renders `backup`; when no handler has a weight above 0 they all get
-- weight 1.
--
--   install_handlers.of(connection, install [, changes]) -> array, in handler id order, of
--       { id =, hostname =, private_ip =, kind =, weight =, why = "master"|"dispatcher"|"added",
--         row = the install_handlers row (id, install_id, handler_id, weight) or nil }
--       install: an installs row (id, free, master_handler_id); changes: the run's own
--       install_handlers changes (below), which a dry-run's database does not have yet.
--   install_handlers.shares(list) -> "dispatch1.make-a-store.com backup, tmp-cloud2.make-a-store.com
--       weight 3 (100%)" — how nginx splits the install's PHP requests
--   install_handlers.patch(world, changes) -> world     nginx.load's world with the changes
--   install_handlers.rebuild_nginx(options, changes) -> what nginx.rebuild returns
--       nginx.rebuild(options) (options.patch as usual, for handlers, installs, ...), with the
--       install_handlers changes applied to the world it renders. nginx.patch cannot patch
--       install_handlers (nginx.load selects no id for them), so for the time of the call
--       nginx.load is wrapped to apply them; it is put back however the call ends.
--
-- changes = { upsert = { {install_id =, handler_id =, weight =}, ... },
--             delete = { {install_id =, handler_id =}, ... } }
-- Rows are matched by (install_id, handler_id), the table's unique key. In a real run the
-- database has them already and patching changes nothing.

local nginx = require("nginx")

local M = {}

local function pair(install_id, handler_id) return tostring(install_id) .. ":" .. tostring(handler_id) end

-- rows (install_id, handler_id, weight, ...) with the changes applied; upserts are new tables.
local function apply(rows, changes)
  if not changes then return rows end
  local gone = {}
  for _, d in ipairs(changes.delete or {}) do gone[pair(d.install_id, d.handler_id)] = true end
  local upserts = {}
  for _, u in ipairs(changes.upsert or {}) do
    if u.install_id == nil or u.handler_id == nil or u.weight == nil then
      error("install_handlers: an upserted row needs install_id, handler_id and weight", 3)
    end
    gone[pair(u.install_id, u.handler_id)] = true
    upserts[#upserts + 1] = u
  end
  local out = {}
  for _, row in ipairs(rows) do
    if not gone[pair(row.install_id, row.handler_id)] then out[#out + 1] = row end
  end
  for _, u in ipairs(upserts) do
    out[#out + 1] = { id = u.id, install_id = u.install_id, handler_id = u.handler_id, weight = u.weight }
  end
  return out
end

function M.patch(world, changes)
  world.install_handlers = apply(world.install_handlers or {}, changes)
  return world
end

function M.of(connection, install, changes)
  local handlers, by_id = db.query(connection, "SELECT id, hostname, private_ip, kind, weight FROM handlers ORDER BY id"), {}
  for _, h in ipairs(handlers) do by_id[h.id] = h end
  local rows = apply(db.query(connection,
    "SELECT id, install_id, handler_id, weight FROM install_handlers WHERE install_id = ? ORDER BY handler_id", { install.id }), changes)
  local entries, list = {}, {}
  local function add(h, why, weight)
    local entry = entries[h.id]
    if not entry then
      entry = { id = h.id, hostname = h.hostname, private_ip = h.private_ip, kind = h.kind, why = why }
      entries[h.id] = entry
      list[#list + 1] = entry
    end
    entry.weight = weight
    return entry
  end
  local master = by_id[install.master_handler_id]
  if master then add(master, "master", master.weight or 1) end
  if install.free == 0 then
    for _, h in ipairs(handlers) do
      if h.kind == "dispatcher" and not entries[h.id] then add(h, "dispatcher", h.weight or 1) end
    end
  end
  for _, row in ipairs(rows) do
    if row.install_id == install.id and by_id[row.handler_id] then
      add(by_id[row.handler_id], "added", row.weight or 1).row = row
    end
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

function M.shares(list)
  local total = 0
  for _, entry in ipairs(list) do total = total + entry.weight end
  local parts = {}
  for _, entry in ipairs(list) do
    if total == 0 then
      parts[#parts + 1] = entry.hostname .. " weight 1"
    elseif entry.weight == 0 then
      parts[#parts + 1] = entry.hostname .. " backup"
    else
      parts[#parts + 1] = ("%s weight %d (%d%%)"):format(entry.hostname, entry.weight, math.floor(entry.weight * 100 / total + 0.5))
    end
  end
  if #parts == 0 then return "no PHP handler" end
  return table.concat(parts, ", ") .. (total == 0 and " (no handler has a weight above 0: nginx uses them all alike)" or "")
end

function M.rebuild_nginx(options, changes)
  local has_changes = changes and (#(changes.upsert or {}) > 0 or #(changes.delete or {}) > 0)
  if not has_changes then return nginx.rebuild(options) end
  local load = nginx.load
  nginx.load = function(connection) return M.patch(load(connection), changes) end
  local ok, result = pcall(nginx.rebuild, options)
  nginx.load = load
  if not ok then error(result, 0) end
  return result
end

return M
