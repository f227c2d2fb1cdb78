fs.mkdir("/tmp/docs-toplevel")
return runbook {
  summary = "An effect outside run (test)",
  run = function(args) end,
}
