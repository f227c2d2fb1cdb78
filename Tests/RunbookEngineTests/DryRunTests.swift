// Acceptance 1: a dry-run leaves every file and every table byte-identical, for a runbook
// that mkdirs, writes, symlinks, removes, renames, chmods and inserts, updates, deletes
// and runs raw SQL.

import Testing
@testable import RunbookEngine
import RunbookTestKit

@Suite("Dry-run never writes")
struct DryRunTests {
    @Test("a dry-run leaves the tree and every table byte-identical")
    func dryRunChangesNothing() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(irreversible: true))
        let treeBefore = TreeFingerprint(sandbox.tree)
        let rowsBefore = try sandbox.db.dump(withAutoIncrement: true)

        for output in [["--json"], []] {
            let result = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--dry-run"] + output)
            #expect(result.exitCode == 0, "the dry-run failed\n\(result)")
            if output == ["--json"] {
                // It really planned every change (a plan that stopped early proves nothing).
                let planned = result.events("effect_planned")
                #expect(planned.count == Fixtures.changeEverythingEffectCount(irreversible: true), "\(result)")
                #expect(result.events("effect_applied").isEmpty)
                let kinds = Set(planned.compactMap { $0["kind"]?.stringValue })
                #expect(kinds == ["fs.mkdir", "fs.write", "fs.symlink", "fs.chmod", "fs.rename", "fs.remove",
                                  "db.insert", "db.update", "db.delete", "db.exec"])
            } else {
                #expect(result.stdout.contains("Nothing was changed (dry-run)"), "\(result)")
                #expect(result.stdout.contains("! run on test: INSERT INTO audit"), "the irreversible statement is marked !\n\(result)")
            }
            expectSameTree(treeBefore, TreeFingerprint(sandbox.tree), "after a dry-run")
            expectSameRows(rowsBefore, try sandbox.db.dump(withAutoIncrement: true), "after a dry-run")
        }
        for id in sandbox.runIDs() {
            #expect(try sandbox.status(of: id) == "planned")
        }

        // The same runbook for real changes both: the comparison above can see a change.
        let real = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
        #expect(real.exitCode == 0, "\(real)")
        #expect(TreeFingerprint(sandbox.tree) != treeBefore)
        #expect(try sandbox.db.dump(withAutoIncrement: true) != rowsBefore)
    }

    @Test("undo --dry-run changes nothing; the real undo then restores everything")
    func undoDryRunChangesNothing() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything())
        let originalTree = TreeFingerprint(sandbox.tree)
        let originalRows = try sandbox.db.dump()

        let run = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--json"])
        #expect(run.exitCode == 0, "\(run)")
        let id = try #require(run.runID)
        let changedTree = TreeFingerprint(sandbox.tree)
        let changedRows = try sandbox.db.dump(withAutoIncrement: true)
        #expect(changedTree != originalTree)

        let plan = try sandbox.runbook(["undo", id, "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("would"), "undo --dry-run shows what it would do\n\(plan)")
        expectSameTree(changedTree, TreeFingerprint(sandbox.tree), "after undo --dry-run")
        expectSameRows(changedRows, try sandbox.db.dump(withAutoIncrement: true), "after undo --dry-run")
        #expect(try sandbox.status(of: id) == "succeeded", "undo --dry-run does not change the run's status")

        let undo = try sandbox.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        expectSameTree(originalTree, TreeFingerprint(sandbox.tree), "after undo")
        expectSameRows(originalRows, try sandbox.db.dump(), "after undo")
    }
}
