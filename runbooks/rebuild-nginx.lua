-- runbooks/rebuild-nginx.lua: the guide's /home/admin/rebuild_nginx_config. Run it on each
-- dispatcher (d1 and d2) after anything that changes the installs' site settings: a new
-- install, a hostname change, new SSL files, a downgrade, custom rewrites, cloud handlers.
local nginx = require("nginx")

return runbook {
  summary = "Rebuild the nginx config of every install and reload nginx if its config test passes",
  runs_on = "each dispatcher (its own nginx); reads the internal database",
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
               .. "(default settings.nginx_installs_config, else " .. nginx.DEFAULT_OUTPUT .. ")" },
    nginx_config = { type = "path",
                     doc = "the main nginx.conf to test and reload with (default settings.nginx_config, else the platform's)" },
    force = { type = "bool", default = false, doc = "test and reload nginx even when the file did not change" },
  },
  -- A failed run leaves the files as they were (the reload's own restore covers files in
  -- nginx.conf's folder; this covers an OUTPUT kept elsewhere).
  on_failure = "undo",
  locks = function() return { "nginx-config" } end,
  run = function(args)
    nginx.rebuild({ output = args.output, nginx_config = args.nginx_config, force = args.force })
  end,
}
