-- runbooks/change-codebase.lua: the guide's "Change codebase": "The current codebase and the
-- new must be the same revisions. Loop through all the files and directories in the install
-- and if there is a symlink for example to /home/shared_codes/code_share_paid_1/heavymetal/lib,
-- change it to /home/shared_codes/code_share_paid_$num/heavymetal/lib. Also change in the
-- installs table the shared_code_group_id to the new group id". With a group of limit 1 it
-- is the second half of "Sign up a customer to their own codebase" (add-codebase --own).
local install_config = require("install_config")
local install_tree = require("install_tree")
local installs = require("installs")
local servers = require("servers")

local function group_row(id)
  return db.query_one("internal", [[
    SELECT g.id, g.dir, g.free, g.revision, g.`limit`, g.handler_id, COUNT(i.id) AS installs
    FROM shared_code_groups g LEFT JOIN installs i ON i.shared_code_group_id = g.id WHERE g.id = ? GROUP BY g.id]], { id })
end

-- The other servers' copies of the home that this server reaches as folders
-- (settings.servers."HOST".sync = "/..."), and the ones it does not.
local function other_copies(home)
  local folders, others = {}, {}
  for _, server in ipairs(servers.all()) do
    if type(server.sync) == "string" then
      if server.sync:sub(1, 1) == "/" then
        if fs.exists(server.sync .. home) then folders[#folders + 1] = { hostname = server.hostname, prefix = server.sync } end
      else
        others[#others + 1] = server.hostname
      end
    end
  end
  return folders, others
end

return runbook {
  summary = "Move an install to another codebase of the same revision: relink its files, update installs",
  runs_on = "the install's master; links changed there and on the servers it reaches",
  doc = [[
    The guide's "Change codebase". Every symlink of the install's home (and of its copies on
    the other servers this server reaches as folders, settings.servers) that points into the
    current group's checkout is pointed at the same path in group --to; then
    installs.shared_code_group_id and config.php's shared_code_dir change. Refuses a group
    of another revision, of the other plan (free/paid: see downgrade), without a checkout,
    or full (its limit; --force takes it anyway, e.g. for a customer's own limit-1 group
    made by add-codebase --own). Copies on servers reached over ssh are named for a
    manual check. `runbook undo RUN_ID` points everything back.
  ]],
  params = {
    install = { type = "string", required = true, doc = "the install: id, name or one of its hostnames" },
    to = { type = "int", required = true, doc = "the shared code group to move it to (shared_code_groups.id)" },
    force = { type = "bool", default = false, doc = "move it even if the group is at its limit" },
  },
  on_failure = "undo",
  locks = function() return { "installs" } end,
  run = function(args)
    local install = installs.find("internal", args.install)
    local from, to
    step("Check that the current codebase and the new are the same revisions", function()
      from = group_row(install.shared_code_group_id)
      to = group_row(args.to)
      if not to then error("--to " .. args.to .. ": no such shared code group", 0) end
      if not from then error(("install %d's group %d does not exist"):format(install.id, install.shared_code_group_id), 0) end
      if from.id == to.id then error(("install %d (%s) already uses group %d"):format(install.id, install.fs_name, to.id), 0) end
      lock("shared-code:" .. from.id)
      lock("shared-code:" .. to.id)
      if tostring(from.revision) ~= tostring(to.revision) then
        error(("group %d is at revision %s and group %d at revision %s: the current codebase and the new must be the same revisions"
          .. " (update-shared-code one of them first)"):format(from.id, from.revision, to.id, to.revision), 0)
      end
      if from.free ~= to.free then
        error(("group %d is for %s installs and install %d is %s: use downgrade to move a paid install to a free codebase"):format(
          to.id, to.free == 1 and "free" or "paid", install.id, install.free == 1 and "free" or "paid"), 0)
      end
      if to.installs >= to.limit and not args.force then
        error(("group %d is full (%d installs, limit %d): --force moves it anyway"):format(to.id, to.installs, to.limit), 0)
      end
      if not fs.exists(to.dir .. "/heavymetal/lib") then error(("group %d has no checkout at %s"):format(to.id, to.dir), 0) end
      log.info(("install %d (%s): %s -> %s (revision %s)"):format(install.id, install.fs_name, from.dir, to.dir, to.revision))
    end)

    local copies, unreachable = other_copies(install.home_dir)
    step("Loop through all the files and directories in the install and change the symlinks", function()
      local changed = fs.relink_tree(install.home_dir, from.dir, to.dir)
      log.info(("%d links of %s now point into %s"):format(changed, install.home_dir, to.dir))
      for _, copy in ipairs(copies) do
        local n = fs.relink_tree(copy.prefix .. install.home_dir, from.dir, to.dir)
        log.info(("%s: %d links"):format(copy.hostname, n))
      end
      for _, hostname in ipairs(unreachable) do
        log.warn(("%s is reached over ssh or rsync: run change-codebase's relink there, or re-sync the home"):format(hostname))
      end
      -- A dry-run reads its planned links here, so it checks the plan as the real run checks the result.
      local left = install_tree.links_into(install.home_dir, from.dir)
      if left > 0 then error(("%d links of %s still point into %s"):format(left, install.home_dir, from.dir), 0) end
    end)

    step("Change in the installs table the shared_code_group_id to the new group id", function()
      db.update("internal", "installs", { shared_code_group_id = to.id }, { id = install.id })
      local config = install.home_dir .. "/heavymetal/config.php"
      if fs.exists(config) then
        local text = fs.read(config)
        if install_config.parse(text).shared_code_dir ~= nil then
          fs.write(config, install_config.set(text, "shared_code_dir", to.dir), { secret = true })
        end
      end
    end)
  end,
}
