// Acceptance 4: SIGTERM during a run. The runbook creates something, registers a cleanup
// hook that writes a marker, then loops forever; SIGTERM ends it with exit 130, the cleanup
// ran, and with on_failure = "undo" what it created is gone.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Interrupts")
struct InterruptTests {
    static func spinner(onFailure: String) -> String {
        """
        return runbook {
          summary = "Creates a site, then spins until it is interrupted",
          params = {
            dir = { type = "path", required = true },
            marker = { type = "path", required = true },
          },
          on_failure = "\(onFailure)",
          run = function(args)
            step("Create", function()
              fs.mkdir(args.dir .. "/site/conf")
              fs.write(args.dir .. "/site/conf/site.ini", "created\\n")
              fs.write(args.dir .. "/existing.txt", "changed by the interrupted run\\n")
            end)
            cleanup(function() fs.write(args.marker, "cleanup ran\\n") end)
            step("Spin", function()
              log.info("spinning now")
              local n = 0
              while true do n = n + 1 end
            end)
          end,
        }
        """
    }

    @Test("SIGTERM: exit 130, cleanup hooks run, on_failure = undo removes what was created",
          arguments: ["undo", "keep"])
    func sigtermRunsCleanupAndUndo(onFailure: String) throws {
        let sandbox = try Sandbox()
        try Files.write(sandbox.tree + "/existing.txt", "original\n")
        try sandbox.addRunbook("spin", InterruptTests.spinner(onFailure: onFailure))
        let marker = sandbox.base + "/marker"

        /// Starts the run, waits for its endless loop, sends SIGTERM and checks how it ended.
        func interrupt() throws -> (result: ChildResult, id: String) {
            let child = try sandbox.start(["run", "spin", "--dir", sandbox.tree, "--marker", marker, "--json"])
            #expect(child.waitForOutput("spinning now"), "the run never reached its endless loop\n\(child.wait(timeout: 1))")
            #expect(Files.exists(sandbox.tree + "/site/conf/site.ini"), "the first step created its files")
            child.send(SIGTERM)
            let result = child.wait(timeout: 20)

            #expect(!result.timedOut, "SIGTERM did not stop the run\n\(result)")
            #expect(result.exitCode == 130, "\(result)")
            #expect(Files.read(marker) == "cleanup ran\n", "the cleanup hook ran\n\(result)")
            let id = try #require(result.runID)
            // History says it was interrupted (the cleanup hook's marker is a change made after
            // the automatic undo, so the run is not "undone").
            #expect(try sandbox.status(of: id) == "interrupted")
            return (result, id)
        }

        var interrupted: (result: ChildResult, id: String)?
        if onFailure == "undo" {
            try expectUndoRestores(sandbox, "after SIGTERM with on_failure = undo") {
                interrupted = try interrupt()
                #expect(!Files.exists(sandbox.tree + "/site"))
                return nil  // the run has undone itself
            }
            // What the cleanup hook wrote (outside the tree) is journaled too: undo reverses it.
            let id = try #require(interrupted?.id)
            let undo = try expectUnchanged(sandbox, "after undo of the interrupted run") { try sandbox.undo(id) }
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(!Files.exists(marker), "undo removes the marker the cleanup hook wrote\n\(undo)")
        } else {
            // What was kept can still be undone by hand.
            try expectUndoRestores(sandbox, "after undo of the interrupted run") {
                interrupted = try interrupt()
                #expect(Files.read(sandbox.tree + "/site/conf/site.ini") == "created\n", "on_failure = keep keeps what was created")
                return interrupted?.id
            }
        }
        let result = try #require(interrupted?.result)
        let finished = result.events("run_finished").first
        #expect(finished?["exit"]?.intValue == 130, "\(result)")
    }

    @Test("SIGINT behaves like SIGTERM")
    func sigintIsAnInterrupt() throws {
        let sandbox = try Sandbox()
        try Files.write(sandbox.tree + "/existing.txt", "original\n")
        try sandbox.addRunbook("spin", InterruptTests.spinner(onFailure: "undo"))
        let marker = sandbox.base + "/marker"

        try expectUndoRestores(sandbox, "after SIGINT with on_failure = undo") {
            let child = try sandbox.start(["run", "spin", "--dir", sandbox.tree, "--marker", marker])
            #expect(child.waitForOutput("spinning now"), "the run never reached its endless loop\n\(child.wait(timeout: 1))")
            child.send(SIGINT)
            let result = child.wait(timeout: 20)
            #expect(result.exitCode == 130, "\(result)")
            #expect(Files.exists(marker), "the cleanup hook ran")
            return nil  // the run has undone itself
        }
    }

    /// Places where a runbook catches the interrupt's error and spins again: the interrupt
    /// still ends the run (an xpcall handler, too: Lua runs it with hooks off when the error
    /// came from one).
    static let catchers = [
        "while true do pcall(function() while true do end end) end",
        "xpcall(function() while true do end end, function() while true do end end)",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    ]

    @Test("SIGTERM ends a run that catches the interrupt, and its cleanup hooks run", arguments: catchers)
    func caughtInterruptEndsTheRun(catcher: String) throws {
        let sandbox = try Sandbox(runbook: "spin", """
            return runbook {
              summary = "Catches the interrupt and spins again",
              params = { marker = { type = "path", required = true } },
              run = function(args)
                cleanup(function() fs.write(args.marker, "cleanup ran\\n") end)
                log.info("spinning now")
                \(catcher)
              end,
            }
            """)
        let marker = sandbox.base + "/marker"
        let child = try sandbox.start(["run", "spin", "--marker", marker])
        #expect(child.waitForOutput("spinning now"), "\(child.wait(timeout: 1))")
        usleep(100_000)
        child.send(SIGTERM)
        let result = child.wait(timeout: 10)
        #expect(!result.timedOut, "SIGTERM did not stop the run: \(catcher)\n\(result)")
        #expect(result.exitCode == 130, "\(result)")
        #expect(Files.read(marker) == "cleanup ran\n", "the cleanup hook ran\n\(result)")
    }
}
