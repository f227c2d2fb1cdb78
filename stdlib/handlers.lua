-- stdlib/handlers.lua: the platform's handlers (the `handlers` table of the internal
-- database: dispatchers and cloud servers) as runbooks look them up from an operator's
-- words: `--server 2`, `--handler dispatch2.make-a-store.com`, settings.this_server.
--
--   handlers.find(connection, wanted) -> {id =, hostname =, kind =}, or nil when there is none;
--       wanted is an id (a number or its digits) or a hostname (any case)
--   handlers.known(connection) -> "1 dispatch1.make-a-store.com, 2 ..." (every handler, by id),
--       or "none": for an error that says what could have been meant

local M = {}

local COLUMNS = "SELECT id, hostname, kind FROM handlers"

function M.find(connection, wanted)
  local text = tostring(wanted)
  if text:match("^%d+$") then
    -- More digits than an INT holds is no id (and not a number to round).
    local id = #text <= 10 and math.tointeger(tonumber(text)) or nil
    return id and db.query_one(connection, COLUMNS .. " WHERE id = ?", { id }) or nil
  end
  return db.query_one(connection, COLUMNS .. " WHERE hostname = ?", { text:lower() })
end

function M.known(connection)
  local known = {}
  for _, handler in ipairs(db.query(connection, "SELECT id, hostname FROM handlers ORDER BY id")) do
    known[#known + 1] = handler.id .. " " .. handler.hostname
  end
  return #known > 0 and table.concat(known, ", ") or "none"
end

return M
