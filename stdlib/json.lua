-- stdlib/json.lua: a small JSON encoder/decoder for values runbooks store in text columns
-- (queue.args). Pure Lua.
--
--   json.encode(value) -> text     objects with sorted keys, so the same value gives the same text
--   json.decode(text) -> value     raises "json.decode: ... at offset N"
--   json.null                      JSON null inside a table
--
-- A Lua sequence (or an empty table) is an array; any other table must have string keys.

local M = {}

local format, concat, sort = string.format, table.concat, table.sort

M.null = setmetatable({}, { __tostring = function() return "json.null" end })

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function quote(text)
  return '"' .. text:gsub('[%c"\\]', function(c) return escapes[c] or format("\\u%04x", c:byte()) end) .. '"'
end

local function encode(value, out, seen)
  local vt = type(value)
  if value == nil or value == M.null then
    out[#out + 1] = "null"
  elseif vt == "boolean" then
    out[#out + 1] = tostring(value)
  elseif vt == "number" then
    if value ~= value or value == math.huge or value == -math.huge then error("json.encode: cannot encode " .. tostring(value), 0) end
    if math.type(value) == "integer" then out[#out + 1] = tostring(value)
    else
      local text = format("%.17g", value)
      for precision = 1, 17 do
        local shorter = format("%." .. precision .. "g", value)
        if tonumber(shorter) == value then text = shorter; break end
      end
      out[#out + 1] = text
    end
  elseif vt == "string" then
    out[#out + 1] = quote(value)
  elseif vt == "table" then
    if seen[value] then error("json.encode: the table refers to itself", 0) end
    seen[value] = true
    local n, count = #value, 0
    for _ in pairs(value) do count = count + 1 end
    if count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode(value[i], out, seen)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for key in pairs(value) do
        if type(key) ~= "string" then error("json.encode: object keys must be strings, got a " .. type(key), 0) end
        keys[#keys + 1] = key
      end
      sort(keys)
      out[#out + 1] = "{"
      for i, key in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = quote(key) .. ":"
        encode(value[key], out, seen)
      end
      out[#out + 1] = "}"
    end
    seen[value] = nil
  else
    error("json.encode: cannot encode a " .. vt, 0)
  end
end

function M.encode(value)
  local out = {}
  encode(value, out, {})
  return concat(out)
end

local function fail(text, pos, problem)
  error(format("json.decode: %s at offset %d", problem, pos - 1), 0)
end

local decode

local function skip(text, pos)
  return (text:find("[^ \t\r\n]", pos)) or (#text + 1)
end

local function decode_string(text, pos)
  local parts = {}
  local i = pos + 1
  while true do
    local s, e, chunk, stop = text:find('^([^"\\]*)(["\\])', i)
    if not s then fail(text, pos, "unterminated string") end
    parts[#parts + 1] = chunk
    if stop == '"' then return concat(parts), e + 1 end
    local esc = text:sub(e + 1, e + 1)
    local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[esc]
    if simple then
      parts[#parts + 1] = simple
      i = e + 2
    elseif esc == "u" then
      local hex = text:match("^%x%x%x%x", e + 2)
      if not hex then fail(text, e, "invalid \\u escape") end
      local code = tonumber(hex, 16)
      i = e + 6
      if code >= 0xD800 and code <= 0xDBFF then
        local low = text:match("^\\u(%x%x%x%x)", i)
        if low then
          code = 0x10000 + (code - 0xD800) * 0x400 + (tonumber(low, 16) - 0xDC00)
          i = i + 6
        end
      end
      parts[#parts + 1] = utf8.char(code)
    else
      fail(text, e, "invalid escape")
    end
  end
end

decode = function(text, pos)
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then
    local object = {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "}" then return object, pos + 1 end
    while true do
      if text:sub(pos, pos) ~= '"' then fail(text, pos, "expected a string key") end
      local key
      key, pos = decode_string(text, pos)
      pos = skip(text, pos)
      if text:sub(pos, pos) ~= ":" then fail(text, pos, "expected ':'") end
      local value
      value, pos = decode(text, pos + 1)
      object[key] = value
      pos = skip(text, pos)
      local sep = text:sub(pos, pos)
      if sep == "}" then return object, pos + 1 end
      if sep ~= "," then fail(text, pos, "expected ',' or '}'") end
      pos = skip(text, pos + 1)
    end
  elseif c == "[" then
    local array = {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "]" then return array, pos + 1 end
    while true do
      local value
      value, pos = decode(text, pos)
      array[#array + 1] = value
      pos = skip(text, pos)
      local sep = text:sub(pos, pos)
      if sep == "]" then return array, pos + 1 end
      if sep ~= "," then fail(text, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(text, pos)
  elseif text:find("^true", pos) then return true, pos + 4
  elseif text:find("^false", pos) then return false, pos + 5
  elseif text:find("^null", pos) then return M.null, pos + 4
  else
    local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if not number or number == "" then fail(text, pos, c == "" and "unexpected end of input" or ("unexpected '" .. c .. "'")) end
    return tonumber(number) or fail(text, pos, "invalid number"), pos + #number
  end
end

function M.decode(text)
  local value, pos = decode(text, 1)
  pos = skip(text, pos)
  if pos <= #text then fail(text, pos, "unexpected data after the value") end
  return value
end

return M
