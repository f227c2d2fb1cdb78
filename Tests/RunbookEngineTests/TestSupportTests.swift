// The helpers the acceptance tests rely on can see what they claim to see: a fingerprint
// notices a changed mode, content or link target; a dump notices a changed cell.

import Testing
@testable import RunbookEngine
import RunbookTestKit

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
}
