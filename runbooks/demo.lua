-- A small demonstration runbook: creates a tree of site folders with symlinks into a
-- shared codebase. Try: runbook run demo --dir /tmp/demo --dry-run
return runbook {
  summary = "Create a demo tree of sites linked to a shared codebase",
  runs_on = "anywhere (the demo world)",
  doc = [[
    Creates DIR/site_N for N = 1..COUNT, each with a `lib` symlink into DIR/shared/lib
    and a config file. Everything it creates is undone if a later step fails.
  ]],
  params = {
    dir   = { type = "path", required = true, doc = "where to create the tree" },
    count = { type = "int", default = 3, min = 1, max = 1000, doc = "how many sites" },
    mode  = { type = "enum", values = { "free", "paid" }, default = "free", doc = "the plan of every site" },
  },
  on_failure = "undo",
  run = function(args)
    -- Registered first, so it is in place whichever step fails.
    cleanup(function() log.warn("the demo run failed; its changes were undone") end)
    step("Create the shared codebase", function()
      fs.mkdir(args.dir .. "/shared/lib")
      fs.write(args.dir .. "/shared/lib/VERSION", "1.0\n")
    end)
    step("Create the sites", function()
      for i = 1, args.count do
        local site = args.dir .. "/site_" .. i
        fs.mkdir(site)
        fs.symlink(args.dir .. "/shared/lib", site .. "/lib")
        fs.write(site .. "/config.php", ("<?php $plan = '%s';\n"):format(args.mode))
        progress(i, args.count)
      end
    end)
  end,
}
