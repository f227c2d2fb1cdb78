-- Takes the lock site:SITE and, with --hold, keeps it that many seconds.
return runbook {
  summary = "Hold a site's lock (test)",
  params = {
    site = { type = "string", required = true, doc = "the site whose lock is taken" },
    hold = { type = "int", default = 0, min = 0, max = 60, doc = "seconds to keep the lock" },
  },
  locks = function(args) return { "site:" .. args.site } end,
  run = function(args)
    step("Hold the lock", function()
      if args.hold > 0 then cmd.run({ "sleep", tostring(args.hold) }, { read_only = true }) end
    end)
  end,
}
