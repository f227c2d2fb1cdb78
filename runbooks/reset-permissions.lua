-- runbooks/reset-permissions.lua: the guide's wished-for `reset_permissions www_bioex1`
-- ("this will globally reset all permissions for that user and check / fix if the cron is
-- not running"), from "When customers call and say their FTP permissions aren't working.
-- What is the fix? Chown ftp:ftp on the dir in question ... Also check if the cron_mounts
-- is running or run manually if there is some error there."
local installs = require("installs")
local setting = require("settings")

-- The install whose FTP user (or id, name, hostname) this is; "_del" users are disabled.
local function find_install(ref)
  local row = db.query_one("internal", "SELECT * FROM installs WHERE ftp_user = ?", { ref })
  if row then return row end
  if db.query_one("internal", "SELECT id FROM installs WHERE ftp_user = ?", { ref .. "_del" }) then
    error(("FTP user %s is disabled (renamed to %s_del, e.g. by a downgrade): nothing to reset"):format(ref, ref), 0)
  end
  return installs.find("internal", ref)
end

return runbook {
  summary = "Reset the FTP permissions of an install and check its bind mounts and the mount cron",
  runs_on = "the install's server (its files and mounts are local)",
  doc = [[
    The guide's reset_permissions (Install process, the FTP questions). For the install of
    FTP user USER (www_NAME; or give the install's id, name or a hostname): sets the owner
    of every file and folder its FTP users reach — the FTP tree HOME/heavymetal/tmp/ftp and
    the folders mounted into it (startup_mounts) — to --owner (default settings.ftp_owner,
    else ftp:ftp); mounts again every startup_mounts entry of the install that is not
    mounted (what cron_mount would do); and reports whether the mount cron is in the
    crontab (settings.cron_mount: the text its crontab line contains, default
    "cron_mount"). Undo puts the old owners back and unmounts what it mounted.
  ]],
  params = {
    user = { type = "string", required = true, doc = "the FTP user (www_NAME), or the install's id, name or a hostname" },
    owner = { type = "string", doc = "user[:group] to own the FTP files (default settings.ftp_owner, else ftp:ftp)" },
  },
  on_failure = "undo",
  locks = function(args) return { "ftp:" .. args.user } end,
  run = function(args)
    local install = find_install(args.user)
    local owner = args.owner or setting.string("ftp_owner") or "ftp:ftp"
    local home = install.home_dir
    local mounts = db.query("internal", "SELECT id, source, target FROM startup_mounts WHERE install_id = ? ORDER BY id", { install.id })
    log.info(("install %d (%s), FTP user %s, %d bind mounts"):format(install.id, install.fs_name, tostring(install.ftp_user), #mounts))

    step("Chown " .. owner .. " on the FTP directories", function()
      -- Every folder the FTP user reaches: the FTP tree (not through its mount points,
      -- which show the sources) and each mounted source.
      local roots = { { path = home .. "/heavymetal/tmp/ftp", skip = {} } }
      local skip = {}
      for _, m in ipairs(mounts) do skip[m.target] = true end
      roots[1].skip = skip
      for _, m in ipairs(mounts) do roots[#roots + 1] = { path = m.source, skip = {} } end
      local changed, seen = 0, 0
      local function walk(path, skipped)
        local info = fs.stat(path)
        if not info then return end
        seen = seen + 1
        if fs.chown(path, owner) then changed = changed + 1 end
        if info.type == "directory" then
          for _, name in ipairs(fs.list(path)) do
            local child = path .. "/" .. name
            if not skipped[child] then walk(child, skipped) end
          end
        end
      end
      for _, root in ipairs(roots) do
        if fs.exists(root.path) then walk(root.path, root.skip) else log.warn(root.path .. " does not exist") end
      end
      log.info(("%d of %d files and folders had another owner"):format(changed, seen))
    end)

    step("Check the bind mounts of startup_mounts", function()
      local missing = 0
      for _, m in ipairs(mounts) do
        local mounted = false
        for _, entry in ipairs(mount.list(m.target)) do
          if entry.target == m.target then mounted = true end
        end
        if not mounted then
          missing = missing + 1
          if not fs.exists(m.source) then
            log.warn(("%s is not mounted and its source %s is gone"):format(m.target, m.source))
          else
            if not fs.exists(m.target) then fs.mkdir(m.target) end
            mount.bind(m.source, m.target)
          end
        end
      end
      log.info(("%d of %d bind mounts were missing"):format(missing, #mounts))
    end)

    step("Check if the cron_mounts is running", function()
      local wanted = settings.cron_mount or "cron_mount"
      local ok, lines = pcall(cron.list, { user = settings.cron_mount_user or "root" })
      local found = false
      for _, line in ipairs(ok and lines or {}) do
        if line:find(wanted, 1, true) then found = true end
      end
      if found then
        log.info("the mount cron (" .. wanted .. ") is in the crontab")
      else
        log.warn(("the mount cron (%s) is not in %s's crontab: new FTP mounts will not appear until it is"):format(
          wanted, settings.cron_mount_user or "root"))
      end
    end)
  end,
}
