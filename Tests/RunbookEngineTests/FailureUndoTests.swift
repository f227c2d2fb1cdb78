// Acceptance 8 (failure path): on_failure = "undo" restores files and rows when a later
// step fails; with on_failure = "keep" the changes stay and `runbook undo` reverses them.

import Testing
@testable import RunbookEngine
import RunbookTestKit

@Suite("Failure path")
struct FailureUndoTests {
    @Test("on_failure = undo: a failing last step leaves the tree and the tables as they were")
    func automaticUndoRestoresEverything() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(onFailure: "undo", failAtEnd: true))
        let treeBefore = TreeFingerprint(sandbox.tree)
        let rowsBefore = try sandbox.db.dump()

        let result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--json"])
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.events("effect_applied").count == Fixtures.changeEverythingEffectCount(), "everything was applied first\n\(result)")
        #expect(result.events("effect_undone").count == Fixtures.changeEverythingEffectCount(), "\(result)")
        #expect(result.events("run_failing").first?["error"]?.stringValue?.contains("verification failed on purpose") == true)
        expectSameTree(treeBefore, TreeFingerprint(sandbox.tree), "after the automatic undo")
        expectSameRows(rowsBefore, try sandbox.db.dump(), "after the automatic undo")
        let id = try #require(result.runID)
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
        let treeBefore = TreeFingerprint(sandbox.tree)
        let rowsBefore = try sandbox.db.dump()

        let result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
        #expect(result.exitCode == 1, "\(result)")
        let id = try #require(result.runID)
        #expect(result.stderr.contains("runbook undo \(id)"), "the failure tells the operator how to reverse it\n\(result)")
        #expect(TreeFingerprint(sandbox.tree) != treeBefore, "on_failure = keep keeps the changes")
        #expect(try sandbox.status(of: id) == "failed")

        let undo = try sandbox.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        expectSameTree(treeBefore, TreeFingerprint(sandbox.tree), "after runbook undo")
        expectSameRows(rowsBefore, try sandbox.db.dump(), "after runbook undo")
    }

    @Test("an irreversible effect is reported by undo, everything else is reversed")
    func irreversibleEffectIsReported() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(irreversible: true, onFailure: "keep", failAtEnd: true))
        let treeBefore = TreeFingerprint(sandbox.tree)

        let result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
        #expect(result.exitCode == 1, "\(result)")
        let id = try #require(result.runID)
        let undo = try sandbox.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(undo.stdout.contains("INSERT INTO audit") && undo.stdout.contains("cannot be undone"), "\(undo)")
        expectSameTree(treeBefore, TreeFingerprint(sandbox.tree), "after runbook undo")
        // Every row is back except the audit line the irreversible statement added.
        let notes = try sandbox.db.query("SELECT note FROM audit ORDER BY id").compactMap { $0[0].string }
        #expect(notes == ["seeded", "changed everything"])
        #expect(try sandbox.db.count("sites") == 3)
    }
}
