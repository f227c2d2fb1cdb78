// update-files on a demo world: one file of a codebase updated to r2 in the checkout and on
// dispatch2's copy, the rest of the codebase left at r1; undo; refusals.

@testable import RunbookEngine
import Foundation
import RunbookTestKit
import Testing

@Suite(.serialized) struct UpdateFilesTests {
    @Test func aFewFilesAreUpdatedHereAndOnTheOtherServer() throws {
        let world = try DemoWorld.withStore(["--email", "a@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let checkout = world.root + "/home/shared_codes/code_share_paid_1"
        let copy = try world.value("DEMO_WORLD_DISPATCH2") + "/home/shared_codes/code_share_paid_1"
        // Subversion's own bookkeeping (.svn/wc.db) changes with every update.
        let svnBookkeeping = world.svnBookkeeping()

        try expectUndoRestores(world, "undo of update-files", ignoring: svnBookkeeping) {
            let run = try world.planAndRun(["update-files", "--group", "2", "--path", "heavymetal/lib/VERSION", "--revision", "2"])
            #expect(run.exitCode == 0, "\(run)")
            #expect(Files.read(checkout + "/heavymetal/lib/VERSION") == "divinity 4.2.1\n")
            #expect(Files.read(copy + "/heavymetal/lib/VERSION") == "divinity 4.2.1\n", "dispatch2 has it too")
            #expect(Files.read(world.root + "/usr/home/shopexam1/heavymetal/lib/VERSION") == "divinity 4.2.1\n", "the store sees it")
            #expect(try system(["svn", "info", "--show-item", "revision", checkout + "/heavymetal/lib/VERSION"]).trimmed == "2")
            #expect(try system(["svn", "info", "--show-item", "revision", checkout]).trimmed == "1", "the rest stays at r1")
            #expect(!Files.exists(checkout + "/sql/catalog/0002_product_sku.sql"))
            return DemoWorld.runID(run)
        }
        #expect(try system(["svn", "info", "--show-item", "revision", checkout + "/heavymetal/lib/VERSION"]).trimmed == "1")

        // Refused with one line, nothing touched.
        try expectUnchanged(world, "refusals", ignoring: svnBookkeeping) {
            for (arguments, problem) in [
                (["--group", "9", "--path", "heavymetal/lib/VERSION"], "--group 9: no such shared code group"),
                (["--group", "2", "--path", "../etc/passwd"], "must be a path inside the codebase"),
                (["--group", "2", "--path", "heavymetal/lib"], "is a folder"),
                (["--group", "2", "--path", "heavymetal/lib/nothing.php"], "is not in /home/shared_codes/code_share_paid_1"),
            ] {
                let refused = try world.runbook(["run", "update-files"] + arguments)
                #expect(refused.exitCode == 1 && refused.stderr.contains(problem), "\(arguments)\n\(refused)")
            }
            let db = try world.admin()
            defer { db.close() }
            _ = try db.execute("UPDATE internal.shared_code_groups SET handler_id = 2 WHERE id = 2")
            let elsewhere = try world.runbook(["run", "update-files", "--group", "2", "--path", "heavymetal/lib/VERSION"])
            #expect(elsewhere.exitCode == 1 && elsewhere.stderr.contains("group 2's master is dispatch2.make-a-store.com: run update-files there"),
                    "\(elsewhere)")
            _ = try db.execute("UPDATE internal.shared_code_groups SET handler_id = 1 WHERE id = 2")
        }
    }
}
