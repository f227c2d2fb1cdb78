-- stdlib/install_config.lua: an install's heavymetal/config.php. The guide: "Config file is
-- being populated and saved to /heavymetal/config.php". It holds the install's settings as
-- PHP assignments, one per line (schema/README.md), which the database failover runbook
-- rewrites in place:
--
--   <?php
--   $config['db_host'] = '10.0.0.5';
--   $config['db_name'] = 'shop_1';
--   $config['db_user'] = 'shop_1';
--   $config['db_pass'] = '...';
--
-- Pure Lua:
--   install_config.render(values [, {order = {keys}}]) -> text
--       db_host, db_name, db_user, db_pass first (in that order), then the other keys sorted;
--       strings in single quotes (\ and ' escaped), integers, floats and booleans as PHP
--       literals.
--   install_config.quote(text) -> a PHP single-quoted literal
--   install_config.parse(text) -> table of key = value (the assignments render writes)
--   install_config.set(text, key, value) -> new text with that one assignment changed
--       (appended when missing); every other byte is kept.
--
-- The file holds the database password: write it with
-- fs.write(path, text, { mode = "0640", secret = true }).

local M = {}

M.first_keys = { "db_host", "db_name", "db_user", "db_pass" }

function M.quote(text)
  return "'" .. tostring(text):gsub("\\", "\\\\"):gsub("'", "\\'") .. "'"
end

local function literal(key, value)
  local vt = type(value)
  if vt == "string" then return M.quote(value) end
  if vt == "boolean" then return value and "true" or "false" end
  if vt == "number" then
    if math.type(value) == "integer" then return tostring(value) end
    if value ~= value or value == math.huge or value == -math.huge then
      error("install_config: $config['" .. key .. "'] is not a finite number", 3)
    end
    local text = ("%.17g"):format(value)
    for precision = 1, 17 do
      local shorter = ("%." .. precision .. "g"):format(value)
      if tonumber(shorter) == value then text = shorter; break end
    end
    if not text:find("[.eEn]") then text = text .. ".0" end
    return text
  end
  error("install_config: $config['" .. key .. "'] cannot be a " .. vt, 3)
end

local function check_key(key)
  if type(key) ~= "string" or not key:find("^[%a_][%w_]*$") then
    error("install_config: invalid key " .. tostring(key) .. " (letters, digits and _ only)", 3)
  end
end

function M.line(key, value)
  check_key(key)
  return "$config['" .. key .. "'] = " .. literal(key, value) .. ";"
end

function M.render(values, options)
  assert(type(values) == "table", "install_config.render(values)")
  local order = {}
  local placed = {}
  for _, key in ipairs((options and options.order) or M.first_keys) do
    if values[key] ~= nil and not placed[key] then order[#order + 1] = key; placed[key] = true end
  end
  local rest = {}
  for key in pairs(values) do
    check_key(key)
    if not placed[key] then rest[#rest + 1] = key end
  end
  table.sort(rest)
  for _, key in ipairs(rest) do order[#order + 1] = key end
  local lines = { "<?php" }
  for _, key in ipairs(order) do lines[#lines + 1] = M.line(key, values[key]) end
  return table.concat(lines, "\n") .. "\n"
end

-- One assignment line: key and the literal's text, or nil.
local function match_line(line)
  return line:match("^%s*%$config%[%s*'([%w_]+)'%s*%]%s*=%s*(.-)%s*;%s*$")
end

local function unquote(literal_text)
  local body = literal_text:match("^'(.*)'$")
  if body then
    return (body:gsub("\\([\\'])", "%1"))
  end
  if literal_text == "true" then return true end
  if literal_text == "false" then return false end
  local number = tonumber(literal_text)
  if number then return number end
  local double = literal_text:match('^"(.*)"$')
  if double and not double:find("[$\\]") then return double end
  return nil
end

function M.parse(text)
  local values = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local key, value = match_line(line)
    if key then
      local parsed = unquote(value)
      if parsed == nil then error("install_config.parse: cannot read the value of $config['" .. key .. "']: " .. value, 2) end
      values[key] = parsed
    end
  end
  return values
end

function M.set(text, key, value)
  check_key(key)
  local replacement = M.line(key, value)
  local out, found = {}, false
  local ends_with_newline = text:sub(-1) == "\n"
  local body = ends_with_newline and text:sub(1, -2) or text
  for line in (body .. "\n"):gmatch("([^\n]*)\n") do
    if match_line(line) == key then
      out[#out + 1] = replacement
      found = true
    else
      out[#out + 1] = line
    end
  end
  if not found then
    if out[#out] and out[#out]:match("^%s*%?>%s*$") then
      table.insert(out, #out, replacement) -- before a closing ?>
    else
      out[#out + 1] = replacement
    end
  end
  return table.concat(out, "\n") .. (ends_with_newline and "\n" or "")
end

return M
