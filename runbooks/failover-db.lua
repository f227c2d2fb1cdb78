-- runbooks/failover-db.lua: the guide's move_database ("Failsafe of DB").
--
--   move_database --destination master   |   move_database --destination slave
--
-- "This would update everyone's config.php ... that script to be on both d1 and d2 and when
-- run to change all installs' config files on both machines, so it won't be needed to run
-- it on d1 and d2, just on one of those to change globally."
--
-- Every install's heavymetal/config.php holds its database host on one line
-- (schema/README.md):   $config['db_host'] = '10.0.0.5';
-- This runbook rewrites that line — and nothing else — in every install under the homes
-- folder, then has the other dispatcher do the same through remote.runbook. It finds the
-- installs by walking the homes folder, never by asking the database: it runs exactly when
-- the database is down.

local setting = require("settings")

-- The db_host assignment: prefix (with the key's quote as capture 2), the value's quote,
-- the value, and the rest of the line (`;`, a comment, a "\r").
local DB_HOST_LINE = "^(%s*%$config%s*%[%s*(['\"])db_host%2%s*%]%s*=%s*)(['\"])(.-)%3(%s*;.*)$"

-- Rewrites every db_host line of `text` whose value is one of `known` (a set) to `to`.
-- Returns the new text (byte for byte the old one apart from those values), how many
-- db_host lines were found, and the values that were neither `to` nor known.
local function rewrite_db_host(text, known, to)
  local out, found, unknown = {}, 0, {}
  local position = 1
  while position <= #text do
    local newline = text:find("\n", position, true)
    local line = text:sub(position, (newline or (#text + 1)) - 1)
    position = newline and newline + 1 or #text + 1
    local prefix, _, quote, value, rest = line:match(DB_HOST_LINE)
    if prefix then
      found = found + 1
      if value ~= to and known[value] then
        line = prefix .. quote .. to .. quote .. rest
      elseif value ~= to then
        unknown[#unknown + 1] = value
      end
    end
    out[#out + 1] = line
    if newline then out[#out + 1] = "\n" end
  end
  return table.concat(out), found, unknown
end

-- A database host as it may stand inside a PHP string: an IP address or a host name.
local function is_db_host(text)
  return type(text) == "string" and #text > 0 and #text <= 255 and text:match("^[%w][%w%.%-:]*$") ~= nil
end

-- settings.homes may be one folder or a list of them.
local function as_list(value)
  if type(value) == "table" then return value end
  if type(value) == "string" then return { value } end
  return nil
end

return runbook {
  summary = "Point every install's config.php at the master or the slave database, here and on the other dispatcher",
  runs_on = "either dispatcher; runs itself on the other one over ssh (remote.runbook); needs no database",
  doc = [[
    The guide's move_database. For each install under the homes folder (default
    settings.homes, else /usr/home) it rewrites the line
      $config['db_host'] = '...';
    of heavymetal/config.php to the destination's address: settings.database_hosts.master
    (the primary, cloud-db1) or settings.database_hosts.slave (the replica on dispatch2),
    or --master-host / --slave-host. Only lines that point at one of those two hosts are
    changed; an install on another database host is left alone and makes the run fail at
    the end, so it is not missed. Then it runs itself on the other dispatcher (--peer, a
    [hosts.NAME] of the config, default settings.failover_peer) with --local-only, so one
    run changes both machines; the servers of --also (settings.failover_db_hosts: the cloud
    handlers, each a [hosts.NAME] with runbook's agent) are changed in this run through
    on(). Each server's /home/internal/heavymetal/config.php (settings.internal_home)
    changes too: the crons run there. It needs no database. `runbook undo RUN_ID` puts
    every config.php of this server and of the --also servers back; the peer's run logs its
    own run id for its undo.
  ]],
  params = {
    destination = { type = "enum", values = { "master", "slave" }, required = true,
                    doc = "the database every install should use from now on" },
    master_host = { type = "string", doc = "the primary database's address (default settings.database_hosts.master)" },
    slave_host = { type = "string", doc = "the replica's address (default settings.database_hosts.slave)" },
    homes = { type = "path", list = true, doc = "folders holding the installs' homes (default settings.homes, else /usr/home)" },
    peer = { type = "string", doc = "the other dispatcher, a [hosts.NAME] of the config (default settings.failover_peer)" },
    also = { type = "string", list = true,
             doc = "more servers whose installs' config.php change too, [hosts.NAME] with runbook's agent: the cloud handlers "
                .. "(default settings.failover_db_hosts)" },
    local_only = { type = "bool", default = false, doc = "change this server only (the peer's half runs with this)" },
  },
  locks = function() return { "failover-db" } end,
  -- A failover that stops half way keeps the config.php files it already pointed at the
  -- working database: those stores work again.
  on_failure = "keep",
  run = function(args)
    cleanup(function()
      log.warn(("the config.php files changed before the failure keep the new database host: `runbook log %s` "
        .. "lists them, `runbook undo %s` puts them back"):format(context.run_id, context.run_id))
    end)
    local hosts = setting.table("database_hosts")
    local master = args.master_host or hosts.master
    local slave = args.slave_host or hosts.slave
    for name, value in pairs({ master = master, slave = slave }) do
      if value == nil then
        error(("which host is the %s database? give --%s-host or set database_hosts.%s in [settings]"):format(name, name, name), 0)
      end
      if not is_db_host(value) then
        error(("the %s database host '%s' is not an IP address or host name"):format(name, tostring(value)), 0)
      end
    end
    if master == slave then error("the master and slave database hosts are the same (" .. master .. ")", 0) end
    local to = args.destination == "master" and master or slave
    local from = args.destination == "master" and slave or master
    local homes = args.homes or as_list(settings.homes) or { "/usr/home" }
    local peer = args.peer or setting.string("failover_peer")
    if not args.local_only and not peer then
      error("which is the other dispatcher? give --peer NAME (a [hosts.NAME] of the config) or set failover_peer "
        .. "in [settings]; --local-only changes this server only", 0)
    end
    if args.local_only then
      log.info(("run %s on %s: undo it here with `runbook undo %s`"):format(context.run_id, context.host, context.run_id))
    end

    -- /home/internal runs the crons ("Add to crontab its lib/cron/cron.php"): its
    -- config.php points at the database too.
    local internal = (setting.string("internal_home") or "/home/internal") .. "/heavymetal/config.php"

    -- The config.php files of the host the calls act on (this one, or one inside on()).
    local function find(where, required)
      local files = {}
      for _, home in ipairs(homes) do
        for _, name in ipairs(fs.exists(home) and fs.list(home) or {}) do
          local path = home .. "/" .. name .. "/heavymetal/config.php"
          -- (Only folders are homes: a file beside them, .lab-host or a note, is no install.)
          local folder = fs.stat(home .. "/" .. name)
          local info = folder and folder.type == "directory" and fs.stat(path) or nil
          if info and info.type == "file" then
            files[#files + 1] = path
          elseif info then
            log.warn(where .. path .. " is a " .. info.type .. ", not a file: left as it is")
          end
        end
      end
      if required and #files == 0 then
        error("no install's heavymetal/config.php under " .. table.concat(homes, ", ") .. " (is --homes right?)", 0)
      end
      local info = fs.stat(internal)
      if info and info.type == "file" then files[#files + 1] = internal end
      return files
    end

    -- Rewrites them; what was left as it was is named in `left`.
    local left = {}
    local function rewrite(files, where)
      local changed, already = 0, 0
      for i, path in ipairs(files) do
        local text = fs.read(path)
        local new, found, unknown = rewrite_db_host(text, { [from] = true }, to)
        if found == 0 then
          left[#left + 1] = where .. path .. " (no db_host line)"
        elseif #unknown > 0 then
          left[#left + 1] = where .. path .. " (db_host " .. table.concat(unknown, ", ") .. ")"
        end
        if found > #unknown then
          -- secret: config.php holds the database password.
          if fs.write(path, new, { secret = true }) then changed = changed + 1 else already = already + 1 end
        end
        progress(i, #files)
      end
      return changed, already
    end

    local files = {}
    step("Find the installs' config.php", function()
      files = find("", true)
      log.info(#files .. " config.php under " .. table.concat(homes, ", ") .. " and " .. internal)
    end)

    step("Update everyone's config.php to use " .. to .. " (" .. args.destination .. ")", function()
      local changed, already = rewrite(files, "")
      log.info(("%s: %d config.php changed to %s, %d already used it"):format(context.host, changed, to, already))
    end)

    -- The other servers with runbook's agent (the cloud handlers): their copies of the
    -- installs, changed in this run (undone by its undo). One that cannot be reached is
    -- named at the end, with the command that finishes it; the others go on.
    local owed = {}
    -- (The peer's half, --local-only, leaves them to the run that started it.)
    local also = args.also or (not args.local_only and setting.table("failover_db_hosts")) or {}
    for _, host in ipairs(also) do
      step("Update the config.php files on " .. host, function()
        local ok, problem = pcall(on, host, function()
          local there = find(host .. ": ", false)
          local changed, already = rewrite(there, host .. ": ")
          log.info(("%s: %d config.php changed to %s, %d already used it"):format(host, changed, to, already))
        end)
        if not ok then
          owed[#owed + 1] = host
          log.error(("%s was not changed: %s"):format(host, tostring(problem)))
        end
      end)
    end

    if not args.local_only then
      step("Change all installs' config files on " .. peer, function()
        local peer_args = { destination = args.destination, master_host = master, slave_host = slave, local_only = true }
        if args.homes then peer_args.homes = table.concat(args.homes, ",") end
        local ok, problem = pcall(remote.runbook, peer, "failover-db", peer_args)
        if not ok then
          error(("%s\n  this server's installs were changed; when %s is reachable run there: "
            .. "runbook run failover-db --destination %s --local-only"):format(tostring(problem), peer, args.destination), 0)
        end
      end)
    end

    if #owed > 0 then
      error(("%s not changed (unreachable); when reachable run: runbook run failover-db --destination %s --local-only --also %s")
        :format(table.concat(owed, ", "), args.destination, table.concat(owed, ",")), 0)
    end
    if #left > 0 then
      error(("%d install(s) were left as they were: their db_host is neither the master (%s) nor the slave (%s):\n  %s")
        :format(#left, master, slave, table.concat(left, "\n  ")), 0)
    end
  end,
}
