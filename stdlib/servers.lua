-- stdlib/servers.lua: how this server reaches the platform's other servers, as the runbooks
-- that copy to them read it: [settings.servers."HOSTNAME"] sync = a folder that stands for
-- the server's / (the demo world's /srv/dispatch2), "HOST:" (ssh, a [hosts.HOST] of the
-- configuration) or "rsync://..." (a daemon), and cron_file = the cron.d file of its crons
-- as this server writes it. Used by add-server, cloud-manager and stdlib/sites (the install
-- runbook still reads settings.servers itself).
--
--   servers.reach(hostname) -> the settings table {sync =, cron_file =}, or nil
--   servers.check(hostname [, needs]) -> the same, or errors in one line naming the setting
--       to add; needs = {"sync"} (default) or {"sync", "cron_file"}
--   servers.folder(server, path) -> where `path` of that server is here when it is reached
--       through a folder, else nil (ssh and rsync:// are reached with rsync.push only)
--   servers.push(server, path [, {delete = false, excludes = {...}}]) -> copies the file or
--       folder `path` of this server to the same path there (rsync -a; delete: a folder's
--       extra files there are removed). Into a folder: the missing parent folder is made and
--       a copy that was not there is removed again by undo; over something that was there
--       already, or over ssh/rsync://, it cannot be undone (`!` in the plan).
--   servers.read(server, path) -> the text of a file there (a folder only; nil otherwise)
--   servers.write(server, path, text [, options]) -> fs.write of a file there (a folder
--       only: undone from the run's backup); errors for ssh/rsync:// (use push)

local M = {}

function M.reach(hostname)
  local all = type(settings.servers) == "table" and settings.servers or {}
  local server = all[hostname]
  return type(server) == "table" and server or nil
end

function M.check(hostname, needs)
  local server = M.reach(hostname)
  for _, key in ipairs(needs or { "sync" }) do
    if not server or type(server[key]) ~= "string" then
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

function M.push(server, path, options)
  options = options or {}
  local info = fs.stat(path)
  if not info then error(path .. " does not exist on this server: nothing to copy", 0) end
  local slash = info.type == "directory" and "/" or ""
  local copy = { delete = options.delete or nil, excludes = options.excludes }
  local there = M.folder(server, path)
  if not there then return rsync.push(path .. slash, server.sync .. path .. slash, copy) end
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
  if not there or not fs.exists(there) then return nil end
  return fs.read(there)
end

function M.write(server, path, text, options)
  local there = M.folder(server, path)
  if not there then error(("%s is reached with %s: its %s cannot be edited from here"):format(tostring(server.sync), tostring(server.sync), path), 0) end
  return fs.write(there, text, options)
end

return M
