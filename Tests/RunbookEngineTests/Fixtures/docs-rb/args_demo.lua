-- Declares one parameter of each type, for `runbook describe` and `list`.
return runbook {
  summary = "Show every parameter type (test)",
  params = {
    name = { type = "string", doc = "a string" },
    count = { type = "int", default = 1, min = 1, max = 9, doc = "an integer with bounds" },
    force = { type = "bool", doc = "a flag" },
    dir = { type = "path", doc = "an absolute path" },
    plan = { type = "enum", values = { "free", "paid" }, default = "free", doc = "one of a list" },
    token = { type = "string", secret = true, doc = "a secret" },
  },
  run = function(args)
    log.info(("%s %d %s %s %s"):format(tostring(args.name), args.count, tostring(args.force), tostring(args.dir), args.plan))
    log.info(args.token and "a token was given" or "no token")
  end,
}
