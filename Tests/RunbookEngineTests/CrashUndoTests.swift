// Acceptance 3: crash safety. For every effect k of a multi-step runbook with file and DB
// effects, the binary SIGKILLs itself right after effect k is journaled
// (RUNBOOK_CRASH_AFTER_EFFECT=k); history shows the run "crashed"; `runbook undo RUN_ID`
// brings the tree and every table back exactly; a second undo is refused (exit 2).

@testable import RunbookEngine
import RunbookJournal
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Crash safety")
struct CrashUndoTests {
    @Test("after a SIGKILL at every effect, undo restores the tree and the tables exactly")
    func undoAfterCrashAtEveryEffect() throws {
        let sandbox = try Sandbox(database: true, runbook: "everything", Fixtures.changeEverything())
        let database = try sandbox.db

        // Learn the effect count from a dry-run on the seeded world.
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(database)
        let plan = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--dry-run", "--json"])
        let effectCount = plan.events("effect_planned").count
        #expect(effectCount == Fixtures.changeEverythingEffectCount(), "\(plan)")
        #expect(effectCount > 0)

        for k in 1...max(1, effectCount) {
            // A fresh world for every k: the same tree at a new path, the same rows.
            let tree = sandbox.base + "/crash-\(k)"
            try Fixtures.seedTree(tree)
            try database.run("DROP TABLE IF EXISTS sites, site_ips, counters, audit;\n")
            try Fixtures.seedDatabase(database)
            let world = sandbox.world(tree: tree)
            var id = ""
            try expectUndoRestores(world, "k=\(k): after undo") {
                let crashed = try sandbox.runbook(["run", "everything", "--dir", tree, "--json"],
                                                  environment: ["RUNBOOK_CRASH_AFTER_EFFECT": String(k)])
                #expect(crashed.signal == SIGKILL, "k=\(k): the run should have been killed after effect \(k)\n\(crashed)")
                id = try #require(crashed.runID, "k=\(k): no run id\n\(crashed)")
                // The kill came right after the k-th effect: the journal holds its intent and the
                // outcomes of the ones before; its own outcome only if it was written at once (an
                // outcome waits for the next record, up to 0.2 s, and a crash loses it).
                let journal = try JournalReader.records(sandbox.runsDirectory + "/\(id)/journal.jsonl")
                let applied = journal.filter { $0["t"]?.stringValue == "applied" }.compactMap { $0["seq"]?.intValue }
                let intents = journal.filter { $0["t"]?.stringValue == "intent" }.compactMap { $0["seq"]?.intValue }
                #expect(intents == (1...k).map(Int64.init), "k=\(k): intents in the journal: \(intents)")
                #expect(applied == (1...k).map(Int64.init) || applied == (1..<k).map(Int64.init),
                        "k=\(k): applied effects in the journal: \(applied)")
                #expect(try sandbox.status(of: id) == "crashed", "k=\(k): history shows the run as crashed")
                return id
            }
            #expect(try sandbox.status(of: id) == "undone", "k=\(k)")

            let again = try expectUnchanged(world, "k=\(k): after the refused second undo") { try sandbox.runbook(["undo", id]) }
            #expect(again.exitCode == 2, "k=\(k): a second undo is refused\n\(again)")
            #expect(again.stderr.contains("already undone"), "k=\(k)\n\(again)")
        }
    }
}
