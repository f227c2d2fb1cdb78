// change-codebase on a demo world: a paid store moved to the customer's own codebase (group
// 3, limit 1): every link here and in dispatch2's copy retargeted, the installs row and
// config.php changed, undone exactly; other revisions, plans and full groups refused.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct ChangeCodebaseTests {
    @Test func anInstallMovesToAnotherCodebaseOfTheSameRevision() throws {
        let world = try DemoWorld.built()
        for name in ["shop", "other"] {
            let installed = try world.runbook(["run", "install", "--email", "\(name)@example.com", "--hostname", "\(name).example.com",
                                               "--plan", "paid"])
            #expect(installed.exitCode == 0, "\(installed)")
        }
        let root = world.root
        let home = root + "/usr/home/shopexam1"
        let copy = try world.value("DEMO_WORLD_DISPATCH2") + "/usr/home/shopexam1"
        let old = root + "/home/shared_codes/code_share_paid_1", new = root + "/home/shared_codes/code_share_paid_2"
        let db = try world.admin()
        defer { db.close() }

        try expectUndoRestores(world) {
            let run = try world.planAndRun(["change-codebase", "--install", "shop.example.com", "--to", "3"])
            #expect(run.exitCode == 0, "\(run)")
            for tree in [home, copy] {
                #expect(Posix.readLink(tree + "/heavymetal/lib") == new + "/heavymetal/lib", "\(tree)")
                #expect(Posix.readLink(tree + "/html/mas_assets/js") == new + "/html/mas_assets/js", "\(tree)")
                let links = TreeFingerprint(tree).entries.values.filter { $0.contains(" -> ") }
                #expect(!links.isEmpty && links.allSatisfy { !$0.contains(old) }, "\(tree): \(links)")
            }
            #expect(Posix.lstatInfo(home + "/heavymetal/theme")?.kind == .directory, "the install's own copies stay")
            #expect(try db.query("SELECT shared_code_group_id FROM internal.installs WHERE fs_name = 'shopexam1'").first?[0].int64 == 3)
            #expect(Files.read(home + "/heavymetal/config.php")?.contains("$config['shared_code_dir'] = '/home/shared_codes/code_share_paid_2';") == true)
            #expect(Posix.lstatInfo(home + "/heavymetal/config.php")?.mode == 0o640)

            // Group 3 is full now (limit 1); group 1 is for free installs; another revision is refused.
            let snapshot = try world.state()
            let full = try world.runbook(["run", "change-codebase", "--install", "otherexa1", "--to", "3"])
            #expect(full.exitCode == 1 && full.stderr.contains("group 3 is full (1 installs, limit 1)"), "\(full)")
            let free = try world.runbook(["run", "change-codebase", "--install", "otherexa1", "--to", "1"])
            #expect(free.exitCode == 1 && free.stderr.contains("use downgrade"), "\(free)")
            _ = try db.execute("UPDATE internal.shared_code_groups SET revision = '2' WHERE id = 2")
            let revision = try world.runbook(["run", "change-codebase", "--install", "shopexam1", "--to", "2"])
            #expect(revision.exitCode == 1 && revision.stderr.contains("the current codebase and the new must be the same revisions"),
                    "\(revision)")
            _ = try db.execute("UPDATE internal.shared_code_groups SET revision = '1' WHERE id = 2")
            let unknown = try world.runbook(["run", "change-codebase", "--install", "shopexam1", "--to", "9"])
            #expect(unknown.exitCode == 1 && unknown.stderr.contains("--to 9: no such shared code group"), "\(unknown)")
            #expect(snapshot.differences(from: try world.state()).isEmpty)

            let runToUndo = try #require(DemoWorld.runID(run))

            return runToUndo
        }
    }
}
