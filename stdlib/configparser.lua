-- stdlib/configparser.lua: INI files read as Python 3's configparser.ConfigParser() reads
-- them (its defaults: strict, `=` and `:` delimiters, `#` and `;` whole-line comments, no
-- inline comments, option names lowercased, [DEFAULT] inherited by every section). The old
-- ip_manager read /usr/local/etc/mas_ip_manager.cfg with it, so a file it refused is
-- refused here too — with its file and line — rather than read some other way: a repeated
-- `ips` key or `[carp1]` section is an error, not "the last one wins".
--
--   configparser.parse(text, file) -> sections, order
--       sections = { [name] = { [option] = value } }, each with [DEFAULT]'s options it does
--       not set itself; order = the section names in file order ([DEFAULT] is not one).
--       A value continued on indented lines is joined with "\n" (blank lines inside it
--       kept, trailing ones dropped, as configparser does). Errors, one line each:
--         FILE:N: section 'carp1' already exists          (DuplicateSectionError)
--         FILE:N: option 'ips' in section 'carp1' already exists   (DuplicateOptionError)
--         FILE:N: 'ips' comes before any [section]        (MissingSectionHeaderError)
--         FILE:N: expected 'key = value' or 'key : value', got: TEXT   (ParsingError)

local M = {}

local function strip(text) return (text:gsub("^%s+", ""):gsub("%s+$", "")) end

-- The indentation of a line as configparser measures it (leading whitespace characters).
local function indent(line) return #line:match("^%s*") end

function M.parse(text, file)
  local sections, order = {}, {}
  local defaults = {}
  local current, current_name, option, option_indent = nil, nil, nil, 0
  local seen_options = {}
  -- A value's lines, trailing blank lines dropped when it ends.
  local function close_value()
    if current and option then
      local lines = current[option]
      while #lines > 1 and lines[#lines] == "" do lines[#lines] = nil end
    end
  end
  local number = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    number = number + 1
    line = line:gsub("\r$", "")
    local where = file .. ":" .. number .. ": "
    local stripped = strip(line)
    local is_comment = stripped:sub(1, 1) == "#" or stripped:sub(1, 1) == ";"
    if is_comment then
      -- A whole-line comment: skipped, even inside a value.
    elseif stripped == "" then
      -- A blank line: part of a value that goes on, else nothing.
      if current and option then current[option][#current[option] + 1] = "" end
    elseif current and option and indent(line) > option_indent then
      current[option][#current[option] + 1] = stripped
    else
      close_value()
      option = nil
      local header = stripped:match("^%[(.+)%]")
      if header then
        if header == "DEFAULT" then
          current, current_name = defaults, "DEFAULT"
        else
          if sections[header] or seen_options[header] then error(where .. "section '" .. header .. "' already exists", 0) end
          sections[header] = {}
          order[#order + 1] = header
          current, current_name = sections[header], header
        end
        seen_options[current_name] = seen_options[current_name] or {}
      elseif not current then
        error(where .. "'" .. stripped .. "' comes before any [section]", 0)
      else
        -- The first `=` or `:` splits name and value (configparser's OPTCRE).
        local at = line:find("[=:]")
        local name = at and strip(line:sub(1, at - 1)) or ""
        if name == "" then error(where .. "expected 'key = value' or 'key : value', got: " .. stripped, 0) end
        name = name:lower()
        if seen_options[current_name][name] then
          error(where .. "option '" .. name .. "' in section '" .. current_name .. "' already exists", 0)
        end
        seen_options[current_name][name] = true
        current[name] = { strip(line:sub(at + 1)) }
        option, option_indent = name, indent(line)
      end
    end
  end
  close_value()
  local function joined(values)
    local out = {}
    for key, lines in pairs(values) do out[key] = table.concat(lines, "\n") end
    return out
  end
  local result = {}
  local inherited = joined(defaults)
  for _, name in ipairs(order) do
    local own = joined(sections[name])
    for key, value in pairs(inherited) do
      if own[key] == nil then own[key] = value end
    end
    result[name] = own
  end
  return result, order
end

return M
