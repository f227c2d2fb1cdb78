-- runbooks/custom-rewrites.lua: the guide's "Custom rewrite rules for install": "Add all the
-- rewrite rules in an array and serialize it. Then put it into the custom_rewrites column in
-- installs table." — then the nginx rebuild that makes them live, which tests the rules
-- before they are kept.
local installs = require("installs")
local nginx = require("nginx")
local php = require("php")

-- The rules of a file: one per line; blank lines and lines starting with # are left out.
local function read_rules(path)
  local rules = {}
  for line in (fs.read(path) .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", ""):gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then rules[#rules + 1] = line end
  end
  return rules
end

local function current_rules(install)
  if install.custom_rewrites == nil or install.custom_rewrites == "" then return {} end
  local ok, value = pcall(php.unserialize, install.custom_rewrites)
  if not ok or type(value) ~= "table" then return { "(unreadable: " .. tostring(install.custom_rewrites):sub(1, 80) .. ")" } end
  return php.values(value)
end

return runbook {
  summary = "Show, set or clear an install's custom nginx rewrite rules; kept only if nginx's config test passes",
  runs_on = "a dispatcher; nginx on every dispatcher (agents)",
  doc = [[
    The guide's "Custom rewrite rules for install". Without --file or --clear it prints the
    install's rules. --file FILE sets them (one rule per line, e.g.
    `rewrite ^/old/(.*)$ /new/$1 permanent;`; blank lines and # comments left out):
    installs.custom_rewrites becomes the PHP-serialized array of the rules (what the PHP
    platform reads), then the nginx config is rebuilt and nginx reloaded — only if
    `nginx -t` passes. A rule nginx refuses fails the run with nginx's message, and the run
    is undone: the column and the config are as before and nginx keeps serving. --clear
    removes every rule.
  ]],
  params = {
    install = { type = "string", required = true, doc = "the install: its id, name (installs.fs_name) or one of its hostnames" },
    file = { type = "path", doc = "the rules, one per line" },
    clear = { type = "bool", default = false, doc = "remove every rule" },
  },
  on_failure = "undo",
  locks = function() return { "installs" } end,
  run = function(args)
    if args.file and args.clear then error("give --file or --clear, not both", 0) end
    local install = installs.find("internal", args.install)

    if not args.file and not args.clear then
      step("Show the custom rewrite rules", function()
        local rules = current_rules(install)
        print(("install %d (%s): %d rule%s"):format(install.id, install.fs_name, #rules, #rules == 1 and "" or "s"))
        for _, rule in ipairs(rules) do print("  " .. rule) end
      end)
      return
    end

    local serialized
    local nginx_hosts = {}
    step("Add all the rewrite rules in an array and serialize it", function()
      -- Every dispatcher's nginx is rebuilt: the others are reached now, before any change.
      nginx_hosts = nginx.other_dispatchers()
      local rules = args.file and read_rules(args.file) or {}
      if args.file and #rules == 0 then error(args.file .. " holds no rule (use --clear to remove them all)", 0) end
      for i, rule in ipairs(rules) do
        if rule:find("[{}]") and not rule:find("^location") and not rule:find("^if") then
          log.warn(("rule %d has braces: nginx's config test will tell whether it is a whole block"):format(i))
        end
      end
      serialized = #rules > 0 and php.serialize(rules) or nil
      log.info(("%d rule%s for install %d (%s)"):format(#rules, #rules == 1 and "" or "s", install.id, install.fs_name))
    end)

    step("Put it into the custom_rewrites column in installs table", function()
      if serialized or install.custom_rewrites ~= nil then
        -- No rules left: the column goes back to NULL (undo puts the old rules back).
        db.update("internal", "installs", { custom_rewrites = serialized or db.NULL }, { id = install.id })
      else
        log.info("install " .. install.id .. " has no rules: nothing to clear")
      end
    end)

    step("Rebuild nginx config", function()
      nginx.rebuild({ hosts = nginx_hosts, patch = { installs = { upsert = { {
        id = install.id, fs_name = install.fs_name, home_dir = install.home_dir, master_handler_id = install.master_handler_id,
        free = install.free, custom_rewrites = serialized,
      } } } } })
    end)
  end,
}
