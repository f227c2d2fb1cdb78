// The helpers the acceptance tests rely on can see what they claim to see: a fingerprint
// notices a changed mode, content or link target; a dump notices a changed cell; the undo
// expectation names what an undo left behind and refuses a run that changed nothing.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Test support")
struct TestSupportTests {
    @Test("a tree fingerprint notices every kind of change")
    func fingerprintNoticesChanges() throws {
        let sandbox = try Sandbox()
        try Fixtures.seedTree(sandbox.tree)
        let original = TreeFingerprint(sandbox.tree)
        #expect(TreeFingerprint(sandbox.tree) == original, "stable when nothing changes")

        let changes: [(String, () throws -> Void, () throws -> Void)] = [
            ("mode", { chmod(sandbox.tree + "/script.sh", 0o755) }, { chmod(sandbox.tree + "/script.sh", 0o644) }),
            ("content, same size", { try Files.write(sandbox.tree + "/existing.txt", "ORIGINAL content\n") },
             { try Files.write(sandbox.tree + "/existing.txt", "original content\n") }),
            ("link target", {
                unlink(sandbox.tree + "/oldlink")
                try Files.symlink(sandbox.tree + "/shared/lib", sandbox.tree + "/oldlink")
            }, {
                unlink(sandbox.tree + "/oldlink")
                try Files.symlink(sandbox.tree + "/shared", sandbox.tree + "/oldlink")
            }),
            ("an empty directory", { try Files.mkdir(sandbox.tree + "/new") }, { rmdir(sandbox.tree + "/new") }),
            ("directory mode", { chmod(sandbox.tree + "/untouched", 0o755) }, { chmod(sandbox.tree + "/untouched", 0o700) }),
        ]
        for (what, change, revert) in changes {
            try change()
            #expect(TreeFingerprint(sandbox.tree) != original, "the fingerprint sees a changed \(what)")
            try revert()
            #expect(TreeFingerprint(sandbox.tree) == original, "and the same tree again after reverting \(what)")
        }
    }

    @Test("a database dump notices a changed cell and ignores nothing else")
    func dumpNoticesChanges() throws {
        let database = try TestDatabase()
        try Fixtures.seedDatabase(database)
        let original = try database.dump()
        try database.connection.execute("UPDATE counters SET n = n + 1 WHERE name = 'updates'")
        #expect(try database.dump() != original)
        try database.connection.execute("UPDATE counters SET n = n - 1 WHERE name = 'updates'")
        #expect(try database.dump() == original)
        try database.connection.execute("UPDATE sites SET note = NULL WHERE hostname = 'old.example.com'")
        #expect(try database.dump() != original, "NULL differs from a value")
    }

    @Test("expectUndoRestores names the file and the table an undo did not restore")
    func undoExpectationNamesWhatWasLeft() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedTree(sandbox.tree)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("everything", Fixtures.changeEverything())
        try withKnownIssue {
            try expectUndoRestores(sandbox) {
                let run = try sandbox.runbook(["run", "everything", "--dir", sandbox.tree])
                // Changes the run's undo knows nothing about.
                try Files.write(sandbox.tree + "/stray.txt", "left behind\n")
                try sandbox.db.connection.execute("UPDATE counters SET n = 99 WHERE name = 'updates'")
                return run.runID
            }
        } matching: { issue in
            let text = "\(issue)"
            return text.contains("file ./stray.txt") && text.contains("table counters")
        }
    }

    @Test("expectUndoRestores refuses a run that changed nothing: its undo would prove nothing")
    func undoExpectationNeedsAChange() throws {
        let sandbox = try Sandbox(runbook: "idle", """
            return runbook { summary = "does nothing", run = function() step("Wait", function() end) end }
            """)
        try withKnownIssue {
            try expectUndoRestores(sandbox) { try sandbox.runbook(["run", "idle"]).runID }
        } matching: { issue in "\(issue)".contains("changed nothing, so undoing") }
    }
}
