// Write-ahead means an effect the journal does not hold is never applied: when the journal
// cannot take an intent (a full disk, a file size limit, an I/O error) the run stops right
// there, says why, and what it applied before can still be undone from the journal.

@testable import RunbookEngine
import RunbookJournal
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("A journal that cannot be written")
struct JournalFailureTests {
    static let runbook = """
        return runbook {
          summary = "A hundred directories, one effect each",
          params = { dir = { type = "path", required = true } },
          run = function(args)
            step("Make", function()
              for i = 1, 100 do fs.mkdir(args.dir .. "/d_" .. i) end
            end)
          end,
        }
        """

    @Test("the run stops before the first effect whose intent the journal cannot take; undo takes back the others")
    func aJournalThatCannotGrowStopsTheRun() throws {
        let sandbox = try Sandbox(runbook: "many", Self.runbook)
        // A file size limit (RLIMIT_FSIZE, util-linux's prlimit) of 8 KiB: the journal reaches
        // it after a few tens of effects; the state dir's other files stay far below it.
        let prlimit = "/usr/bin/prlimit"
        try #require(Posix.lstatInfo(prlimit) != nil, "prlimit (util-linux) is needed")
        func underTheLimit(_ arguments: [String], output name: String) throws -> ChildResult {
            try ChildProcess(executable: prlimit, arguments: ["--fsize=8192", "--", try RunbookBinary.require()] + sandbox.engineOptions + scripted(arguments),
                             environment: sandbox.environment([:]),
                             stdoutPath: sandbox.base + "/out/\(name).stdout", stderrPath: sandbox.base + "/out/\(name).stderr")
                .wait(timeout: 30)
        }
        let result = try underTheLimit(["run", "many", "--dir", sandbox.tree], output: "run")
        #expect(result.exitCode == 1, "a failed run, not a killed one (SIGXFSZ)\n\(result)")
        let output = result.stdout + result.stderr
        #expect(output.contains("the run's journal cannot record it") && output.contains("File too large"), "\(result)")

        let made = try Posix.list(sandbox.tree).count
        #expect(made > 0 && made < 100, "\(made) directories made")
        #expect(Posix.lstatInfo(sandbox.tree + "/d_\(made + 1)") == nil, "the directory whose intent was lost is not made")
        // Every directory made has its intent in the journal (the torn last line is ignored).
        let id = try #require(sandbox.runIDs().first)
        let records = try JournalReader.records(sandbox.runsDirectory + "/\(id)/journal.jsonl")
        #expect(records.filter { $0["t"]?.stringValue == "intent" }.count == made)

        // Undo under the same limit takes every one back: the limit fails its journal's
        // writes (undo steps can be run again) instead of killing it (SIGXFSZ).
        let undone = try underTheLimit(["undo", id], output: "undo")
        #expect(undone.exitCode == 0, "\(undone)")
        #expect(try Posix.list(sandbox.tree).isEmpty)
    }

    /// The first journal failure ends the run: a runbook that catches it (pcall around each
    /// effect) is not let go on with effects the journal cannot take, and its failure path
    /// (cleanup hooks, the automatic undo it asked for) still runs.
    static func catcher(onFailure: String) -> String {
        """
        return runbook {
          summary = "Two hundred directories, each fs.mkdir under pcall",
          params = { dir = { type = "path", required = true } },
          on_failure = "\(onFailure)",
          run = function(args)
            cleanup(function(problem) log.info("cleanup saw: " .. problem) end)
            step("Make", function()
              for i = 1, 200 do pcall(fs.mkdir, args.dir .. "/d_" .. i) end
            end)
            log.info("carried on after the journal failed")
          end,
        }
        """
    }

    @Test("a journal failure caught with pcall still ends the run, and its failure path runs", arguments: ["keep", "undo"])
    func caughtJournalFailureEndsTheRun(onFailure: String) throws {
        let sandbox = try Sandbox(runbook: "catcher", Self.catcher(onFailure: onFailure))
        let prlimit = "/usr/bin/prlimit"
        try #require(Posix.lstatInfo(prlimit) != nil, "prlimit (util-linux) is needed")
        let result = try ChildProcess(executable: prlimit, arguments: ["--fsize=8192", "--", try RunbookBinary.require()] + sandbox.engineOptions
                                          + ["run", "catcher", "--dir", sandbox.tree, "--yes"],
                                      environment: sandbox.environment([:]),
                                      stdoutPath: sandbox.base + "/out/run.stdout", stderrPath: sandbox.base + "/out/run.stderr")
            .wait(timeout: 30)
        let output = result.stdout + result.stderr
        #expect(result.exitCode == 1, "\(result)")
        #expect(output.contains("the run's journal cannot record it"), "\(result)")
        #expect(output.contains("cleanup saw: ") , "the cleanup hook ran\n\(result)")
        #expect(!output.contains("carried on after the journal failed"), "\(result)")
        #expect(!output.contains("✔ Make"), "no check mark over a step that failed\n\(result)")
        let id = try #require(sandbox.runIDs().first)
        let records = try JournalReader.records(sandbox.runsDirectory + "/\(id)/journal.jsonl")
        let intents = records.filter { $0["t"]?.stringValue == "intent" }.count
        #expect(intents > 0 && intents < 200, "\(intents) intents")
        if onFailure == "undo" {
            #expect(try Posix.list(sandbox.tree).isEmpty, "the automatic undo took back what was made")
            #expect(try sandbox.status(of: id) == "undone")
        } else {
            // Nothing was made after the first intent the journal could not take.
            #expect(try Posix.list(sandbox.tree).count == intents)
            #expect(try sandbox.status(of: id) == "failed")
        }
    }
}
