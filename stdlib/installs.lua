-- stdlib/installs.lua: find an install the way operators name it.
--
--   installs.find(connection, ref) -> installs row (every column), or raises one line
--       ref: the install's id ("40"), its fs_name ("shopexam1") or one of its sites'
--       hostnames ("shop.example.com").
--
-- `connection` is the internal database ("internal").

local M = {}

function M.find(connection, ref)
  ref = tostring(ref or "")
  if ref == "" then error("which install? give its id, its name or one of its hostnames", 2) end
  local row
  if ref:find("^%d+$") then
    row = db.query_one(connection, "SELECT * FROM installs WHERE id = ?", { math.tointeger(tonumber(ref)) })
  else
    row = db.query_one(connection, "SELECT * FROM installs WHERE fs_name = ?", { ref })
      or db.query_one(connection, [[
        SELECT i.* FROM installs i JOIN install_sites s ON s.install_id = i.id
        WHERE s.hostname = ? OR s.secure_hostname = ? ORDER BY i.id LIMIT 1]], { ref:lower(), ref:lower() })
  end
  if not row then error("no install " .. ref .. " (give its id, its name or one of its hostnames)", 0) end
  return row
end

return M
