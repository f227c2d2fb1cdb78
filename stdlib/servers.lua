-- stdlib/servers.lua: how this server reaches the platform's other servers, as the runbooks
-- that copy to them read it: [settings.servers."HOSTNAME"] sync = a folder that stands for
-- the server's / (the demo world's /srv/dispatch2), "HOST:" (ssh, a [hosts.HOST] of the
-- configuration) or "rsync://..." (a daemon), and cron_file = the cron.d file of its crons
-- as this server writes it. Every runbook that reaches another server reads it here.
-- A [settings.servers."HOST"] that is not a table stops the run (stdlib/settings.lua).
--
--   servers.reach(hostname) -> the settings table {sync =, cron_file =}, or nil
--   servers.all() -> every configured server, sorted by hostname: {hostname =, sync =, cron_file =}
--   servers.check(hostname [, needs]) -> the same, or errors in one line naming the setting
--       to add; needs = {"sync"} (default) or {"sync", "cron_file"}
--   servers.folder(server, path) -> where `path` of that server is here when it is reached
--       through a folder, else nil (ssh and rsync:// are reached with rsync.push only)
--   servers.push(server, path [, {delete = false, excludes = {...}, checksum = false}]) -> copies the file or
--       folder `path` of this server to the same path there (rsync -a; delete: a folder's
--       extra files there are removed). A server with a `host` (a [hosts] entry whose
--       runbook agent is there) is copied to over ssh, and undone there. Into a folder: the
--       missing parent folder is made and a copy that was not there is removed again by
--       undo; over something that was there already, or to an rsync daemon (with its
--       password_file's password), it cannot be undone (`!` in the plan); over ssh
--       ("HOST:") it is undone on that host when [hosts.HOST] names `runbook` (its agent
--       keeps what the copy replaced), else it is `!` too
--   servers.host(hostname) -> the [hosts.NAME] of the configuration through which a platform
--       server (a row of the handlers table, by its hostname) is reached: its own name when
--       the configuration has a [hosts] entry of that name, else its `host` setting, else
--       NAME of its sync "NAME:"; errors in one line naming the setting to add otherwise
--   servers.other_dispatchers() -> the dispatchers of settings.dispatchers but this server,
--       each {hostname =, host =} (host: as servers.host, nil when it has none)
--   servers.on(hostname, fn) -> on(servers.host(hostname), fn): fn's primitives act on that
--       server, through runbook's agent there (runbook-format.md, "Other hosts")
--   servers.daemon_password(server) -> for an rsync:// sync with password_file (the guide's
--       /usr/local/etc/rsyncd_root.pwd: the daemon asks root for it), the password read
--       from that file, for rsync.push's `password` (a secret: never on argv or in the plan);
--       nil otherwise
--   servers.removal(server, path) -> an argv that removes `path` there (the undo of a copy
--       this run made): rm -rf through a folder; over rsync:// a sync of an empty folder
--       that deletes only `path` (with password_file's --password-file); nil over ssh
--   servers.exists(server, path) -> whether `path` is there: through the folder, over an
--       rsync daemon (`rsync --list-only`, with password_file) or over ssh (`test -e`); a
--       read, also in a dry-run. Errors when the server does not answer.
--   servers.read(server, path) -> the text of a file there, or nil when it is not there:
--       through the folder, or over ssh (`cat`, a read: also in a dry-run); nil for rsync://
--       (a daemon only copies)
--   servers.writable(server) -> true when servers.write can reach it (a folder or ssh)
--   servers.write(server, path, text [, options]) -> writes a file there: through a folder
--       with fs.write (undone from the run's backup); over ssh the text is staged here in
--       settings.staging_dir (default /var/tmp/runbook-staging)/HOST/PATH with fs.write and
--       sent with rsync (that copy cannot be undone: `!`); errors for rsync://

local setting = require("settings")

local M = {}

function M.reach(hostname)
  return setting.entry("servers", hostname)
end

function M.all()
  local list = {}
  for hostname in pairs(setting.table("servers")) do
    local server = setting.entry("servers", hostname)
    list[#list + 1] = { hostname = hostname, sync = server.sync, cron_file = server.cron_file }
  end
  table.sort(list, function(a, b) return tostring(a.hostname) < tostring(b.hostname) end)
  return list
end

function M.check(hostname, needs)
  local server = M.reach(hostname)
  for _, key in ipairs(needs or { "sync" }) do
    if not server or type(server[key]) ~= "string" or server[key] == "" then
      if key == "sync" then
        error(("how does this server reach %s? set sync in [settings.servers.\"%s\"] (a folder, HOST: or rsync://)"):format(
          hostname, hostname), 0)
      end
      error(("where are the crons of %s? set %s in [settings.servers.\"%s\"]"):format(hostname, key, hostname), 0)
    end
  end
  return server
end

function M.folder(server, path)
  if type(server.sync) == "string" and server.sync:sub(1, 1) == "/" then
    return (server.sync:gsub("/+$", "")) .. path
  end
  return nil
end

local function parent(path) return path:match("^(.*)/[^/]+$") end

-- The path of `path` on disk (under --root), for an undo argv.
local function on_disk(path)
  if context.root == "/" then return path end
  return (context.root:gsub("/+$", "")) .. path
end

-- "d2:" or "d2:/prefix" -> "d2", "/prefix" (a [hosts.d2] reached over ssh); nil otherwise.
local function ssh_of(server)
  if type(server.sync) ~= "string" or server.sync:find("^rsync://") then return nil end
  return server.sync:match("^([^/:]+):(.*)$")
end

function M.host(hostname)
  if context.hosts and context.hosts[hostname] then return hostname end
  local server = M.reach(hostname)
  if server and type(server.host) == "string" and server.host ~= "" then return server.host end
  local host = server and ssh_of(server)
  if host then return host end
  error(("which host of the configuration is %s? add [hosts.\"%s\"] or set sync = \"HOST:\" in [settings.servers.\"%s\"]"):format(
    hostname, hostname, hostname), 0)
end

function M.other_dispatchers()
  local this = setting.lower("this_server")
  local list = {}
  for _, hostname in ipairs(setting.table("dispatchers")) do
    if hostname:lower() ~= this then
      local ok, host = pcall(M.host, hostname)
      list[#list + 1] = { hostname = hostname, host = ok and host or nil }
    end
  end
  return list
end

function M.on(hostname, fn)
  return on(M.host(hostname), fn)
end

local function is_daemon(server)
  return type(server.sync) == "string" and server.sync:find("^rsync://") ~= nil
end

function M.daemon_password(server)
  if not is_daemon(server) or server.password_file == nil then return nil end
  if type(server.password_file) ~= "string" or server.password_file:sub(1, 1) ~= "/" then
    error(("the password_file for %s in [settings.servers] must be an absolute path"):format(server.sync), 0)
  end
  if not fs.exists(server.password_file) then
    error(("the password_file for %s, %s, does not exist"):format(server.sync, server.password_file), 0)
  end
  -- rsync's own rule for a password file: the first line.
  local password = fs.read(server.password_file):match("^([^\r\n]*)")
  if password == "" then error(("the password_file for %s, %s, is empty"):format(server.sync, server.password_file), 0) end
  return password
end

function M.removal(server, path)
  local there = M.folder(server, path)
  if there then return { "rm", "-rf", "--", on_disk(there) } end
  if not is_daemon(server) then return nil end
  local up, name = path:match("^(.*)/([^/]+)/*$")
  if not name then return nil end
  local password_file = server.password_file and { "--password-file=" .. on_disk(server.password_file) } or {}
  -- rsync deletes, in the folder it syncs, what the (empty) source lacks and the filter
  -- includes: only NAME, with everything in it.
  local argv = { "sh", "-c", 'empty=$(mktemp -d) || exit 1; rsync -r --delete "$@" "$empty/" "$0"; status=$?; rmdir "$empty"; exit $status',
                 (server.sync:gsub("/+$", "")) .. up .. "/" }
  for _, option in ipairs(password_file) do argv[#argv + 1] = option end
  argv[#argv + 1] = "--include=/" .. name .. "/***"
  argv[#argv + 1] = "--exclude=*"
  return argv
end

function M.exists(server, path)
  local there = M.folder(server, path)
  if there then return fs.exists(there) end
  if is_daemon(server) then
    local argv = { "rsync", "--list-only" }
    if server.password_file then
      M.daemon_password(server) -- checks the file, with its one-line errors
      argv[#argv + 1] = "--password-file=" .. on_disk(server.password_file)
    end
    argv[#argv + 1] = (server.sync:gsub("/+$", "")) .. path
    local result = cmd.run(argv, { read_only = true, timeout = 60 })
    -- rsync: 0 listed, 23 "No such file or directory" (a partial transfer); anything else
    -- is the daemon or the network refusing.
    if result.status == 0 then return true end
    if result.status == 23 and result.stderr:find("No such file or directory", 1, true) then return false end
    error(("cannot tell whether %s is on %s: rsync exited with status %d: %s"):format(path, server.sync, result.status,
      (result.stderr:match("[^\n]*%S[^\n]*") or "")), 0)
  end
  local host, prefix = ssh_of(server)
  if not host then return nil end
  local result = remote.run(host, { "test", "-e", prefix .. path }, { read_only = true, timeout = 60 })
  return result.status == 0
end

function M.push(server, path, options)
  options = options or {}
  local info = fs.stat(path)
  if not info then error(path .. " does not exist on this server: nothing to copy", 0) end
  local slash = info.type == "directory" and "/" or ""
  local copy = { delete = options.delete or nil, excludes = options.excludes, checksum = options.checksum or nil }
  local there = M.folder(server, path)
  if not there and type(server.host) == "string" then
    -- Through runbook's agent there: what the copy replaces or creates is undone there.
    return rsync.push(path .. slash, server.host .. ":" .. path .. slash, copy)
  end
  if not there then
    copy.password = M.daemon_password(server)
    return rsync.push(path .. slash, server.sync .. path .. slash, copy)
  end
  local up = parent(there)
  if up and up ~= "" and not fs.exists(up) then fs.mkdir(up) end
  if fs.exists(there) then
    log.info(there .. " is there already: brought up to date with this server's copy (cannot be undone)")
    return rsync.push(path .. slash, there .. slash, copy)
  end
  copy.undo = { "rm", "-rf", "--", on_disk(there) }
  return rsync.push(path .. slash, there .. slash, copy)
end

function M.read(server, path)
  local there = M.folder(server, path)
  if there then return fs.exists(there) and fs.read(there) or nil end
  local host, prefix = ssh_of(server)
  if not host then return nil end
  local result = remote.run(host, { "cat", "--", prefix .. path }, { read_only = true, timeout = 60 })
  if result.status ~= 0 then return nil end
  return result.stdout
end

function M.writable(server)
  return M.folder(server, "/") ~= nil or ssh_of(server) ~= nil
end

function M.write(server, path, text, options)
  local there = M.folder(server, path)
  if there then return fs.write(there, text, options) end
  local host = ssh_of(server)
  if not host then
    error(("%s is reached through an rsync daemon (%s), which only copies: its %s cannot be written from here"):format(
      tostring(server.hostname or "the server"), tostring(server.sync), path), 0)
  end
  -- Nothing else writes a file over ssh: rsync sends a copy staged here.
  local stage = (setting.string("staging_dir") or "/var/tmp/runbook-staging") .. "/" .. host .. path
  local up = parent(stage)
  if not fs.exists(up) then fs.mkdir(up) end
  fs.write(stage, text, options)
  rsync.push(stage, server.sync .. path, { checksum = true })
  return true
end

return M
