-- stdlib/php.lua: PHP's serialize() / unserialize() for the values the Divinity platform
-- stores in the database (installs.custom_rewrites is a serialized array of rewrite rules:
-- the guide's "Add all the rewrite rules in an array and serialize it").
--
-- Pure Lua, no engine functions: usable at the top level and in unit tests.
--
--   php.serialize(value) -> string
--   php.unserialize(text) -> value          (raises "php.unserialize: ... at offset N of M bytes")
--   php.null                                 a null that can sit inside a Lua table
--   php.map(t) -> t                          mark t as a PHP map (keys kept as given), not a list
--   php.is_list(t) -> boolean
--   php.keys(t), php.values(t) -> arrays    keys / values in the order serialize writes them
--
-- Types: nil / php.null <-> N;  boolean <-> b:0|1;  integer <-> i:N;  float <-> d:N;
-- string <-> s:LEN:"..."; (LEN is the byte length; strings are bytes, not characters);
-- table <-> a:N:{...}. A Lua sequence {x, y} is a PHP list (keys 0..n-1); any other table is
-- a map with string and integer keys (integer keys first, ascending, then string keys
-- sorted). Like PHP, a string key that spells a decimal integer ("5") becomes the integer
-- key 5. unserialize turns a PHP list into a Lua sequence and remembers the key order of
-- every map it reads, so serialize(unserialize(s)) == s for what PHP produces. A null inside
-- an array comes back as php.null (a Lua table cannot hold nil); at the top level as nil.
-- Objects (O:), references (r:, R:) and custom serializations (C:) are refused.

local M = {}

local sub, find, format = string.sub, string.find, string.format
local concat, sort = table.concat, table.sort
local mathtype, tointeger = math.type, math.tointeger

M.null = setmetatable({}, {
  __tostring = function() return "php.null" end,
  __newindex = function() error("php.null is read-only", 2) end,
})

-- Tables read by unserialize (or marked with php.map): their kind and key order.
local shapes = setmetatable({}, { __mode = "k" })

function M.map(t)
  assert(type(t) == "table", "php.map expects a table")
  local shape = shapes[t]
  if shape then shape.kind = "map" else shapes[t] = { kind = "map" } end
  return t
end

-- A Lua sequence 1..n (n >= 1) with nothing else, not marked as a map.
function M.is_list(t)
  local shape = shapes[t]
  if shape and shape.kind == "map" then return false end
  local n = #t
  if n == 0 then return next(t) == nil end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

-- PHP turns a key like "12" or "-3" (canonical decimal, fits in 64 bits) into an integer.
local function php_key(key)
  if type(key) == "string" and (find(key, "^-?[1-9]%d*$") or key == "0") and #key <= 20 then
    local n = tointeger(tonumber(key))
    if n and tostring(n) == key then return n end
  end
  return key
end

-- Floats as PHP >= 7.1 writes them (serialize_precision = -1): the shortest text that reads
-- back as the same double, "d:0.1;", "d:1;", "d:1.0E+25;", "d:1.0E-5;", INF, -INF, NAN.
local function php_float(x)
  if x ~= x then return "NAN" end
  if x == math.huge then return "INF" end
  if x == -math.huge then return "-INF" end
  if x == 0 then return (1 / x < 0) and "-0" or "0" end
  local text
  for precision = 1, 17 do
    text = format("%." .. (precision - 1) .. "e", x)
    if tonumber(text) == x then break end
  end
  local sign, first, rest, exponent = text:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (first .. rest):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local point = tonumber(exponent) + 1 -- digits before the decimal point
  if point < -3 or point > 17 then
    local fraction = sub(digits, 2)
    if fraction == "" then fraction = "0" end
    local e = point - 1
    return format("%s%s.%sE%s%d", sign, sub(digits, 1, 1), fraction, e < 0 and "-" or "+", math.abs(e))
  elseif point <= 0 then
    return sign .. "0." .. ("0"):rep(-point) .. digits
  elseif point >= #digits then
    return sign .. digits .. ("0"):rep(point - #digits)
  else
    return sign .. sub(digits, 1, point) .. "." .. sub(digits, point + 1)
  end
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta == "number" end
  return a < b
end

-- The keys of a table in the order serialize writes them: a list's 1..n; a map's keys in
-- the order unserialize read them (those still there), then the others, integers ascending
-- before strings sorted.
function M.keys(t)
  if M.is_list(t) then
    local keys = {}
    for i = 1, #t do keys[i] = i end
    return keys
  end
  local keys, placed = {}, {}
  local shape = shapes[t]
  if shape and shape.order then
    for _, key in ipairs(shape.order) do
      if t[key] ~= nil and not placed[key] then keys[#keys + 1] = key; placed[key] = true end
    end
  end
  local extra = {}
  for key in pairs(t) do
    if not placed[key] then
      local kt = type(key)
      if kt == "number" then
        if not tointeger(key) then error("php: array key " .. tostring(key) .. " is not an integer", 0) end
      elseif kt ~= "string" then
        error("php: array keys must be integers or strings, got a " .. kt, 0)
      end
      extra[#extra + 1] = key
    end
  end
  sort(extra, key_order)
  for _, key in ipairs(extra) do keys[#keys + 1] = key end
  return keys
end

-- The values of a PHP array in that order (the rewrite rules of custom_rewrites, say).
function M.values(t)
  local values = {}
  for i, key in ipairs(M.keys(t)) do values[i] = t[key] end
  return values
end

local serialize_into

local function serialize_table(t, out, seen)
  if seen[t] then error("php.serialize: the table refers to itself (PHP references are not supported)", 0) end
  seen[t] = true
  if M.is_list(t) then
    local n = #t
    out[#out + 1] = "a:" .. n .. ":{"
    for i = 1, n do
      out[#out + 1] = "i:" .. (i - 1) .. ";"
      serialize_into(t[i], out, seen)
    end
  else
    local keys = M.keys(t)
    -- Two Lua keys may be one PHP key ("5" and 5): refuse rather than write a duplicate.
    local used = {}
    out[#out + 1] = "a:" .. #keys .. ":{"
    for _, key in ipairs(keys) do
      local pk = key
      if type(key) == "number" then pk = tointeger(key) else pk = php_key(key) end
      if used[pk] then error("php.serialize: the keys " .. format("%q", tostring(key)) .. " and " .. tostring(pk) .. " are the same PHP key", 0) end
      used[pk] = true
      if type(pk) == "number" then
        out[#out + 1] = "i:" .. pk .. ";"
      else
        out[#out + 1] = "s:" .. #pk .. ':"' .. pk .. '";'
      end
      serialize_into(t[key], out, seen)
    end
  end
  out[#out + 1] = "}"
  seen[t] = nil
end

serialize_into = function(value, out, seen)
  local vt = type(value)
  if value == nil or value == M.null then
    out[#out + 1] = "N;"
  elseif vt == "boolean" then
    out[#out + 1] = value and "b:1;" or "b:0;"
  elseif vt == "number" then
    if mathtype(value) == "integer" then
      out[#out + 1] = "i:" .. value .. ";"
    else
      out[#out + 1] = "d:" .. php_float(value) .. ";"
    end
  elseif vt == "string" then
    out[#out + 1] = "s:" .. #value .. ':"' .. value .. '";'
  elseif vt == "table" then
    serialize_table(value, out, seen)
  else
    error("php.serialize: cannot serialize a " .. vt, 0)
  end
end

function M.serialize(value)
  local out = {}
  serialize_into(value, out, {})
  return concat(out)
end

-- Reading -------------------------------------------------------------------------------

local function fail(text, pos, problem)
  error(format("php.unserialize: %s at offset %d of %d bytes", problem, pos - 1, #text), 0)
end

local function expect(text, pos, char)
  if sub(text, pos, pos) ~= char then
    local found = sub(text, pos, pos)
    fail(text, pos, format("expected '%s', found %s", char, found == "" and "the end" or ("'" .. found .. "'")))
  end
  return pos + 1
end

-- An integer up to the terminator `stop` (";" or ":").
local function read_int(text, pos, stop)
  local s, e, digits = find(text, "^([-+]?%d+)", pos)
  if not s then fail(text, pos, "expected an integer") end
  local n = tointeger(tonumber(digits))
  if not n then fail(text, pos, "integer " .. digits .. " is out of range") end
  return n, expect(text, e + 1, stop)
end

local read_value

local function read_array(text, pos, depth)
  local count
  count, pos = read_int(text, pos, ":")
  if count < 0 then fail(text, pos, "negative array size") end
  pos = expect(text, pos, "{")
  local t, order = {}, {}
  local is_list = true
  for i = 0, count - 1 do
    local key, kpos = nil, pos
    local tag = sub(text, pos, pos)
    if tag == "i" then
      key, pos = read_int(text, expect(text, pos + 1, ":"), ";")
    elseif tag == "s" then
      key, pos = read_value(text, pos, depth)
      key = php_key(key) -- as PHP stores it
    else
      fail(text, pos, "expected an array key (i: or s:)")
    end
    if t[key] ~= nil then fail(text, kpos, "duplicate array key " .. format("%q", tostring(key))) end
    if key ~= i then is_list = false end
    local value
    value, pos = read_value(text, pos, depth)
    if value == nil then value = M.null end
    t[key] = value
    order[#order + 1] = key
  end
  pos = expect(text, pos, "}")
  if is_list and count > 0 then
    local list = {}
    for i = 0, count - 1 do list[i + 1] = t[i] end
    return list, pos
  end
  shapes[t] = { kind = "map", order = order }
  return t, pos
end

read_value = function(text, pos, depth)
  if depth > 200 then fail(text, pos, "arrays nested too deeply") end
  local tag = sub(text, pos, pos)
  if tag == "N" then
    return nil, expect(text, pos + 1, ";")
  elseif tag == "b" then
    pos = expect(text, pos + 1, ":")
    local flag = sub(text, pos, pos)
    if flag ~= "0" and flag ~= "1" then fail(text, pos, "expected 0 or 1 for a boolean") end
    return flag == "1", expect(text, pos + 1, ";")
  elseif tag == "i" then
    return read_int(text, expect(text, pos + 1, ":"), ";")
  elseif tag == "d" then
    pos = expect(text, pos + 1, ":")
    local s, e, number = find(text, "^([^;]*);", pos)
    if not s then fail(text, pos, "unterminated float") end
    local value
    if number == "INF" then value = math.huge
    elseif number == "-INF" then value = -math.huge
    elseif number == "NAN" then value = 0.0 / 0.0
    elseif find(number, "^[-+]?%d*%.?%d*[eE]?[-+]?%d*$") and find(number, "%d") then
      value = tonumber(number)
      -- "1" and "-0" read as Lua integers; PHP means doubles (and -0 keeps its sign).
      if mathtype(value) == "integer" then value = tonumber(number .. ".0") end
    end
    if not value then fail(text, pos, "invalid float '" .. number .. "'") end
    return value, e + 1
  elseif tag == "s" then
    local length
    length, pos = read_int(text, expect(text, pos + 1, ":"), ":")
    if length < 0 then fail(text, pos, "negative string length") end
    pos = expect(text, pos, '"')
    local last = pos + length - 1
    if last > #text then fail(text, pos, format("string of %d bytes runs past the end", length)) end
    local value = sub(text, pos, last)
    pos = expect(text, last + 1, '"')
    return value, expect(text, pos, ";")
  elseif tag == "a" then
    return read_array(text, expect(text, pos + 1, ":"), depth + 1)
  elseif tag == "" then
    fail(text, pos, "unexpected end of input")
  elseif tag == "O" or tag == "C" or tag == "r" or tag == "R" or tag == "E" then
    fail(text, pos, "unsupported type '" .. tag .. "' (objects and references are not read)")
  end
  fail(text, pos, "unknown type '" .. tag .. "'")
end

function M.unserialize(text)
  if type(text) ~= "string" then error("php.unserialize: expected a string, got a " .. type(text), 2) end
  local value, pos = read_value(text, 1, 0)
  if pos <= #text then fail(text, pos, "unexpected data after the value") end
  return value
end

-- Exposed for tests.
M._float = php_float

return M
