// Locks across hosts: with `lock_database` configured, a named lock is also a MySQL
// GET_LOCK, so two runs with separate state dirs (as on two hosts) exclude each other.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite struct LockDatabaseTests {
    @Test func twoStateDirsShareTheLockThroughTheDatabase() throws {
        let first = try Sandbox(database: true)
        let db = try first.db
        let second = try Sandbox()
        // The lock database is named as docs/cli.md's example names it.
        let lockConfig = "lock_database = \"internal\"\n[databases.internal]\nsocket = \"\(db.socket)\"\nuser = \"root\"\ndatabase = \"\(db.name)\"\n"
        // lock_database must come before the tables of the TOML file.
        try Files.write(first.config, lockConfig + (Files.read(first.config) ?? ""))
        try Files.write(second.config, lockConfig)
        let release = first.base + "/release"
        for box in [first, second] { try box.addRunbook("holder", LockTests.holder(declarationLevel: true, lock: #""site:one""#)) }
        let arguments = ["run", "holder", "--group", "7", "--release", release]

        let holder = try first.start(arguments + ["--dir", first.tree])
        defer {
            try? Files.write(release, "go")
            holder.wait(timeout: 10)
        }
        #expect(holder.waitForOutput("holding the lock"), "the first run never took its lock\n\(holder.wait(timeout: 1))")

        let other = try second.runbook(arguments + ["--dir", second.tree])
        #expect(other.exitCode == 3, "\(other)")
        // The holder is named: its run, pid, user and host (noted in runbook_lock_holders).
        let holderID = try #require(holder.stdout.split(separator: "\n").first { $0.hasPrefix("run ") }?.split(separator: " ").dropFirst().first,
                                    "the holder printed its run id")
        #expect(other.stderr.contains("is held by run \(holderID) (pid \(holder.pid), ") && other.stderr.contains("runbook:site:one"),
                "\(other)")
        // (The page's example was made on d1 of the lab: this machine's name stands for it.)
        try DocExample.expectShown((other.stderr + "\n" + other.stdout).replacingOccurrences(of: "@\(Posix.hostName),",
                                                                                              with: "@dispatch1.make-a-store.com,"),
                                   page: "cli.md", containing: ["is held by run", "MySQL lock"])
        #expect(try Posix.list(second.tree).isEmpty, "the refused run changed nothing")

        try Files.write(release, "go")
        #expect(holder.wait(timeout: 20).exitCode == 0)
        let after = try second.runbook(arguments + ["--dir", second.tree])
        #expect(after.exitCode == 0, "the MySQL lock was released with the run\n\(after)")
    }
}
