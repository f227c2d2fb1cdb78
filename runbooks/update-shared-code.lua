-- runbooks/update-shared-code.lua: the guide's "Updating installs" — slave::update_cloud_users()
-- with $params = array('shared_group_id' => $group_id, 'revision' => 'HEAD'), run through the
-- snippet update_shared_code_installs.php that "must be edited with the correct
-- shared_code_group_id", its output redirected to update.log and read afterwards.
--
-- Here the group and the revision are arguments, each install's progress is shown as it
-- goes, and a summary table ends the run: one line per install with the SQL updates applied
-- and its outcome. One failing install (a broken database, a SQL update that does not apply)
-- is reported and the others continue; the run then exits 1.
--
-- The order, in the guide's words: run only on the master server for the group; update the
-- shared code (svn update), "svn st to see if there are conflicts and auto fix it"; record the
-- group's revision; "sync with the other servers"; for each install that uses the group, its
-- SQL updates recorded in database_updates with the revision, then "rudolf files are deleted,
-- catalog cache files, files in local/tmp. cache table is truncated", and its home synced;
-- finally "apc cache is deleted too".
local install_caches = require("install_caches")
local servers = require("servers")
local setting = require("settings")
local svn = require("svn")

local CONNECTION = "internal" -- installs, shared_code_groups, handlers
local INSTALLS = "installs"   -- the server of the installs' own databases

-- A path of the run (confined to the root) as it is on disk: for argv of commands.
local function on_disk(path)
  local root = context.root:gsub("/+$", "")
  return root .. path
end

-- A path on disk (svn prints them) as the run names it.
local function as_named(path)
  local root = context.root:gsub("/+$", "")
  if root ~= "" and path:sub(1, #root + 1) == root .. "/" then return path:sub(#root + 1) end
  return path
end

local function parent(path) return path:match("^(.*)/[^/]+$") or "/" end

-- A URL with a peg revision (a name holding "@" needs the trailing "@" svn asks for).
local function at(url, revision) return url .. "@" .. revision end

-- rsync.push of a local folder's contents to the same path on another server (a
-- servers.check entry). When its `sync` is a folder (the demo world's dispatch2), the copy can
-- be undone: a first copy is removed, and `undo_existing(destination on disk)` may return the
-- argv that puts an existing one back. Over ssh to a host with runbook's agent it is undone
-- there; to an rsync daemon (with its password_file's password) it cannot be undone (`!`).
local function push(folder, server, options, undo_existing)
  options = options or {}
  -- Through the agent, over ssh or to a daemon: as every runbook copies (servers.push).
  if server.host or server.sync:sub(1, 1) ~= "/" then return servers.push(server, folder, options) end
  local destination = server.sync:gsub("/+$", "") .. folder
  local undo
  if not fs.exists(destination) then
    if not fs.exists(parent(destination)) then fs.mkdir(parent(destination)) end
    undo = { "rm", "-rf", "--", on_disk(destination) }
  elseif undo_existing then
    undo = undo_existing(on_disk(destination))
  end
  return rsync.push(folder .. "/", destination .. "/", { delete = options.delete, excludes = options.excludes, undo = undo,
                                                         checksum = options.checksum })
end

-- Text padded to a width, for the summary table.
local function pad(text, width) return text .. string.rep(" ", width - #text) end

-- An error as the summary shows it: one line, without the runbook's own file:line prefix,
-- the staged SQL file named as it is in the checkout.
local function one_line(problem, stage, checkout_sql)
  local text = tostring(problem):gsub("^[^\n]-%.lua:%d+: ", "")
  if stage then text = text:gsub(stage:gsub("%p", "%%%0"), (checkout_sql:gsub("%%", "%%%%"))) end
  return (text:gsub("%s*\n%s*", " "))
end

-- Everything the update needs, read and checked before anything changes.
local function prepare(args)
  local p = {}
  step("We must run this only on the master server for the specific group_id", function()
    p.group = db.query_one(CONNECTION, "SELECT id, dir, free, revision, handler_id FROM shared_code_groups WHERE id = ?",
      { args.group })
    if not p.group then
      local known = {}
      for _, row in ipairs(db.query(CONNECTION, "SELECT id, dir FROM shared_code_groups ORDER BY id")) do
        known[#known + 1] = row.id .. " " .. row.dir
      end
      error(("--group %d: no such shared code group (known: %s)"):format(args.group,
        #known > 0 and table.concat(known, ", ") or "none"), 0)
    end
    local group = p.group
    p.master = db.query_one(CONNECTION, "SELECT id, hostname FROM handlers WHERE id = ?", { group.handler_id })
    if not p.master then
      error(("shared code group %d names handler %d as its master, which is not in the handlers table"):format(
        group.id, group.handler_id), 0)
    end
    local this_server = setting.lower("this_server")
    if not this_server then
      error("which server is this? set this_server in [settings] (a handlers.hostname): the update runs on the group's master only", 0)
    end
    if p.master.hostname:lower() ~= this_server then
      error(("shared code group %d's master is %s, not this server (%s): run update-shared-code there"):format(
        group.id, p.master.hostname, setting.string("this_server")), 0)
    end
    if not fs.exists(group.dir) then error(("the checkout of group %d, %s, does not exist"):format(group.id, group.dir), 0) end
    local status = vcs.status(group.dir)
    if status.kind ~= "svn" then error(group.dir .. " is a " .. status.kind .. " working copy, not Subversion", 0) end
    p.from = status.revision
    -- Files changed on this server (hot fixes): where the new revision changes them too they
    -- will conflict, and the repository's version is taken (the next step). Said now, so a
    -- dry-run shows it.
    local changed = {}
    for line in svn.read("the status of " .. group.dir, { "status", "-q", on_disk(group.dir) }):gmatch("[^\n]+") do
      local path = line:match("^%S+%s+(/.*)$") or line:match("^.......%s*(/.*)$")
      if path then changed[#changed + 1] = line:sub(1, 1) .. " " .. as_named(path):sub(#group.dir + 2) end
    end
    if #changed > 0 then
      log.warn(("%s has local changes: %s; if revision changes conflict with them, the repository's version is taken "
        .. "and this server's is kept aside"):format(group.dir, table.concat(changed, ", ")))
    end

    -- Paid installs live on every dispatcher, and so does their codebase: how this server
    -- reaches the others is checked now, not after the code changed.
    -- The cloud (and other PHP) handlers an install of the group is attached to run its code
    -- too: they get the checkout, and each of those installs' homes (install_handlers).
    p.servers = {}
    if group.free == 0 then
      for _, handler in ipairs(db.query(CONNECTION, "SELECT id, hostname FROM handlers WHERE kind = 'dispatcher' AND id <> ? ORDER BY id",
        { p.master.id })) do
        local server = servers.check(handler.hostname)
        p.servers[#p.servers + 1] = { id = handler.id, hostname = handler.hostname, sync = server.sync, host = server.host,
                                      password_file = server.password_file, every_install = true }
      end
    end
    for _, handler in ipairs(db.query(CONNECTION, [[
        SELECT DISTINCT h.id, h.hostname FROM handlers h
          JOIN install_handlers ih ON ih.handler_id = h.id
          JOIN installs i ON i.id = ih.install_id
        WHERE i.shared_code_group_id = ? AND h.kind <> 'dispatcher' AND h.id <> ? ORDER BY h.id]], { group.id, p.master.id })) do
      local server = servers.check(handler.hostname)
      p.servers[#p.servers + 1] = { id = handler.id, hostname = handler.hostname, sync = server.sync, host = server.host,
                                    password_file = server.password_file }
    end
    -- Which installs each of them serves (a dispatcher: every paid one).
    p.served = {}
    for _, row in ipairs(db.query(CONNECTION, [[
        SELECT ih.handler_id, ih.install_id FROM install_handlers ih JOIN installs i ON i.id = ih.install_id
        WHERE i.shared_code_group_id = ?]], { group.id })) do
      p.served[row.handler_id .. ":" .. row.install_id] = true
    end

    -- The revision, resolved once: the checkout, the SQL updates and the records all use it.
    p.url = svn.read("the repository of " .. group.dir, { "info", "--show-item", "url", on_disk(group.dir) }):match("^%s*(.-)%s*$")
    local wanted = args.revision:gsub("^[rR](%d+)$", "%1")
    if not (wanted:match("^%d+$") or wanted:upper() == "HEAD") then
      error(("--revision %s is not a Subversion revision (a number or HEAD)"):format(args.revision), 0)
    end
    local resolved = svn.read(("revision %s of %s"):format(wanted, p.url),
      { "info", "--show-item", "revision", "-r", wanted:upper(), p.url })
    p.revision = resolved:match("^%s*(%d+)%s*$")
    if not p.revision then error(("cannot read revision %s of %s: svn printed '%s'"):format(wanted, p.url, resolved), 0) end
    if tonumber(p.revision) < tonumber(p.from) then
      log.warn(("revision %s is older than the checkout's %s: the code goes back, the SQL updates already applied stay"):format(
        p.revision, p.from))
    end
    log.info(("group %d: %s on %s, revision %s -> %s%s"):format(group.id, group.dir, p.master.hostname, p.from, p.revision,
      wanted:upper() == "HEAD" and " (HEAD)" or ""))
    if #p.servers > 0 then
      local names = {}
      for _, server in ipairs(p.servers) do names[#names + 1] = server.hostname end
      log.info("synced to " .. table.concat(names, ", "))
    end
  end)

  step("All installs that use the same shared code group", function()
    local group = p.group
    p.installs = db.query(CONNECTION,
      "SELECT id, fs_name, db_name, home_dir, free FROM installs WHERE shared_code_group_id = ? ORDER BY id", { group.id })

    -- The SQL updates of the revision: each plugin's folder of sql/, as the install's "mut"
    -- reads the checkout.
    p.plugins = {}
    local top = svn.read("the top of " .. p.url, { "list", at(p.url, p.revision) })
    if not top:find("^sql/\n") and not top:find("\nsql/\n") then
      log.warn(("revision %s has no sql/ folder: no SQL updates"):format(p.revision))
    else
      for line in svn.read("the SQL updates of revision " .. p.revision, { "list", "-R", at(p.url .. "/sql", p.revision) }):gmatch("[^\n]+") do
        local plugin, file = line:match("^([^/]+)/([^/]+)$")
        if plugin and file:sub(-4) == ".sql" and file:sub(1, 1) ~= "." then
          p.plugins[plugin] = p.plugins[plugin] or {}
          table.insert(p.plugins[plugin], file)
        end
      end
    end
    p.plugin_names = {}
    for plugin, files in pairs(p.plugins) do
      table.sort(files)
      p.plugin_names[#p.plugin_names + 1] = plugin
    end
    table.sort(p.plugin_names)

    -- What each install has not applied yet (its database_updates). An install whose
    -- database cannot be read fails here, alone.
    p.pending, p.problems, p.needed = {}, {}, {}
    for _, install in ipairs(p.installs) do
      local ok, problem = pcall(function()
        if not install.db_name:match("^[%w_$]+$") then error("database name '" .. install.db_name .. "' is not a plain name", 0) end
        local applied = {}
        for _, row in ipairs(db.query(INSTALLS, "SELECT plugin_id, filename FROM " .. db.quote_name(install.db_name) .. ".database_updates")) do
          applied[tostring(row.plugin_id) .. "/" .. tostring(row.filename)] = true
        end
        local pending = {}
        for _, plugin in ipairs(p.plugin_names) do
          for _, file in ipairs(p.plugins[plugin]) do
            if not applied[plugin .. "/" .. file] then
              pending[plugin] = pending[plugin] or {}
              table.insert(pending[plugin], file)
              p.needed[plugin .. "/" .. file] = true
            end
          end
        end
        p.pending[install.id] = pending
      end)
      if not ok then
        p.problems[install.id] = "cannot read its database_updates: " .. one_line(problem)
        log.error(("install %d (%s): %s"):format(install.id, install.fs_name, p.problems[install.id]))
      end
    end
    local names = {}
    for _, install in ipairs(p.installs) do names[#names + 1] = install.fs_name end
    log.info(#names == 0 and ("no install uses group %d"):format(group.id)
      or ("%d install%s: %s"):format(#names, #names == 1 and "" or "s", table.concat(names, ", ")))
  end)
  return p
end

return runbook {
  summary = "Update a shared code group: svn update, conflicts, SQL updates, caches, sync, for every install of the group",
  runs_on = "the group's master; the checkout and homes on the other dispatchers and the group's cloud handlers",
  doc = [[
    The guide's "Updating installs" (update_shared_code_installs.php): updates the checkout of
    shared code group --group to --revision (default HEAD, resolved to a number once), resolves
    Subversion conflicts by taking the repository's version (the server's version is kept in
    DIR.local-rREV/), records the revision in shared_code_groups, syncs the checkout to the
    other dispatchers (paid groups), then for each install of the group: its SQL updates
    (every plugin's folder of sql/ at the revision, read from the repository and applied from
    DIR.sql-rREV/, removed at the end, so a dry-run plans them install by install; recorded
    in database_updates with the revision), its caches cleared (heavymetal/tmp/rudolf,
    heavymetal/tmp/catalog_cache, local/tmp, the cache table) and, for a paid install, its
    home synced to the other dispatchers. Then the APC cache (settings.apc_clear). One
    failing install is reported and the others continue; a summary lists each install's
    outcome and the run exits 1 if any failed. Runs on the group's master only
    (settings.this_server). Run it again after fixing a failed install: what is done is
    skipped. SQL updates cannot be undone; to go back, update to the old revision. See
    docs/runbooks.md.
  ]],
  params = {
    group = { type = "int", required = true, min = 1, doc = "the shared code group (shared_code_groups.id)" },
    revision = { type = "string", default = "HEAD", doc = "the Subversion revision to update to: a number or HEAD" },
  },
  -- Never undone automatically: when one install fails the others are updated, and their SQL
  -- updates cannot be undone, so the code under them must stay. `runbook undo RUN_ID` puts
  -- back the checkout's revision, the group's revision, the removed cache files; see the docs.
  on_failure = "keep",
  locks = function(args) return { "shared-code:" .. args.group } end,
  run = function(args)
    local p = prepare(args)
    local group = p.group
    local stage = group.dir .. ".sql-r" .. p.revision     -- the SQL updates to apply, as the revision has them
    local keep = group.dir .. ".local-r" .. p.revision    -- the server's versions of files in conflict
    local checkout_sql = group.dir .. "/sql"

    -- A failed or interrupted run leaves no staged SQL behind.
    cleanup(function()
      if fs.exists(stage) then fs.remove(stage) end
    end)

    step("Update the shared code to revision " .. p.revision, function()
      vcs.update(group.dir, { revision = p.revision })
    end)

    step("Svn st to see if there are conflicts and auto fix them", function()
      -- "Resolved" means: the repository's version wins (svn resolve --accept theirs-full),
      -- because the shared code must be what the repository says; the server's own version
      -- (a hot fix made here) is kept in KEEP/PATH to be committed or applied again. A
      -- conflict svn cannot resolve that way (a tree conflict) stops the run here, before
      -- any install is touched: resolve it by hand and run again.
      local conflicts = vcs.status(group.dir).conflicts
      if #conflicts == 0 then
        log.info(group.dir .. " has no conflicts")
        return
      end
      local unresolved = {}
      for _, real in ipairs(conflicts) do
        local path = as_named(real)
        local relative = path:sub(#group.dir + 2)
        local mine = fs.exists(path .. ".mine") and path .. ".mine" or path
        if (fs.stat(mine) or {}).type == "file" then
          -- Copied with cp, not fs.write: `runbook undo` must not remove what is kept.
          cmd.run({ "mkdir", "-p", on_disk(parent(keep .. "/" .. relative)) })
          cmd.run({ "cp", "-p", on_disk(mine), on_disk(keep .. "/" .. relative) })
        end
        local ok, problem = pcall(cmd.run, { "svn", "resolve", "--non-interactive", "--accept", "theirs-full", on_disk(path) })
        if ok then
          log.warn(("%s: conflict resolved to revision %s's version; this server's version is in %s"):format(
            path, p.revision, keep .. "/" .. relative))
        else
          unresolved[#unresolved + 1] = relative .. " (" .. one_line(problem) .. ")"
        end
      end
      local left = vcs.status(group.dir).conflicts
      if #left > 0 then
        local names = {}
        for _, real in ipairs(left) do names[#names + 1] = as_named(real) end
        error(("%d conflict%s in %s could not be resolved (%s): resolve %s by hand (svn resolve), then run again"):format(
          #left, #left == 1 and "" or "s", group.dir, table.concat(unresolved, "; "),
          #left == 1 and "it" or "them"), 0)
      end
    end)

    step("Record the group's revision in shared_code_groups", function()
      db.update(CONNECTION, "shared_code_groups", { revision = p.revision }, { id = group.id })
    end)

    if #p.servers > 0 then
      step("Sync the shared code with the other servers", function()
        -- The whole working copy, .svn included, with --delete: the same revision there,
        -- files the revision removed removed there too. A copy in a folder is undone by
        -- updating it back to the revision it was at. By checksum: rsync's quick check (size
        -- and mtime in whole seconds) skips a .svn/wc.db that the svn update rewrote in the same
        -- second as the copy's last one at the same size, and the copy's svn then disowns the
        -- new revision's files (found by the crash campaign, docs/reliability.md).
        for _, server in ipairs(p.servers) do
          push(group.dir, server, { delete = true, checksum = true }, function(destination)
            if fs.exists(server.sync:gsub("/+$", "") .. group.dir .. "/.svn") then
              return { "svn", "update", "-q", "--non-interactive", "-r", p.from, destination }
            end
          end)
        end
      end)
    end

    step("Fetch the SQL updates of revision " .. p.revision, function()
      -- The files are read from the repository at the revision and staged in STAGE, and each
      -- install's updates are applied from there: a dry-run cannot see the files the svn
      -- update brings into the checkout, but it reads the repository, so it plans the same
      -- updates, install by install, that the run applies. The content is the checkout's.
      if fs.exists(stage) then fs.remove(stage) end
      local count = 0
      for _, plugin in ipairs(p.plugin_names) do
        for _, file in ipairs(p.plugins[plugin]) do
          if p.needed[plugin .. "/" .. file] then
            local text = svn.read("sql/" .. plugin .. "/" .. file .. " of revision " .. p.revision,
              { "cat", at(p.url .. "/sql/" .. plugin .. "/" .. file, p.revision) })
            fs.mkdir(stage .. "/" .. plugin)
            fs.write(stage .. "/" .. plugin .. "/" .. file, text)
            count = count + 1
          end
        end
      end
      log.info(count == 0 and "every install has every SQL update of revision " .. p.revision
        or ("%d SQL update%s to apply"):format(count, count == 1 and "" or "s"))
    end)

    local excludes = {}
    for _, folder in ipairs(install_caches.folders) do excludes[#excludes + 1] = "/" .. folder .. "/" end
    local outcomes = {}
    step("Update every install of the group", function()
      for i, install in ipairs(p.installs) do
        local outcome = { install = install, applied = nil }
        outcomes[#outcomes + 1] = outcome
        if p.problems[install.id] then
          outcome.failure = p.problems[install.id]
        else
          local ok, problem = pcall(step, ("%s (%d/%d)"):format(install.fs_name, i, #p.installs), function()
            outcome.applied = 0
            step("Process the sql updates, recorded in database_updates with the revision", function()
              local pending = p.pending[install.id]
              for _, plugin in ipairs(p.plugin_names) do
                if pending[plugin] then
                  local files = db.apply_updates(INSTALLS, install.db_name, stage .. "/" .. plugin,
                    { plugin_id = plugin, revision = p.revision })
                  outcome.applied = outcome.applied + #files
                end
              end
            end)
            step("Rudolf files, catalog cache files, files in local/tmp are deleted, cache table is truncated", function()
              outcome.removed = install_caches.clear_files(install.home_dir)
              install_caches.clear_table(INSTALLS, install.db_name)
            end)
            local targets = {}
            for _, server in ipairs(p.servers) do
              if (server.every_install and install.free == 0) or p.served[server.id .. ":" .. install.id] then
                targets[#targets + 1] = server
              end
            end
            outcome.synced = #targets > 0
            if #targets > 0 then
              step("Sync with the other servers", function()
                for _, server in ipairs(targets) do
                  -- The home as install syncs it (nothing deleted there), but the cache
                  -- folders, which are pushed on their own with --delete: emptied there too.
                  push(install.home_dir, server, { excludes = excludes })
                  for _, folder in ipairs(install_caches.folders) do
                    if fs.exists(install.home_dir .. "/" .. folder) then
                      push(install.home_dir .. "/" .. folder, server, { delete = true })
                    end
                  end
                end
              end)
            end
          end)
          if not ok then outcome.failure = one_line(problem, stage, checkout_sql) end
        end
        progress(i, #p.installs)
        if outcome.failure then
          log.error(("[%d/%d] %s: failed: %s"):format(i, #p.installs, install.fs_name, outcome.failure))
        else
          log.info(("[%d/%d] %s: %d SQL update%s, %d cache entr%s removed%s"):format(i, #p.installs, install.fs_name,
            outcome.applied, outcome.applied == 1 and "" or "s", outcome.removed, outcome.removed == 1 and "y" or "ies",
            outcome.synced and ", synced" or ""))
        end
      end
    end)

    step("Remove the staged SQL updates", function()
      if fs.exists(stage) then fs.remove(stage) end
    end)

    step("Apc cache is deleted too", function()
      install_caches.clear_apc()
    end)

    -- The guide's update.log, read afterwards "for any install issues": here, one line each.
    local failed = {}
    local width = #"name"
    for _, outcome in ipairs(outcomes) do width = math.max(width, #outcome.install.fs_name) end
    print(("Group %d updated to revision %s: %d install%s"):format(group.id, p.revision, #outcomes, #outcomes == 1 and "" or "s"))
    print(pad("install", 8) .. "  " .. pad("name", width) .. "  " .. pad("updates", 7) .. "  outcome")
    for _, outcome in ipairs(outcomes) do
      local result
      if outcome.failure then
        result = "FAILED: " .. outcome.failure
        failed[#failed + 1] = outcome.install.fs_name
      else
        result = context.dry_run and "planned" or "updated"
      end
      print(pad(tostring(outcome.install.id), 8) .. "  " .. pad(outcome.install.fs_name, width) .. "  "
        .. pad(outcome.applied and tostring(outcome.applied) or "-", 7) .. "  " .. result)
    end
    if #failed > 0 then
      error(("%d of %d installs of group %d failed (%s): see the summary; fix them and run update-shared-code again"):format(
        #failed, #outcomes, group.id, table.concat(failed, ", ")), 0)
    end
  end,
}
