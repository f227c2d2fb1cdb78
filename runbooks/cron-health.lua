-- runbooks/cron-health.lua: the guide's "If any of these lock, it would be bad, right? ...
-- we can detect if some of these go rotten." For each of the guide's crons on each
-- dispatcher: is it in the cron file, when did it last succeed, does it hold its lock. The
-- crons follow one convention (docs/runbooks.md, cron-health): each runs under a lock file
-- and leaves a stamp when it succeeds:
--   */5 * * * * root flock -n /var/run/divinity-crons/cron_mount.lock php .../cron_mount.php && touch /var/run/divinity-crons/cron_mount.ok

local servers = require("servers")
local setting = require("settings")

-- The guide's crons ("Important Crons ... These run on both") and how often each runs.
local CRONS = {
  { name = "cron_installs", interval = 300 },
  { name = "cron_mount", interval = 300 },
  { name = "cron_slave_queue", interval = 60 },
  { name = "cron_site_accounting", interval = 3600 },
  { name = "cron_slave_sync", interval = 600 },
  { name = "sphinx", interval = 3600 },
  { name = "web_server_config", interval = 300 },
}

local function minutes(seconds)
  if seconds < 120 then return seconds .. " s" end
  if seconds < 7200 then return math.floor(seconds / 60) .. " min" end
  return math.floor(seconds / 3600) .. " h"
end

return runbook {
  summary = "Check the guide's crons on every dispatcher: in the cron file, last success, a held lock; mail and fail when one went rotten",
  runs_on = "either dispatcher, from cron; reads the others through their agents; changes nothing",
  doc = [[
    For each of the guide's crons (cron_installs, cron_mount, cron_slave_queue,
    cron_site_accounting, cron_slave_sync, sphinx, web_server_config) on this dispatcher
    and each other one of settings.dispatchers (through its agent): is it in the cron file
    (settings.cron_health.cron_file, default /etc/cron.d/divinity), how long since its last
    success (the mtime of STAMPS/NAME.ok, settings.cron_health.stamps, default
    /var/run/divinity-crons), and does a run hold its lock (STAMPS/NAME.lock, flock). A
    cron is rotten when it is missing from the cron file, when its last success is older
    than --intervals times its interval (settings.cron_health.intervals overrides one:
    { cron_mount = 600 }), and locked up when, besides, a run still holds its lock. Each
    finding is one line; when there is one the report is mailed (--mail-to, default
    settings.cron_health.mail_to) and the run fails (exit 1), so cron notices.
  ]],
  params = {
    intervals = { type = "int", default = 3, min = 1, max = 1000, doc = "how many intervals without a success make a cron rotten" },
    mail_to = { type = "email", doc = "who gets the report (default settings.cron_health.mail_to; none: printed only)" },
  },
  -- It only reads: a failure has nothing to undo.
  on_failure = "undo",
  run = function(args)
    local config = setting.table("cron_health")
    local cron_file = config.cron_file or "/etc/cron.d/divinity"
    local stamps = config.stamps or "/var/run/divinity-crons"
    local overrides = type(config.intervals) == "table" and config.intervals or {}
    local mail_to = args.mail_to or config.mail_to
    local findings, checked = {}, 0

    -- One dispatcher, in the host context the calls run in (this one, or inside on()).
    local function check(name)
      local crontab = fs.exists(cron_file) and fs.read(cron_file) or ""
      for _, job in ipairs(CRONS) do
        checked = checked + 1
        local interval = math.tointeger(overrides[job.name]) or job.interval
        local function finding(text) findings[#findings + 1] = ("%s %s: %s"):format(name, job.name, text) end
        local listed = false
        for line in crontab:gmatch("[^\n]+") do
          if not line:match("^%s*#") and line:find(job.name, 1, true) then listed = true end
        end
        if not listed then finding("not in " .. cron_file) end
        local stamp, lock = stamps .. "/" .. job.name .. ".ok", stamps .. "/" .. job.name .. ".lock"
        local age
        if fs.exists(stamp) then
          local statted = cmd.run({ "sh", "-c", context.platform == "freebsd" and 'date +%s; stat -f %m "$1"' or 'date +%s; stat -c %Y "$1"',
                                    "sh", stamp }, { read_only = true })
          local now, modified = statted.stdout:match("^(%d+)%s+(%d+)")
          age = now and (tonumber(now) - tonumber(modified)) or nil
        end
        local held = false
        if fs.exists(lock) then
          local probe = context.platform == "freebsd" and { "lockf", "-s", "-t", "0", lock, "true" } or { "flock", "-n", lock, "true" }
          held = cmd.run(probe, { read_only = true }).status ~= 0
        end
        local stale = age == nil or age > args.intervals * interval
        if stale then
          local since = age and ("last success " .. minutes(age) .. " ago") or "no success recorded (" .. stamp .. ")"
          finding(("%s, every %s: %s"):format(since, minutes(interval), held and "locked up: a run still holds " .. lock
            or "rotten: no run holds its lock"))
        elseif listed then
          log.info(("%s %s: ok, last success %s ago%s"):format(name, job.name, minutes(age), held and " (running now)" or ""))
        end
      end
    end

    step("Check the crons on every dispatcher", function()
      check(setting.string("this_server") or context.host)
      for _, dispatcher in ipairs(servers.other_dispatchers()) do
        if dispatcher.host then
          local ok, problem = pcall(on, dispatcher.host, function() check(dispatcher.hostname) end)
          if not ok then findings[#findings + 1] = dispatcher.hostname .. ": could not be checked: " .. tostring(problem) end
        else
          findings[#findings + 1] = dispatcher.hostname .. ": no [hosts] entry here, its crons were not checked"
        end
      end
      for _, text in ipairs(findings) do log.warn(text) end
      log.info(("%d crons checked, %d findings"):format(checked, #findings))
    end)

    if #findings == 0 then return end
    if mail_to then
      step("Mail the report", function()
        mail.send({ to = mail_to, from = config.mail_from or "runbook@" .. tostring(setting.string("this_server")),
                    subject = ("cron-health: %d finding%s"):format(#findings, #findings == 1 and "" or "s"),
                    body = table.concat(findings, "\n") .. "\n" })
      end)
    end
    error(("%d cron finding%s (listed above)"):format(#findings, #findings == 1 and "" or "s"), 0)
  end,
}
