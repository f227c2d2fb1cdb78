// update-shared-code reaches the cloud handlers, in the lab: a paid store is installed on d1
// and put on the cloud handler (cloud-manager add-install: its home and code copied there
// through tmp-cloud's agent); updating the store's shared code group then updates the
// checkout on d1, d2 *and* tmp-cloud, and the store's home on both; the client's page is
// still the store's; undo of the three runs in reverse brings every host back.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

extension LabState {
    /// Without Subversion's bookkeeping inside working copies (.svn/wc.db, .svn/pristine/...).
    var withoutSvnBookkeeping: LabState {
        var copy = self
        for (host, tree) in trees { copy.trees[host] = tree.filter { !$0.key.contains("/.svn/") } }
        return copy
    }
}

@Suite("update-shared-code on every server of the group, cloud handlers included", .serialized)
struct LabCloudCodeTests {
    static let checkout = "/home/shared_codes/code_share_paid_1"

    /// The working copy's revision on `host`, as that host's svn reports it.
    static func revision(_ lab: Lab, _ host: String) throws -> String {
        try lab.exec(host, ["svn", "info", "--show-item", "revision", checkout], timeout: 20).stdout.trimmed
    }

    @Test("after add-install to tmp-cloud, update-shared-code brings the checkout on d1, d2 and tmp-cloud to HEAD; undo in reverse restores the lab")
    func theCloudGetsTheNewCode() throws {
        try SharedLab.use { lab in
            let pristine = try lab.state()
            let runs = RunsOnD1(lab)
            defer { runs.undoLeft() }
            try runs.run(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
            try runs.run(["run", "cloud-manager", "--action", "add-install", "--id", "shopexam1", "--hostname", "tmp-cloud.make-a-store.com"])
            let cloud = try lab.files("tmp-cloud")
            #expect(Files.exists(cloud + "/usr/home/shopexam1/heavymetal/config.php"), "the store's home is on the cloud")
            let before = try Self.revision(lab, "tmp-cloud")

            let plan = try lab.runbookOnD1(["run", "update-shared-code", "--group", "2", "--dry-run", "--json"], timeout: 300)
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("tmp-cloud.make-a-store.com"), "the plan names the cloud: \(plan.stdout.suffix(3000))")
            #expect(try Self.revision(lab, "tmp-cloud") == before, "a dry-run changes nothing on the cloud")

            try runs.run(["run", "update-shared-code", "--group", "2"])
            let head = try Self.revision(lab, "d1")
            #expect(head != before, "the group moved to a newer revision: \(before) -> \(head)")
            for host in ["d2", "tmp-cloud"] {
                #expect(try Self.revision(lab, host) == head, "\(host)'s checkout is at the group's revision")
            }
            let page = try lab.fetch("192.0.2.10", host: "shop.example.com")
            #expect(page.stdoutLines.first == "store: shopexam1 (install 1)", "\(page)")

            try runs.undoAll()
            // svn's own bookkeeping (.svn/wc.db, pristine copies) keeps what an update brought,
            // undo included: the files and the revision are what an operator compares.
            let undone = try lab.state().withoutSvnBookkeeping, expected = pristine.withoutSvnBookkeeping
            #expect(undone == expected, "undo left differences:\n\(expected.differences(from: undone).prefix(20).joined(separator: "\n"))")
            for host in ["d1", "d2", "tmp-cloud"] { #expect(try Self.revision(lab, host) == before, "\(host) is back at \(before)") }
        }
    }
}
