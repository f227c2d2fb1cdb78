-- runbooks/rebuild-nginx.lua: the guide's /home/admin/rebuild_nginx_config. Run it on each
-- dispatcher (d1 and d2) after anything that changes the installs' site settings: a new
-- install, a hostname change, new SSL files, a downgrade, custom rewrites, cloud handlers.
local nginx = require("nginx")

local DEFAULT_OUTPUT = "/usr/local/etc/nginx/installs.conf"

-- Rendering options from the configuration ([settings.nginx]: http_port, https_port,
-- php_port, default_server, fastcgi_params, ...; see stdlib/nginx.lua).
local function render_options()
  local options = {}
  for key, value in pairs(type(settings.nginx) == "table" and settings.nginx or {}) do options[key] = value end
  return options
end

-- "1, 2, 3" (at most `limit` ids, then "... (N in all)").
local function id_list(ids, limit)
  local shown = {}
  for i = 1, math.min(#ids, limit) do shown[i] = tostring(ids[i]) end
  local text = table.concat(shown, ", ")
  if #ids > limit then text = text .. (", ... (%d in all)"):format(#ids) end
  return text
end

return runbook {
  summary = "Rebuild the nginx config of every install and reload nginx if its config test passes",
  doc = [[
    The guide's rebuild_nginx_config ("Forcing nginx rebuilding is done by running
    /home/admin/rebuild_nginx_config on both d1 and d2"). Reads the installs, sites, IPs,
    custom rewrites and PHP handlers from the internal database, renders one server block
    per site and one upstream per install (stdlib/nginx.lua) and writes OUTPUT only when it
    changed. nginx is reloaded only after `nginx -t` passes on the new file ("We do config
    file checks before we restart nginx with the new config. If it fails nginx stays with
    the old config"): on a failed test the previous file is put back and nginx keeps
    serving its running configuration. After a good reload a copy is kept in
    OUTPUT.last-good. NGINX_CONFIG is the main nginx.conf that includes OUTPUT. Both
    default to settings.nginx_installs_config and settings.nginx_config of the
    configuration; rendering options (ports, catch-all server, fastcgi_params) come from
    [settings.nginx]. See docs/runbooks.md.
  ]],
  params = {
    -- (not `config`: `runbook run --config` is the engine's configuration file)
    output = { type = "path", doc = "the generated file, included by nginx.conf inside http { } "
               .. "(default settings.nginx_installs_config, else " .. DEFAULT_OUTPUT .. ")" },
    nginx_config = { type = "path",
                     doc = "the main nginx.conf to test and reload with (default settings.nginx_config, else the platform's)" },
    force = { type = "bool", default = false, doc = "test and reload nginx even when the file did not change" },
  },
  -- A failed run leaves the files as they were (the reload's own restore covers files in
  -- nginx.conf's folder; this covers an OUTPUT kept elsewhere).
  on_failure = "undo",
  locks = function() return { "nginx-config" } end,
  run = function(args)
    local output = args.output or settings.nginx_installs_config or DEFAULT_OUTPUT
    local nginx_config = args.nginx_config or settings.nginx_config
    if type(output) ~= "string" or output:sub(1, 1) ~= "/" then error("--output must be an absolute path, got " .. tostring(output)) end
    if nginx_config ~= nil and (type(nginx_config) ~= "string" or nginx_config:sub(1, 1) ~= "/") then
      error("--nginx-config must be an absolute path, got " .. tostring(nginx_config))
    end
    local world, text, stats
    local changed = false

    step("Check for changes in the installs site settings", function()
      world = nginx.load("internal")
      log.info(("%d installs, %d sites, %d handlers in the internal database"):format(
        #world.installs, #world.sites, #world.handlers))
    end)

    step("Rebuild web server config", function()
      text, stats = nginx.render(world, render_options())
      for _, warning in ipairs(stats.warnings) do log.warn(warning) end
      local old = fs.exists(output) and fs.read(output) or nil
      log.info(("%s: %d server blocks, %d upstreams, %d bytes"):format(output, stats.servers, stats.upstreams, #text))
      if old == text then
        log.info(output .. " is up to date")
      elseif old then
        local changes = nginx.changes(old, text)
        for _, what in ipairs({ "added", "changed", "removed" }) do
          if #changes[what] > 0 then log.info(("installs %s: %s"):format(what, id_list(changes[what], 20))) end
        end
      end
    end)

    step("Config file check, then reload nginx with the new config", function()
      changed = fs.write(output, text)
      if changed or args.force then
        service.reload("nginx", { config = nginx_config })
      else
        log.info("nothing changed: nginx keeps running as it is (--force reloads anyway)")
      end
    end)

    if changed or args.force then
      step("Keep the last good nginx config", function()
        fs.write(output .. ".last-good", text)
      end)
    end
  end,
}
