-- stdlib/codebase.lua: choose the shared code group (codebase) and the master handler of a
-- new install. The guide: "We choose a codebase for the install. Each install shares a
-- codebase with several others ... It will choose the group with smallest amount of
-- sites", up to the group's `limit`, among the groups for free or for paid installs on
-- the install's master handler.
--
-- Instead of the guide's hard-coded `if ($email == 'tea@make-a-store.com')`, customers
-- with their own codebase are pinned in the engine configuration:
--
--   [settings.pins."tea@make-a-store.com"]
--   group = 29        # shared_code_groups.id (a codebase with limit = 1, say)
--   handler = 6       # handlers.id of the master (optional: the group's own handler)
--
-- A pinned group is never given to anybody else.
--
--   codebase.pin(email [, pins]) -> {group =, handler =} or nil
--   codebase.pinned_groups([pins]) -> set of group ids
--   codebase.master_handler(connection, {email =, pins =}) -> handler id, reason
--   codebase.choose(connection, {free =, handler_id =, email =, pins =})
--       -> group row {id, dir, free, revision, limit, handler_id, installs}, reason
--
-- `connection` is the internal database ("internal"). Reads only: dry-runs see what a real
-- run will choose. `pins` defaults to settings.pins.

local M = {}

local function settings_pins()
  -- `settings` is an engine global; absent when the module is used outside the engine.
  local ok, s = pcall(function() return settings end)
  if ok and type(s) == "table" and type(s.pins) == "table" then return s.pins end
  return {}
end

local function as_id(value, what)
  local n = math.tointeger(value)
  if not n or n <= 0 then error(what .. " must be a positive integer, got " .. tostring(value), 3) end
  return n
end

-- The pin of a customer (emails compare case-insensitively), or nil.
function M.pin(email, pins)
  pins = pins or settings_pins()
  if type(email) ~= "string" then return nil end
  local wanted = email:lower()
  local found
  for key, pin in pairs(pins) do
    if type(key) == "string" and key:lower() == wanted then
      if type(pin) ~= "table" then error("settings.pins[\"" .. key .. "\"] must be a table with group and handler", 2) end
      if found then error("settings.pins has two entries for " .. email, 2) end
      found = {
        group = pin.group ~= nil and as_id(pin.group, "settings.pins[\"" .. key .. "\"].group") or nil,
        handler = pin.handler ~= nil and as_id(pin.handler, "settings.pins[\"" .. key .. "\"].handler") or nil,
      }
    end
  end
  return found
end

-- The groups reserved by pins: never chosen for other customers.
function M.pinned_groups(pins)
  local set = {}
  for _, pin in pairs(pins or settings_pins()) do
    if type(pin) == "table" and math.tointeger(pin.group) then set[math.tointeger(pin.group)] = true end
  end
  return set
end

-- The master handler of a new install: the pinned handler, else the pinned group's handler,
-- else the dispatcher that is master of the fewest installs (lowest id on a tie). The guide
-- picked at random; a deterministic choice keeps dry-runs and real runs alike.
function M.master_handler(connection, options)
  options = options or {}
  local pin = M.pin(options.email, options.pins)
  if pin and pin.handler then
    local row = db.query_one(connection, "SELECT id FROM handlers WHERE id = ?", { pin.handler })
    if not row then error("settings.pins for " .. options.email .. ": handler " .. pin.handler .. " is not in the handlers table", 2) end
    return pin.handler, "pinned in settings.pins"
  end
  if pin and pin.group then
    local group = db.query_one(connection, "SELECT handler_id FROM shared_code_groups WHERE id = ?", { pin.group })
    if not group then error("settings.pins for " .. options.email .. ": shared code group " .. pin.group .. " does not exist", 2) end
    return group.handler_id, "the handler of pinned group " .. pin.group
  end
  local row = db.query_one(connection, [[
    SELECT h.id, COUNT(i.id) AS installs
    FROM handlers h LEFT JOIN installs i ON i.master_handler_id = h.id
    WHERE h.kind = 'dispatcher'
    GROUP BY h.id
    ORDER BY installs, h.id
    LIMIT 1]])
  if not row then error("there is no dispatcher in the handlers table to be the master of the install", 2) end
  return row.id, "the dispatcher with the fewest installs (" .. row.installs .. ")"
end

-- The shared code group for a new install.
function M.choose(connection, options)
  options = options or {}
  local free = options.free and 1 or 0
  local plan = options.free and "free" or "paid"
  local pins = options.pins or settings_pins()
  local pin = M.pin(options.email, pins)
  local columns = [[
    SELECT g.id, g.dir, g.free, g.revision, g.`limit`, g.handler_id, g.repository, COUNT(i.id) AS installs
    FROM shared_code_groups g LEFT JOIN installs i ON i.shared_code_group_id = g.id ]]

  if pin and pin.group then
    local group = db.query_one(connection, columns .. " WHERE g.id = ? GROUP BY g.id", { pin.group })
    if not group then error("settings.pins for " .. options.email .. ": shared code group " .. pin.group .. " does not exist", 2) end
    if pin.handler and group.handler_id ~= pin.handler then
      error(("settings.pins for %s: group %d is on handler %d, not on the pinned handler %d"):format(
        options.email, group.id, group.handler_id, pin.handler), 2)
    end
    if options.handler_id and group.handler_id ~= options.handler_id then
      error(("settings.pins for %s: group %d is on handler %d, but the install's master is handler %d"):format(
        options.email, group.id, group.handler_id, options.handler_id), 2)
    end
    if (group.free == 1) ~= (free == 1) then
      log.warn(("pinned group %d is a codebase for %s installs; this install is %s"):format(
        group.id, group.free == 1 and "free" or "paid", plan))
    end
    if group.installs >= group.limit then
      log.warn(("pinned group %d already serves %d installs (limit %d)"):format(group.id, group.installs, group.limit))
    end
    return group, "pinned for " .. options.email .. " in settings.pins"
  end

  local handler = options.handler_id and as_id(options.handler_id, "handler_id")
  local where, params = { "g.free = ?" }, { free }
  if handler then
    where[#where + 1] = "g.handler_id = ?"
    params[#params + 1] = handler
  end
  local reserved = {}
  for id in pairs(M.pinned_groups(pins)) do reserved[#reserved + 1] = id end
  table.sort(reserved)
  if #reserved > 0 then
    where[#where + 1] = "g.id NOT IN (" .. string.rep("?", #reserved, ", ") .. ")"
    for _, id in ipairs(reserved) do params[#params + 1] = id end
  end
  local group = db.query_one(connection, columns .. " WHERE " .. table.concat(where, " AND ") .. [[
    GROUP BY g.id
    HAVING COUNT(i.id) < g.`limit`
    ORDER BY installs, g.id
    LIMIT 1]], params)
  if not group then
    error(("no shared code group for %s installs%s has room (every one is at its limit): add a codebase first"):format(
      plan, handler and (" on handler " .. handler) or ""), 2)
  end
  return group, ("the %s group with the fewest installs (%d of %d)"):format(plan, group.installs, group.limit)
end

return M
