-- The sandbox has no io, os, debug or package: a runbook reaches the world only through the engine.
return runbook {
  summary = "Report what the Lua sandbox leaves out (test)",
  run = function(args)
    for _, name in ipairs({ "io", "os", "debug", "package", "dofile", "loadfile" }) do
      log.info(name .. ": " .. (rawget(_G, name) == nil and "absent" or "present"))
    end
  end,
}
