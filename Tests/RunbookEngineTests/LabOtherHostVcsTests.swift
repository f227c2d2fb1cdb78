// vcs inside on(HOST), in the lab: a run on d1 reads a working copy on d2, checks out a
// codebase there and updates another, with d2's own svn and d2's own repository; the
// dry-run reads d2 and changes nothing; undo removes the checkout and updates the working
// copy back, on d2.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("on(HOST): working copies on another host", .serialized)
struct LabOtherHostVcsTests {
    static let runbook = """
        return runbook {
          summary = "check out and update codebases on d2, from d1",
          params = { fail = { type = "bool", default = false } },
          on_failure = "undo",
          run = function(args)
            step("Codebases on d2", function()
              on("d2", function()
                local status = vcs.status("/usr/home/shared_r")
                assert(status.kind == "svn" and status.revision == "1", "read on d2: " .. status.kind .. " " .. status.revision)
                vcs.checkout("file:///usr/local/etc/svnrepo", "/usr/home/fresh_r", { revision = 2 })
                local updated = vcs.update("/usr/home/shared_r", { revision = 2 })
                assert(#updated.conflicts == 0)
              end)
              assert(not fs.exists("/usr/home/fresh_r"), "nothing was checked out on d1")
            end)
            if args.fail then error("failing on purpose after d2's codebases changed") end
          end,
        }
        """

    /// A repository on d2 with two revisions of lib.php, and a working copy of revision 1,
    /// both made on d2 (a working copy records its repository's path as d2 sees it).
    static func prepare(_ lab: Lab) throws {
        try LabOtherHostTests.prepare(lab, runbook: runbook)
        let d2 = try lab.files("d2")
        for path in ["/usr/local/etc/svnrepo", "/usr/home/shared_r", "/usr/home/fresh_r", "/tmp/svn-import"] {
            try? FileManager.default.removeItem(atPath: d2 + path)
        }
        let made = try lab.exec("d2", ["sh", "-c", """
            set -e
            svnadmin create /usr/local/etc/svnrepo
            svn checkout -q file:///usr/local/etc/svnrepo /tmp/svn-import
            echo '<?php // r1' > /tmp/svn-import/lib.php
            svn add -q /tmp/svn-import/lib.php
            svn commit -q -m r1 /tmp/svn-import
            echo '<?php // r2' > /tmp/svn-import/lib.php
            svn commit -q -m r2 /tmp/svn-import
            rm -rf /tmp/svn-import
            svn checkout -q -r 1 file:///usr/local/etc/svnrepo /usr/home/shared_r
            """], timeout: 60)
        guard made.exitCode == 0 else { throw TestSetupError("the repository on d2: \(made)") }
    }

    static func cleanUp(_ lab: Lab) {
        guard let d2 = try? lab.files("d2") else { return }
        for path in ["/usr/local/etc/svnrepo", "/usr/home/shared_r", "/usr/home/fresh_r"] { try? FileManager.default.removeItem(atPath: d2 + path) }
    }

    /// The working copy's revision as d2's svn reports it.
    static func revision(_ lab: Lab, _ path: String) throws -> String {
        try lab.exec("d2", ["svn", "info", "--show-item", "revision", path], timeout: 20).stdout.trimmed
    }

    @Test("a dry-run reads d2's working copy and changes nothing; the run checks out and updates on d2 only; undo on d1 puts d2 back")
    func checkoutAndUpdateOnD2() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")

            let plan = try LabOtherHostTests.run(lab, ["run", "on_d2", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("on d2: check out file:///usr/local/etc/svnrepo@2 into /usr/home/fresh_r (svn)"), "\(plan.stdout)")
            #expect(plan.stdout.contains("on d2: update /usr/home/shared_r from revision 1 to 2"), "\(plan.stdout)")
            #expect(TreeFingerprint(d2 + "/usr/home") == before, "a dry-run changes nothing on d2")

            let real = try LabOtherHostTests.run(lab, ["run", "on_d2", "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            #expect(Files.read(d2 + "/usr/home/fresh_r/lib.php") == "<?php // r2\n")
            #expect(Files.read(d2 + "/usr/home/shared_r/lib.php") == "<?php // r2\n")
            #expect(try Self.revision(lab, "/usr/home/shared_r") == "2")
            #expect(!Files.exists(d1 + "/usr/home/fresh_r"), "d1 has no checkout")

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try LabOtherHostTests.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(!Files.exists(d2 + "/usr/home/fresh_r"), "the checkout is removed on d2")
            #expect(Files.read(d2 + "/usr/home/shared_r/lib.php") == "<?php // r1\n")
            #expect(try Self.revision(lab, "/usr/home/shared_r") == "1", "the working copy is back at revision 1 on d2")
        }
    }

    @Test("a run failing after it changed d2's codebases is undone there by on_failure")
    func failedRunUndoesD2() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d2 = try lab.files("d2")
            let failed = try LabOtherHostTests.run(lab, ["run", "on_d2", "--fail", "--yes"])
            #expect(failed.exitCode == 1, "\(failed)")
            #expect(failed.stderr.contains("failing on purpose"), "\(failed.stderr)")
            #expect(!Files.exists(d2 + "/usr/home/fresh_r"))
            #expect(try Self.revision(lab, "/usr/home/shared_r") == "1")
        }
    }
}
