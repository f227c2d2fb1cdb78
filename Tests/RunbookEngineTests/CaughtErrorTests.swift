// What a runbook may catch and what it may not: pcall, xpcall and coroutines keep working
// for its own errors, and the run's vocabulary (step, cleanup, finally, lock, effects)
// works inside a coroutine exactly as outside it, or refuses with one line.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Errors a runbook catches")
struct CaughtErrorTests {
    @Test("pcall, xpcall and coroutine.resume still catch a runbook's ordinary errors")
    func ordinaryErrorsAreCaught() throws {
        let sandbox = try Sandbox(runbook: "catches", """
            return runbook {
              summary = "Catches its own errors and goes on",
              params = { dir = { type = "path", required = true } },
              run = function(args)
                local function say(what, ok, problem) log.info(what .. ": " .. tostring(ok) .. " " .. tostring(problem)) end
                say("error", pcall(error, "plain error", 0))
                say("bad argument", pcall(fs.mkdir, 42))
                say("xpcall", xpcall(function() error("in xpcall", 0) end, function(m) return "handled " .. m end))
                say("xpcall args", xpcall(function(a, b) return a + b end, function(m) return m end, 2, 3))
                say("resume", coroutine.resume(coroutine.create(function() error("in a coroutine", 0) end)))
                say("failed step", pcall(step, "Fails", function() error("the step's own error", 0) end))
                step("Afterwards", function() fs.mkdir(args.dir .. "/after") end)
              end,
            }
            """)
        let result = try sandbox.runbook(["run", "catches", "--dir", sandbox.tree])
        #expect(result.exitCode == 0, "\(result)")
        let output = result.stdout + result.stderr
        for line in ["error: false plain error", "bad argument: false", "bad argument #1 to 'fs.mkdir'",
                     "xpcall: false handled in xpcall", "xpcall args: true 5", "resume: false in a coroutine",
                     "failed step: false the step's own error", "✘ Fails", "✔ Afterwards"] {
            #expect(output.contains(line), "\(line)\n\(result)")
        }
        #expect(Files.exists(sandbox.tree + "/after"))
    }

    @Test("step, lock, cleanup, finally and effects inside a coroutine work as outside it")
    func theRunVocabularyWorksInACoroutine() throws {
        let sandbox = try Sandbox(runbook: "coroutines", """
            return runbook {
              summary = "Does its work from coroutines",
              params = { dir = { type = "path", required = true } },
              run = function(args)
                coroutine.wrap(function()
                  lock("in-a-coroutine")
                  finally(function() fs.write(args.dir .. "/finally-ran", "yes\\n") end)
                  step("Inside a coroutine", function()
                    fs.mkdir(args.dir .. "/made-in-a-coroutine")
                    step("Nested", function() fs.mkdir(args.dir .. "/made-in-a-coroutine/nested") end)
                  end)
                end)()
                local worker = coroutine.create(function(name)
                  local next_name = coroutine.yield("ready")
                  step("Resumed", function() fs.mkdir(args.dir .. "/" .. name .. "-" .. next_name) end)
                  return "finished"
                end)
                local _, ready = coroutine.resume(worker, "first")
                local _, finished = coroutine.resume(worker, "second")
                log.info("worker said " .. ready .. ", then " .. finished)
              end,
            }
            """)
        let result = try sandbox.runbook(["run", "coroutines", "--dir", sandbox.tree])
        #expect(result.exitCode == 0, "\(result)")
        #expect(Files.exists(sandbox.tree + "/made-in-a-coroutine/nested"), "\(result)")
        #expect(Files.exists(sandbox.tree + "/first-second"), "\(result)")
        #expect(Files.read(sandbox.tree + "/finally-ran") == "yes\n", "\(result)")
        let output = result.stdout + result.stderr
        #expect(output.contains("✔ Inside a coroutine"), "\(result)")
        #expect(output.contains("worker said ready, then finished"), "\(result)")
        #expect(output.contains("4 effects applied"), "\(result)")
    }

    @Test("a step whose function yields refuses with one line, and shows no check mark")
    func aYieldingStepRefuses() throws {
        let sandbox = try Sandbox(runbook: "yields", """
            return runbook {
              summary = "Yields from inside a step",
              params = { dir = { type = "path", required = true } },
              run = function(args)
                coroutine.wrap(function()
                  step("Yields", function()
                    coroutine.yield()
                    fs.mkdir(args.dir .. "/after-the-yield")
                  end)
                end)()
              end,
            }
            """)
        let result = try sandbox.runbook(["run", "yields", "--dir", sandbox.tree])
        #expect(result.exitCode == 1, "\(result)")
        let output = result.stdout + result.stderr
        #expect(!output.contains("✔ Yields"), "\(result)")
        #expect(output.contains("✘ Yields"), "\(result)")
        #expect(output.contains("coroutine.yield"), "the message says what was refused\n\(result)")
        #expect(try Posix.list(sandbox.tree).isEmpty)
    }
}
