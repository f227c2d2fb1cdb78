// Errors that teach: each names what failed and the command to type next.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Errors that teach")
struct ErrorHintTests {
    @Test("mistyped subcommands, runbooks and arguments point to the command that helps")
    func invocationErrors() throws {
        let sandbox = try Sandbox()
        let cases: [([String], [String])] = [
            (["hsitory"], ["'hsitory' is not a runbook subcommand", "did you mean history?", "see `runbook --help`"]),
            (["demo"], ["to run the runbook: runbook run demo"]),
            (["run", "dmeo"], ["no runbook named 'dmeo'", "did you mean demo?"]),
            (["run", "nonesuch"], ["no runbook named 'nonesuch'", "see `runbook list`"]),
            (["run", "demo"], ["missing required argument --dir", "see `runbook describe demo`"]),
            (["run", "demo", "--dir", sandbox.tree, "--count", "0"], ["--count: must be at least 1", "see `runbook describe demo`"]),
            (["run", "demo", "--lock-timeout", "soon", "--dir", sandbox.tree], ["'soon'", "see `runbook run --help`"]),
            (["log", "20260101-000000-abcdef"], ["no run '20260101-000000-abcdef'", "see `runbook history`"]),
        ]
        for (arguments, parts) in cases {
            let result = try sandbox.runbook(arguments)
            #expect(result.exitCode == 2, "\(arguments)\n\(result)")
            #expect(result.stderrLines.count == 1, "one line\n\(result)")
            for part in parts { #expect(result.stderr.contains(part), "\(arguments): '\(part)' missing\n\(result)") }
        }
        #expect(sandbox.runIDs().isEmpty, "no refused invocation started a run")
    }

    @Test("a held lock names its holder and --lock-timeout; undo of a running run points to log --follow")
    func lockAndRunningRun() throws {
        let sandbox = try Sandbox(runbook: "locker", """
            return runbook { summary = "holds site:one a while", params = { work = { type = "int", default = 3000000 } },
              locks = function(args) return { "site:one" } end,
              run = function(args)
                step("Hold", function()
                  local x = 0
                  for i = 1, 100 do for j = 1, args.work do x = x + j % 7 end progress(i, 100) end
                end)
              end }
            """)
        let holder = try sandbox.start(["run", "locker", "--json"])
        #expect(holder.waitForOutput("\"step_started\""), "the first run holds the lock")
        let holderID = try #require(holder.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
            .first?["run"]?.stringValue)

        let second = try sandbox.runbook(["run", "locker"])
        #expect(second.exitCode == 3, "\(second)")
        #expect(second.stderr.contains("lock 'site:one' is held by run \(holderID)"), "names the holder\n\(second)")
        #expect(second.stderr.contains("run again with --lock-timeout SECONDS"), "\(second)")

        let undo = try sandbox.runbook(["undo", holderID])
        #expect(undo.exitCode == 2 && undo.stderr.contains("is still running") && undo.stderr.contains("runbook log \(holderID) --follow"),
                "\(undo)")
        holder.send(SIGTERM)
        #expect(holder.wait(timeout: 60).exitCode == 130)
    }
}
