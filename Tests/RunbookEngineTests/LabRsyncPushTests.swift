// rsync.push from d1 to `d2:path` in the lab, d2 having runbook's agent: the dry-run lists
// the files from d2's real tree and changes nothing; the push keeps on d2 what it
// overwrote or deleted (--backup-dir in the run's folder of d2's state) and the journal
// names what it created, so undo on d1 — after a failure, later, or after d1's run was
// killed at the push — brings d2's tree back byte for byte.

import Foundation
import RunbookCore
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("rsync.push to another host, undone there", .serialized)
struct LabRsyncPushTests {
    static let runbook = """
        return runbook {
          summary = "push a tree from d1 to d2",
          params = {
            to = { type = "string", required = true },
            delete = { type = "bool", default = false },
            fail = { type = "bool", default = false },
          },
          on_failure = "undo",
          run = function(args)
            step("Push the shop to d2", function()
              rsync.push("/usr/home/pushsrc/", "d2:" .. args.to .. "/", { delete = args.delete })
            end)
            if args.fail then error("failing on purpose after the push") end
          end,
        }
        """

    /// d1's tree to push, and d2's older copy: one file changed, one the same, one extra
    /// file and one extra folder (deleted by `delete`), new files, a new folder, a link.
    static func prepare(_ lab: Lab) throws {
        try LabOtherHostTests.prepare(lab, runbook: runbook)
        let source = try lab.files("d1") + "/usr/home/pushsrc", destination = try lab.files("d2") + "/usr/home/pushdst"
        for (path, text) in [("index.php", "<?php echo 'the new shop';\n"), ("lib/a.php", "same\n"), ("lib/new/b.php", "b\n")] {
            try Files.mkdir(PathName.parent(source + "/" + path))
            try Files.write(source + "/" + path, text)
        }
        try Files.symlink("index.php", source + "/home.php")
        for (path, text) in [("index.php", "<?php echo 'old';\n"), ("lib/a.php", "same\n"), ("extra.txt", "extra\n"), ("stale/old.php", "old\n")] {
            try Files.mkdir(PathName.parent(destination + "/" + path))
            try Files.write(destination + "/" + path, text)
        }
        chmod(destination + "/extra.txt", 0o600)
    }

    static func cleanUp(_ lab: Lab) {
        for (host, path) in [("d1", "/usr/home/pushsrc"), ("d2", "/usr/home/pushdst"), ("d2", "/usr/home/pushnew")] {
            if let root = try? lab.files(host) { try? FileManager.default.removeItem(atPath: root + path) }
        }
    }

    @Test("dry-run lists d2's changes and changes nothing; the push with delete lands on d2; undo restores d2's tree byte for byte")
    func pushIsPlannedAppliedAndUndone() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")

            let plan = try LabOtherHostTests.run(lab, ["run", "on_d2", "--to", "/usr/home/pushdst", "--delete", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            for item in ["*deleting   extra.txt", "index.php", "lib/new/b.php", "stale/old.php"] {
                #expect(plan.stdout.contains(item), "the plan lists \(item) from d2's tree: \(plan.stdout)")
            }
            #expect(!plan.stdout.contains("!"), "the push can be undone: no `!` in the plan: \(plan.stdout)")
            #expect(TreeFingerprint(d2 + "/usr/home") == before, "a dry-run changes nothing on d2")

            let real = try LabOtherHostTests.run(lab, ["run", "on_d2", "--to", "/usr/home/pushdst", "--delete", "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            #expect(Files.read(d2 + "/usr/home/pushdst/index.php") == "<?php echo 'the new shop';\n")
            #expect(Files.read(d2 + "/usr/home/pushdst/lib/new/b.php") == "b\n")
            #expect(Posix.readLink(d2 + "/usr/home/pushdst/home.php") == "index.php")
            #expect(!Files.exists(d2 + "/usr/home/pushdst/extra.txt") && !Files.exists(d2 + "/usr/home/pushdst/stale"))

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try LabOtherHostTests.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(undo.stdout.contains("undone: sync /usr/home/pushsrc/ -> d2:/usr/home/pushdst/"), "\(undo.stdout)")
            #expect(TreeFingerprint(d2 + "/usr/home") == before,
                    "undo brings d2 back: \(TreeFingerprint(d2 + "/usr/home").difference(from: before))")
        }
    }

    @Test("a push into a folder d2 does not have yet, then a failure: the run's own undo removes the copy from d2")
    func newCopyIsRemovedByTheFailedRun() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")
            let failed = try LabOtherHostTests.run(lab, ["run", "on_d2", "--to", "/usr/home/pushnew", "--fail", "--yes"])
            #expect(failed.exitCode == 1, "\(failed)")
            #expect(failed.stderr.contains("failing on purpose"), "\(failed.stderr)")
            #expect(!Files.exists(d2 + "/usr/home/pushnew"), "the new copy is gone from d2")
            #expect(TreeFingerprint(d2 + "/usr/home") == before, "\(TreeFingerprint(d2 + "/usr/home").difference(from: before))")
        }
    }

    @Test("SIGKILL of the run on d1 before and after the push, then runbook undo on d1: d2's tree is back")
    func killedAtThePushIsUndone() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")
            for variable in ["RUNBOOK_CRASH_BEFORE_EFFECT", "RUNBOOK_CRASH_AFTER_EFFECT"] {
                let killed = try lab.exec("d1", ["env", "\(variable)=1", try RunbookBinary.require(), "--config", "/etc/runbook/other-host.toml",
                                                 "run", "on_d2", "--to", "/usr/home/pushdst", "--delete", "--yes", "--json"], timeout: 120)
                #expect(killed.exitCode != 0, "\(variable): the run was killed: \(killed)")
                let id = try #require(DemoWorld.runID(killed), "\(killed.stdout)")
                let undo = try LabOtherHostTests.run(lab, ["undo", id])
                #expect(undo.exitCode == 0, "\(variable): \(undo)")
                #expect(TreeFingerprint(d2 + "/usr/home") == before,
                        "\(variable): \(TreeFingerprint(d2 + "/usr/home").difference(from: before))")
            }
        }
    }
}

@Suite("rsync's itemized lines: what a push creates")
struct RsyncItemizedTests {
    @Test("new files, links and folders are named; changed, deleted and escaped names are not")
    func createdEntries() {
        let output = """
            cd+++++++++ ./
            >f+++++++++ index.php
            >f.st...... lib/a.php
            cd+++++++++ lib/new/
            <f+++++++++ lib/new/b.php
            cL+++++++++ home.php -> index.php
            *deleting   extra.txt
            >f+++++++++ caf\\#303\\#251.txt
            .d..t...... lib/
            """
        let created = RsyncItemized.created(output)
        #expect(created.files == ["index.php", "lib/new/b.php", "home.php"])
        #expect(created.directories == [".", "lib/new"])
    }
}
