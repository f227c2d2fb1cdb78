// History that answers questions (filters by runbook, status, argument and time) and
// logs that show one step, only the failures, or a run as it goes (--follow).

@testable import RunbookEngine
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("history filters and log views")
struct HistoryAndLogTests {
    static let rotate = """
        return runbook { summary = "rotate a config",
          params = { dir = { type = "path", required = true }, fail = { type = "bool", default = false } },
          run = function(args)
            step("Replace the config", function()
              fs.write(args.dir .. "/config.php", "new\\n")
              fs.mkdir(args.dir .. "/cache")
            end)
            step("Check", function()
              log.warn("checking the new config")
              if args.fail then error("the new config does not parse") end
            end)
          end }
        """

    func ids(_ result: ChildResult) -> [String] {
        result.stdoutLines.compactMap { try? JSON.parse($0) }.compactMap { $0["id"]?.stringValue }
    }

    @Test("history filters by runbook, status, argument value and start time; bad filters are refused")
    func historyFilters() throws {
        let sandbox = try Sandbox(runbook: "rotate", HistoryAndLogTests.rotate)
        let a = sandbox.tree + "/a", b = sandbox.tree + "/b"
        try Files.mkdir(a)
        try Files.mkdir(b)
        let succeeded = try #require(try sandbox.runbook(["run", "demo", "--dir", a, "--count", "1"]).runID)
        let planned = try #require(try sandbox.runbook(["run", "demo", "--dir", b, "--count", "1", "--dry-run"]).runID)
        let failed = try sandbox.runbook(["run", "rotate", "--dir", a, "--fail"])
        #expect(failed.exitCode == 1, "\(failed)")
        let failedID = try #require(failed.runID)

        func history(_ filters: [String]) throws -> Set<String> {
            let result = try sandbox.runbook(["history", "--json"] + filters)
            #expect(result.exitCode == 0, "\(filters)\n\(result)")
            return Set(ids(result))
        }
        #expect(try history([]) == [succeeded, planned, failedID])
        #expect(try history(["--runbook", "demo"]) == [succeeded, planned])
        #expect(try history(["--status", "planned"]) == [planned])
        #expect(try history(["--status", "failed,planned"]) == [planned, failedID])
        #expect(try history(["--status", "failed", "--status", "succeeded"]) == [succeeded, failedID])
        #expect(try history(["--arg", "dir=\(a)"]) == [succeeded, failedID])
        #expect(try history(["--arg", "dir=\(a)", "--runbook", "demo"]) == [succeeded])
        #expect(try history(["--arg", "count=1"]) == [succeeded, planned])
        #expect(try history(["--arg", "fail=true"]) == [failedID])
        #expect(try history(["--since", "1h"]) == [succeeded, planned, failedID])
        #expect(try history(["--until", "1h"]).isEmpty)
        #expect(try history(["--since", "2000-01-01", "--until", "2999-12-31T23:59"]).count == 3)
        #expect(try history(["--until", "2000-01-01T00:00:00Z"]).isEmpty)

        let none = try sandbox.runbook(["history", "--runbook", "nonesuch"])
        #expect(none.exitCode == 0 && none.stdout.contains("no run matches (3 runs in all"), "\(none)")

        for (filters, message) in [(["--status", "broken"], "unknown status 'broken'"), (["--arg", "dir"], "expected NAME=VALUE"),
                                   (["--since", "yesterday"], "expected a time like 2h"),
                                   (["--until", "2026-13-01"], "expected a time like 2h")]
        {
            let refused = try sandbox.runbook(["history"] + filters)
            #expect(refused.exitCode == 2 && refused.stderrLines.count == 1 && refused.stderr.contains(message), "\(filters)\n\(refused)")
        }
    }

    @Test("log --step shows one step; --failures only what went wrong and the undo to type")
    func logViews() throws {
        let sandbox = try Sandbox(runbook: "rotate", HistoryAndLogTests.rotate)
        let failed = try sandbox.runbook(["run", "rotate", "--dir", sandbox.tree, "--fail"])
        #expect(failed.exitCode == 1, "\(failed)")
        let id = try #require(failed.runID)
        #expect(failed.stderr.contains("Details: runbook log \(id) --failures   Reverse them: runbook undo \(id)"), "\(failed)")

        let step = try sandbox.runbook(["log", id, "--step", "Check"])
        #expect(step.exitCode == 0, "\(step)")
        #expect(step.stdout.contains("▶ Check") && step.stdout.contains("warn: checking the new config"), "\(step)")
        #expect(!step.stdout.contains("Replace the config") && !step.stdout.contains("write "), "only that step\n\(step)")

        let failures = try sandbox.runbook(["log", id, "--failures"])
        #expect(failures.exitCode == 0, "\(failures)")
        #expect(failures.stdout.contains("✘ Check failed after") && failures.stdout.contains("the new config does not parse"))
        #expect(failures.stdout.contains("warn: checking the new config"), "warnings are shown\n\(failures)")
        #expect(!failures.stdout.contains("▶ ") && !failures.stdout.contains("+ create directory"), "\(failures)")
        #expect(failures.stdout.contains("2 effects are still applied. Reverse: runbook undo \(id)"), "\(failures)")

        let noStep = try sandbox.runbook(["log", id, "--step", "Nope"])
        #expect(noStep.exitCode == 2 && noStep.stderr.contains("has no step 'Nope' (its steps: 'Replace the config', 'Check')"),
                "\(noStep)")

        // After the undo, nothing is left to reverse: no hint.
        #expect(try sandbox.runbook(["undo", id]).exitCode == 0)
        let after = try sandbox.runbook(["log", id, "--failures"])
        #expect(!after.stdout.contains("Reverse: runbook undo"), "\(after)")
        #expect(after.stdout.contains("status: undone"), "\(after)")
    }

    @Test("log --follow prints a run in progress from another process until it ends")
    func follow() throws {
        let sandbox = try Sandbox(runbook: "loop", ProgressTests.loop)
        let run = try sandbox.start(["run", "loop", "--work", "2000000", "--json"])
        #expect(run.waitForOutput("\"run_started\""), "the run started")
        let id = try #require(run.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }.first?["run"]?.stringValue)
        #expect(try sandbox.status(of: id) == "running", "the run is still going when the follower starts")
        let follower = try sandbox.start(["log", id, "--follow"])
        let followed = follower.wait(timeout: 120)
        let result = run.wait(timeout: 120)
        #expect(result.exitCode == 0, "\(result)")
        #expect(followed.exitCode == 0, "\(followed)")
        #expect(followed.stdout.contains("▶ Update every install"), "\(followed)")
        #expect(followed.stdout.contains("✔ Update every install"), "it saw the step end\n\(followed)")
        #expect(followed.stdout.contains("finished: succeeded") && followed.stdout.hasSuffix("status: succeeded\n"), "\(followed)")

        // A finished run: --follow prints it and returns.
        let again = try sandbox.runbook(["log", id, "--follow"], timeout: 10)
        #expect(again.exitCode == 0 && again.stdout.contains("finished: succeeded"), "\(again)")
    }

    static let linkThenWork = """
        return runbook { summary = "a link, then long work",
          params = { dir = { type = "path", required = true }, work = { type = "int", default = 3000000 } },
          run = function(args)
            step("Link", function()
              fs.mkdir(args.dir .. "/site")
              fs.symlink("/srv/shared", args.dir .. "/site/lib")
            end)
            step("Work", function()
              local x = 0
              for j = 1, args.work do x = x + j % 7 end
              log.info("checksum", x % 10)
            end)
          end }
        """

    @Test("log and log --follow show a real run's effects once each, and an undo's lines with the effects' summaries")
    func effectsAndUndoInTheLog() throws {
        let sandbox = try Sandbox(runbook: "link", HistoryAndLogTests.linkThenWork)
        let run = try sandbox.start(["run", "link", "--dir", sandbox.tree, "--json"])
        #expect(run.waitForOutput("\"step_started\""), "the run started")
        let id = try #require(run.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }.first?["run"]?.stringValue)
        let follower = try sandbox.start(["log", id, "--follow"])
        let followed = follower.wait(timeout: 120)
        #expect(run.wait(timeout: 120).exitCode == 0)
        let created = "+ create directory \(sandbox.tree)/site", linked = "+ link \(sandbox.tree)/site/lib -> /srv/shared"
        for text in [followed.stdout, try sandbox.runbook(["log", id]).stdout] {
            #expect(text.components(separatedBy: created).count == 2 && text.components(separatedBy: linked).count == 2, "\(text)")
            #expect(!text.contains("interrupted"), "\(text)")
        }

        #expect(try sandbox.runbook(["undo", id]).exitCode == 0)
        let log = try sandbox.runbook(["log", id]).stdout
        for summary in ["link \(sandbox.tree)/site/lib -> /srv/shared", "create directory \(sandbox.tree)/site"] {
            #expect(log.components(separatedBy: "↺ undone: " + summary + "\n").count == 2, "\(log)")
        }
        #expect(log.contains("undo finished: 2 reversed, 0 failed"), "\(log)")
    }

    @Test("a journal written before the effect and undo events left it still reads once per effect")
    func olderJournalUndoLines() {
        func record(_ type: String, _ seq: Int64, _ more: [(String, JSON)] = []) -> JSON {
            .object([("t", .string(type)), ("at", .string("2026-11-30T10:00:00.000Z")), ("seq", .int(seq))] + more)
        }
        // Before 2026-12-02 a real run's journal also held each effect's event after its records.
        let records: [JSON] = [
            record("intent", 1, [("sign", .string("+")), ("summary", .string("create directory /a"))]),
            record("applied", 1),
            record("effect_applied", 1, [("sign", .string("+")), ("summary", .string("create directory /a"))]),
            record("intent", 2, [("sign", .string("+")), ("summary", .string("write /a/f (3 bytes)"))]),
            record("applied", 2),
            record("effect_applied", 2, [("sign", .string("+")), ("summary", .string("write /a/f (3 bytes)"))]),
            record("intent", 3, [("sign", .string("~")), ("summary", .string("change /a/g (1 bytes)"))]),
            record("effect_failed", 3, [("error", .string("disk full"))]),
            record("undo_failed", 2, [("error", .string("it changed"))]),
            record("undo_failed", 2, [("summary", .string("write /a/f (3 bytes)")), ("error", .string("it changed"))]),
            record("undone", 1),
            record("effect_undone", 1, [("summary", .string("create directory /a"))]),
        ]
        let lines = LogRenderer.lines(records)
        #expect(lines.filter { $0.contains("+ create directory /a") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.contains("+ write /a/f (3 bytes)") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.hasSuffix("~ change /a/g (1 bytes)  (failed)") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.contains("↺ could not undo: write /a/f (3 bytes): it changed") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.contains("↺ undone: create directory /a") }.count == 1, "\(lines)")
        #expect(lines.count == 5, "\(lines)")
    }
}
