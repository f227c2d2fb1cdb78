-- Replaces a demo site's config, then (with --fail) fails its check: hooks and undo to see.
return runbook {
  summary = "Replace a site's config, keeping the old one (test)",
  params = {
    dir = { type = "path", required = true, doc = "a site of the demo tree" },
    fail = { type = "bool", doc = "fail the check" },
  },
  run = function(args)
    cleanup(function() log.info("cleanup 1 (registered first)") end)
    cleanup(function() log.info("cleanup 2 (registered last)") end)
    finally(function() log.info("finally 1") end)
    finally(function() log.info("finally 2") end)
    step("Replace the config", function()
      fs.rename(args.dir .. "/config.php", args.dir .. "/config.php.old")
      fs.write(args.dir .. "/config.php", "<?php $plan = 'paid';\n")
      fs.chmod(args.dir .. "/config.php.old", "0600")
      fs.remove(args.dir .. "/lib")
    end)
    step("Check", function()
      log.warn("checking the new config")
      if args.fail then error("the new config does not parse") end
    end)
  end,
}
