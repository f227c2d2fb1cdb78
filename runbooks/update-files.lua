-- runbooks/update-files.lua: the guide's "Updating specific files": "If only few files are
-- to be updated they must be updated on all the servers."

local servers = require("servers")
local setting = require("settings")

-- How this server reaches the others (settings.servers[HOSTNAME].sync), as install does.
local function sync_targets()
  local targets = {}
  for _, server in ipairs(servers.all()) do
    if type(server.sync) == "string" then targets[#targets + 1] = { hostname = server.hostname, sync = server.sync } end
  end
  return targets
end

-- A file of the checkout as it is at `revision` in the repository (svn cat, a read): known
-- in a dry-run too, where the update itself is only planned.
local function content_at(path, revision)
  local root = context.root == "/" and "" or context.root:gsub("/+$", "")
  return cmd.run({ "svn", "cat", "--non-interactive", "-r", revision, root .. path }, { read_only = true }).stdout
end

return runbook {
  summary = "Update a few files of a shared codebase to a revision, here and on all the servers",
  runs_on = "the group's master; the files on every server in settings.servers",
  doc = [[
    The guide's "Updating specific files". Each --path (relative to the codebase, e.g.
    heavymetal/lib/cart.php) of shared code group --group is updated in the group's
    Subversion checkout to --revision (default HEAD) — only those files, not the whole
    codebase (that is update-shared-code) — then copied to every other server
    (settings.servers."HOSTNAME".sync: a folder, HOST: over ssh, or rsync://). Runs on the
    group's master only. A file left in conflict stops the run before anything is copied.
    Undo updates the files back to the revision they had, here; copies to servers reached
    over ssh or rsync:// cannot be undone (the plan marks them !).
  ]],
  params = {
    group = { type = "int", required = true, doc = "the shared code group (shared_code_groups.id)" },
    path = { type = "string", list = true, required = true, doc = "the files, relative to the codebase (repeat or comma-separate)" },
    revision = { type = "string", default = "HEAD", doc = "the revision to update them to" },
  },
  on_failure = "undo",
  locks = function(args) return { "shared-code:" .. args.group } end,
  run = function(args)
    local group, files = nil, {}
    step("Check the group and the files", function()
      group = db.query_one("internal", [[
        SELECT g.id, g.dir, g.revision, h.hostname AS master FROM shared_code_groups g JOIN handlers h ON h.id = g.handler_id
        WHERE g.id = ?]], { args.group })
      if not group then error("--group " .. args.group .. ": no such shared code group", 0) end
      local this_server = setting.string("this_server")
      if this_server and group.master ~= this_server then
        error(("group %d's master is %s: run update-files there, not on %s"):format(group.id, group.master, this_server), 0)
      end
      if not args.revision:find("^%d+$") and args.revision ~= "HEAD" then
        error("--revision must be a number or HEAD, got " .. args.revision, 0)
      end
      for _, path in ipairs(args.path) do
        if path:sub(1, 1) == "/" or path:find("%.%.") or path:find("^%.svn") or path:find("/%.svn") then
          error("--path " .. path .. " must be a path inside the codebase (relative, no .. or .svn)", 0)
        end
        files[#files + 1] = path
      end
      log.info(("%d file%s of %s (at r%s) to %s"):format(#files, #files == 1 and "" or "s", group.dir, group.revision, args.revision))
    end)

    step("Update the files in the codebase", function()
      for _, path in ipairs(files) do
        local full = group.dir .. "/" .. path
        local info = fs.stat(full)
        if not info then error(("--path %s is not in %s (a new file comes with update-shared-code)"):format(path, group.dir), 0) end
        if info.type == "directory" then error("--path " .. path .. " is a folder: update-files updates files", 0) end
        local result = vcs.update(full, { revision = args.revision ~= "HEAD" and args.revision or nil })
        if #result.conflicts > 0 then
          error(("%s is in conflict after the update (%s): resolve it in %s; nothing was copied to the servers"):format(
            path, table.concat(result.conflicts, ", "), group.dir), 0)
        end
      end
    end)

    local contents = {}
    for _, path in ipairs(files) do contents[path] = content_at(group.dir .. "/" .. path, args.revision) end

    step("Update them on all the servers", function()
      local targets = sync_targets()
      if #targets == 0 then log.warn("no other server in settings.servers: the files are updated here only") end
      for _, target in ipairs(targets) do
        for _, path in ipairs(files) do
          local destination = target.sync .. group.dir .. "/" .. path
          if target.sync:sub(1, 1) == "/" then
            local parent = destination:match("^(.*)/[^/]+$")
            if not fs.exists(parent) then
              error(("%s has no checkout of group %d (%s is missing): sync the codebase there first"):format(
                target.hostname, group.id, parent), 0)
            end
            -- Undo: the file as it was there (a copy kept in the run's backups by fs.write).
            fs.write(destination, contents[path], { mode = (fs.stat(group.dir .. "/" .. path) or {}).mode })
          else
            -- Through that server's agent (undone there), else over ssh or to its rsync
            -- daemon with its password_file's password.
            servers.push(servers.reach(target.hostname), group.dir .. "/" .. path)
          end
        end
      end
    end)
  end,
}
