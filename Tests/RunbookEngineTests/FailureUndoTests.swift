// Acceptance 8 (failure path): on_failure = "undo" restores files and rows when a later
// step fails; with on_failure = "keep" the changes stay and `runbook undo` reverses them.

@testable import RunbookEngine
import RunbookTestKit
import Testing

@Suite("Failure path")
struct FailureUndoTests {
    @Test("on_failure = undo: a failing last step leaves the tree and the tables as they were")
    func automaticUndoRestoresEverything() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(onFailure: "undo", failAtEnd: true))
        var result: ChildResult?
        try expectUndoRestores(sandbox, "after the automatic undo") {
            result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--json"])
            return nil
        }
        let run = try #require(result)
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.events("effect_applied").count == Fixtures.changeEverythingEffectCount(), "everything was applied first\n\(run)")
        #expect(run.events("effect_undone").count == Fixtures.changeEverythingEffectCount(), "\(run)")
        #expect(run.events("run_failing").first?["error"]?.stringValue?.contains("verification failed on purpose") == true)
        let id = try #require(run.runID)
        #expect(try sandbox.status(of: id) == "undone")

        // Nothing is left to reverse.
        let again = try sandbox.runbook(["undo", id])
        #expect(again.exitCode == 2, "\(again)")
    }

    @Test("on_failure = keep: the changes stay, the message says how to undo, and undo does")
    func keepThenUndoByHand() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(onFailure: "keep", failAtEnd: true))
        // The run keeps its changes (expectUndoRestores checks the world changed), then
        // `runbook undo` reverses them.
        try expectUndoRestores(sandbox, "after runbook undo") {
            let result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
            #expect(result.exitCode == 1, "\(result)")
            let id = try #require(result.runID)
            #expect(result.stderr.contains("runbook undo \(id)"), "the failure tells the operator how to reverse it\n\(result)")
            #expect(try sandbox.status(of: id) == "failed")
            return id
        }
    }

    @Test("an irreversible effect is reported by undo, everything else is reversed")
    func irreversibleEffectIsReported() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(irreversible: true, onFailure: "keep", failAtEnd: true))
        // Every file and row is back except the audit line the irreversible statement added.
        let undone = try expectUndoRestores(sandbox, "after runbook undo", ignoring: ["table audit"]) {
            let result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
            #expect(result.exitCode == 1, "\(result)")
            let runToUndo = try #require(result.runID)
            return runToUndo
        }
        let undo = try #require(undone)
        #expect(undo.stdout.contains("INSERT INTO audit") && undo.stdout.contains("cannot be undone"), "\(undo)")
        let notes = try sandbox.db.query("SELECT note FROM audit ORDER BY id").compactMap { $0[0].string }
        #expect(notes == ["seeded", "changed everything"])
        #expect(try sandbox.db.count("sites") == 3)
    }
}
