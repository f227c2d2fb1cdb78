return runbook {
  summary = "A misspelt declaration field (test)",
  parms = { dir = { type = "path" } },
  run = function(args) end,
}
