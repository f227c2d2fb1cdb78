return runbook {
  summary = "A missing comma (test)"
  run = function(args) end,
}
