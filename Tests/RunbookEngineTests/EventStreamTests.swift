// `--json`: one JSON object per line for every event, each with the schema version, and
// no other byte on stdout — for a run that succeeds, one that fails and undoes itself, an
// undo, and an invocation that never starts a run. Every event type seen is documented
// in docs/events.md.

@testable import RunbookEngine
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("--json event stream")
struct EventStreamTests {
    static let failing = """
        return runbook { summary = "makes two folders, then fails", on_failure = "undo",
          params = { dir = { type = "path", required = true }, count = { type = "int", default = 3 } },
          run = function(args)
            step("Make", function()
              for i = 1, args.count do fs.mkdir(args.dir .. "/n" .. i); progress(i, args.count) end
              log.info("made", args.count)
            end)
            step("Check", function() error("the check failed") end)
          end }
        """

    static let kept = """
        return runbook { summary = "makes a folder and fails, keeping it", on_failure = "keep",
          params = { dir = { type = "path", required = true } },
          run = function(args)
            step("Make", function() fs.mkdir(args.dir .. "/kept") end)
            finally(function() end)
            error("stop here")
          end }
        """

    /// Every stdout line is a JSON object with an event name and v = 1; returns them.
    @discardableResult
    func expectOnlyEvents(_ result: ChildResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> [JSON] {
        var events: [JSON] = []
        for line in result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let event = try? JSON.parse(String(line))
            #expect(event?["event"]?.stringValue != nil && event?["v"]?.intValue == RunOutput.schemaVersion,
                    "\(what): a stdout line that is not a v1 event: \(line)", sourceLocation: sourceLocation)
            if let event { events.append(event) }
        }
        #expect(result.stdout.isEmpty || result.stdout.hasSuffix("}\n"), "\(what): stdout ends mid-line\n\(result)",
                sourceLocation: sourceLocation)
        #expect(result.stderr.isEmpty, "\(what): --json writes nothing to stderr\n\(result)", sourceLocation: sourceLocation)
        #expect(events.last?["event"]?.stringValue == (what.hasPrefix("undo") ? "undo_finished" : "run_finished"),
                "\(what): the stream ends with its last event\n\(result)", sourceLocation: sourceLocation)
        return events
    }

    @Test("runs that succeed, fail and undo, an undo, and refused invocations print only versioned events")
    func onlyEventsOnStdout() throws {
        let sandbox = try Sandbox(runbook: "failing", EventStreamTests.failing)
        try sandbox.addRunbook("kept", EventStreamTests.kept)
        var seen = Set<String>()

        let ok = try sandbox.runbook(["run", "demo", "--dir", sandbox.tree + "/demo", "--count", "3", "--json"])
        #expect(ok.exitCode == 0, "\(ok)")
        let okEvents = expectOnlyEvents(ok, "a run that succeeds")
        #expect(okEvents.first?["event"]?.stringValue == "run_started")
        #expect(okEvents.last?["status"]?.stringValue == "succeeded" && okEvents.last?["exit"]?.intValue == 0)
        #expect(ok.events("progress").last?["done"]?.intValue == 3 && ok.events("progress").last?["total"]?.intValue == 3)
        okEvents.forEach { seen.insert($0["event"]!.stringValue!) }

        let dry = try sandbox.runbook(["run", "demo", "--dir", sandbox.tree + "/plan", "--dry-run", "--json",
                                       "--save-plan", sandbox.base + "/plan.json"])
        expectOnlyEvents(dry, "a dry-run").forEach { seen.insert($0["event"]!.stringValue!) }

        let failed = try sandbox.runbook(["run", "failing", "--dir", sandbox.tree, "--json"])
        #expect(failed.exitCode == 1, "\(failed)")
        let failedEvents = expectOnlyEvents(failed, "a run that fails and undoes itself")
        #expect(failed.events("effect_undone").count == 3, "\(failed)")
        #expect(failedEvents.last?["status"]?.stringValue == "undone" && failedEvents.last?["exit"]?.intValue == 1)
        #expect(failedEvents.last?["error"]?.stringValue?.contains("the check failed") == true)
        failedEvents.forEach { seen.insert($0["event"]!.stringValue!) }

        let keptRun = try sandbox.runbook(["run", "kept", "--dir", sandbox.tree, "--json"])
        #expect(keptRun.exitCode == 1, "\(keptRun)")
        expectOnlyEvents(keptRun, "a run that fails and keeps its changes").forEach { seen.insert($0["event"]!.stringValue!) }
        let undo = try sandbox.runbook(["undo", try #require(keptRun.runID), "--json"])
        #expect(undo.exitCode == 0, "\(undo)")
        let undoEvents = expectOnlyEvents(undo, "undo")
        #expect(undoEvents.first?["event"]?.stringValue == "undo_started" && undo.events("effect_undone").count == 1)
        undoEvents.forEach { seen.insert($0["event"]!.stringValue!) }
        #expect(!Files.exists(sandbox.tree + "/kept"))

        for (arguments, what) in [(["run", "nonesuch", "--json"], "an unknown runbook"),
                                  (["run", "demo", "--count", "x", "--json"], "a bad argument"),
                                  (["run", "demo", "--dir", "/x", "--json", "--config", sandbox.base + "/missing.toml"],
                                   "a missing configuration file")]
        {
            let refused = try sandbox.runbook(arguments)
            #expect(refused.exitCode == 2, "\(what)\n\(refused)")
            #expect(refused.stdoutLines.count == 1 && refused.stderr.isEmpty, "\(what): one event, nothing else\n\(refused)")
            let event = try JSON.parse(refused.stdout)
            #expect(event["event"]?.stringValue == "run_finished" && event["status"]?.stringValue == "invalid"
                    && event["exit"]?.intValue == 2 && event["v"]?.intValue == 1, "\(what)\n\(refused)")
        }

        // The documented schema lists every event that was seen.
        let documented = try #require(Files.read(ProjectDirectory.path + "/docs/events.md"))
        for type in seen.sorted() {
            #expect(documented.contains("### `\(type)`"), "docs/events.md does not document the event '\(type)'")
        }
        #expect(seen.isSuperset(of: ["run_started", "step_started", "effect_applied", "effect_planned", "effect_undone",
                                     "progress", "step_finished", "run_finished", "run_failing", "undo_started",
                                     "undo_finished", "plan_saved", "log", "hook_ran"]), "\(seen.sorted())")
    }
}

