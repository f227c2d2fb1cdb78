// Acceptance 1: a dry-run leaves every file and every table byte-identical, for a runbook
// that mkdirs, writes, symlinks, removes, renames, chmods and inserts, updates, deletes
// and runs raw SQL.

@testable import RunbookEngine
import RunbookTestKit
import Testing

@Suite("Dry-run never writes")
struct DryRunTests {
    @Test("a dry-run leaves the tree and every table byte-identical")
    func dryRunChangesNothing() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything(irreversible: true))
        let world = sandbox.world(withAutoIncrement: true)
        let before = try world.snapshot()

        for output in [["--json"], []] {
            let result = try expectUnchanged(world, "after a dry-run") {
                try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--dry-run"] + output)
            }
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
        }
        for id in sandbox.runIDs() {
            #expect(try sandbox.status(of: id) == "planned")
        }

        // The same runbook for real changes both: the comparison above can see a change.
        let real = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
        #expect(real.exitCode == 0, "\(real)")
        let changed = Set(try world.snapshot().differingKeys(from: before).map { $0.split(separator: " ").first ?? "" })
        #expect(changed == ["file", "table"], "\(changed)")
    }

    @Test("undo --dry-run changes nothing; the real undo then restores everything")
    func undoDryRunChangesNothing() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything())
        try expectUndoRestores(sandbox, "after undo") {
            let run = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree, "--json"])
            #expect(run.exitCode == 0, "\(run)")
            let id = try #require(run.runID)

            let plan = try expectUnchanged(sandbox.world(withAutoIncrement: true), "after undo --dry-run") {
                try sandbox.runbook(["undo", id, "--dry-run"])
            }
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("would"), "undo --dry-run shows what it would do\n\(plan)")
            #expect(try sandbox.status(of: id) == "succeeded", "undo --dry-run does not change the run's status")
            return id
        }
    }
}
