-- stdlib/settings.lua: the one way runbooks and modules read the configuration's [settings],
-- checked. A setting that is not there reads as "not set" (an empty table, nil); one of the
-- wrong type stops the run in one line naming it, the type it must have and where it is set:
--   settings.health_sweep must be a table, got string (config.toml [settings.health_sweep])
-- (The operator's mistake is reported where it is, not read as "not set" and acted on.)
-- Pure: reads only the `settings` global.
--
--   setting.table(name) -> settings[name], or {} when it is not set
--   setting.entry(name, key) -> settings[name][key], a table ([settings.NAME."KEY"]), or nil
--   setting.string(name) -> settings[name], or nil when it is not set
--   setting.lower(name) -> the same, lower-cased (hostnames: settings.this_server)

local M = {}

local function mistyped(path, expected, value, where)
  error(("settings.%s must be %s, got %s (config.toml %s)"):format(path, expected, type(value), where), 0)
end

function M.table(name)
  local value = settings[name]
  if value == nil then return {} end
  if type(value) ~= "table" then mistyped(name, "a table", value, "[settings." .. name .. "]") end
  return value
end

function M.entry(name, key)
  local value = M.table(name)[key]
  if value == nil then return nil end
  if type(value) ~= "table" then
    mistyped(("%s.%q"):format(name, key), "a table", value, ("[settings.%s.%q]"):format(name, key))
  end
  return value
end

function M.string(name)
  local value = settings[name]
  if value == nil then return nil end
  if type(value) ~= "string" then mistyped(name, "a string", value, ("[settings] %s = \"...\""):format(name)) end
  return value
end

function M.lower(name)
  local value = M.string(name)
  return value and value:lower()
end

return M
