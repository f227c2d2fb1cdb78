-- stdlib/ids.lua: the ids new rows will get, known before they are inserted.
--
-- A dry-run sends no INSERT, so db.insert cannot tell it which auto-increment id the server
-- would assign, and everything that depends on the id (the install's nginx upstream, its
-- queue record, the install_site_ips of a site) would be "known after apply". Runbooks that
-- insert rows whose ids others refer to take the id first and insert it explicitly: the
-- dry-run and the real run then use the same ids, and the plan shows them.
--
--   ids.next(connection, table) -> integer
--       The table's next auto-increment value (information_schema.TABLES.AUTO_INCREMENT,
--       which MariaDB reports from the live counter), then one more for each further call
--       in this run: a run that inserts three sites gets three consecutive ids.
--
-- Undoing the insert of a reserved id puts the table's counter back to it when nothing took an
-- id since (db.insert's undo), so an install undone and made again gets the same ids.
--
-- Take a lock around the reservation and the inserts when two runs could insert into the
-- same table at once (the install runbook holds "installs"): otherwise both would read the
-- same next id and the second insert would fail on the duplicate key (nothing is
-- overwritten).

local M = {}

-- connection .. "\0" .. table -> the next id this run hands out.
local reserved = {}

local function check_name(value, what)
  if type(value) ~= "string" or not value:find("^[%w_]+$") then
    error("ids.next: " .. what .. " must be a name (letters, digits, _), got " .. tostring(value), 3)
  end
  return value
end

function M.next(connection, table_name)
  check_name(connection, "connection")
  check_name(table_name, "table")
  local key = connection .. "\0" .. table_name
  local id = reserved[key]
  if not id then
    local row = db.query_one(connection, [[
      SELECT AUTO_INCREMENT AS next_id FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?]], { table_name })
    if not row then error("ids.next: there is no table " .. table_name .. " in the database of connection " .. connection, 2) end
    id = math.tointeger(row.next_id)
    if not id then error("ids.next: " .. table_name .. " has no auto-increment key", 2) end
  end
  reserved[key] = id + 1
  return id
end

return M
