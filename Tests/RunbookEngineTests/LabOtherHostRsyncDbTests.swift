// rsync and db inside on(HOST), in the lab. rsync runs on that host: a copy between d2's
// own folders (planned there with rsync's own --dry-run, undone there by its undo argv) and
// a push from d2 to d1's rsync daemon with d2's password file. db names its server by its
// connection: inside on("d2") a database is created on the master's server from here and
// undone; a connection that reaches this host's own server (a socket) is refused there.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("on(HOST): rsync from that host, db on a named server", .serialized)
struct LabOtherHostRsyncDbTests {
    static let runbook = """
        return runbook {
          summary = "rsync on d2 and a database on the master, from d1",
          params = { fail = { type = "bool", default = false } },
          on_failure = "undo",
          run = function(args)
            step("Copy on d2, database on the master", function()
              on("d2", function()
                local copied = rsync.push("/usr/home/rsrc/", "/usr/home/rcopy/", { undo = { "rm", "-rf", "/usr/home/rcopy" } })
                assert(#copied.changes >= 3, "rsync itemized d2's files: " .. #copied.changes)
                db.create_database("master", "onhost_db")
              end)
              assert(not fs.exists("/usr/home/rcopy"), "nothing was copied on d1")
              assert(#db.query("master", "SHOW DATABASES LIKE 'onhost_db'") == (context.dry_run and 0 or 1))
            end)
            if args.fail then error("failing on purpose after d2 and the master changed") end
          end,
        }
        """

    static let daemonRunbook = """
        return runbook {
          summary = "push from d2 to d1's rsync daemon",
          run = function()
            step("Push", function()
              on("d2", function()
                rsync.push("/usr/home/rsrc/", "rsync://root@10.0.0.1/d1/from-d2/",
                           { password_file = "/usr/local/etc/rsyncd_root.pwd" })
              end)
            end)
          end,
        }
        """

    static let refusals: [(body: String, error: String)] = [
        (#"db.query("here", "SELECT 1")"#,
         #"db.query inside on("d2", ...): the connection 'here' reaches this host's own server (the socket /run/nowhere.sock), not d2's"#),
        (#"rsync.push("/usr/home/rsrc/", "d2:/usr/home/x/")"#,
         #"rsync inside on("d2", ...) cannot reach d2: that needs ssh from d2; push from here to "d2:PATH" instead"#),
    ]

    static func prepare(_ lab: Lab) throws {
        try LabOtherHostTests.prepare(lab, runbook: runbook)
        let d1 = try lab.files("d1"), d2 = try lab.files("d2")
        let config = d1 + "/etc/runbook/other-host.toml"
        try Files.write(config, (Files.read(config) ?? "") + """

            [databases.master]
            host = "10.0.0.10"
            user = "lab"
            password_file = "/etc/runbook/db.pw"

            [databases.here]
            socket = "/run/nowhere.sock"
            user = "root"

            """)
        try Files.write(d1 + "/etc/runbook/other-host/push_daemon.lua", daemonRunbook)
        try Files.write(d1 + "/etc/runbook/other-host/drop_onhost_db.lua", """
            return runbook { summary = "clean up", run = function()
              step("Drop", function() db.exec("master", "DROP DATABASE IF EXISTS onhost_db") end)
            end }
            """)
        for (index, refusal) in refusals.enumerated() {
            try Files.write(d1 + "/etc/runbook/other-host/refused_\(index).lua", """
                return runbook { summary = "refused", run = function() step("Refused", function() on("d2", function() \(refusal.body) end) end) end }
                """)
        }
        cleanUp(lab)
        try Files.mkdir(d2 + "/usr/home/rsrc/sub")
        try Files.write(d2 + "/usr/home/rsrc/a.txt", "a on d2\n")
        try Files.write(d2 + "/usr/home/rsrc/sub/b.txt", "b on d2\n")
    }

    static func cleanUp(_ lab: Lab) {
        for (host, path) in [("d2", "/usr/home/rsrc"), ("d2", "/usr/home/rcopy"), ("d1", "/usr/home/from-d2")] {
            if let files = try? lab.files(host) { try? FileManager.default.removeItem(atPath: files + path) }
        }
        _ = try? LabOtherHostTests.run(lab, ["run", "drop_onhost_db", "--yes"])
    }

    /// The master's databases named onhost_db, as a read-only runbook on d1 sees them.
    static func masterHasDatabase(_ lab: Lab) throws -> Bool {
        let d1 = try lab.files("d1")
        try Files.write(d1 + "/etc/runbook/other-host/has_onhost_db.lua", """
            return runbook { summary = "read", run = function()
              print(#db.query("master", "SHOW DATABASES LIKE 'onhost_db'") == 1 and "present" or "absent")
            end }
            """)
        let read = try LabOtherHostTests.run(lab, ["run", "has_onhost_db", "--yes"])
        guard read.exitCode == 0 else { throw TestSetupError("reading the master: \(read)") }
        return read.stdout.contains("present")
    }

    @Test("a dry-run plans d2's copy from rsync's own --dry-run there and changes nothing; the run copies on d2 and creates the database; undo reverses both")
    func copyOnD2AndDatabaseOnTheMaster() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")

            let plan = try LabOtherHostTests.run(lab, ["run", "on_d2", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("on d2: sync /usr/home/rsrc/ -> /usr/home/rcopy/"), "\(plan.stdout)")
            #expect(plan.stdout.contains("sub/b.txt"), "the plan lists d2's files, from rsync's dry-run on d2: \(plan.stdout)")
            #expect(TreeFingerprint(d2 + "/usr/home") == before, "a dry-run changes nothing on d2")
            #expect(try !Self.masterHasDatabase(lab))

            let real = try LabOtherHostTests.run(lab, ["run", "on_d2", "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            #expect(Files.read(d2 + "/usr/home/rcopy/sub/b.txt") == "b on d2\n")
            #expect(!Files.exists(d1 + "/usr/home/rcopy"), "d1 has no copy")
            #expect(try Self.masterHasDatabase(lab), "the database was made on the master's server")

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try LabOtherHostTests.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(TreeFingerprint(d2 + "/usr/home") == before, "d2's copy is undone there")
            #expect(try !Self.masterHasDatabase(lab), "the database is dropped")
        }
    }

    @Test("a failing run is undone on d2 and on the master")
    func failedRunIsUndone() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")
            let failed = try LabOtherHostTests.run(lab, ["run", "on_d2", "--fail", "--yes"])
            #expect(failed.exitCode == 1 && failed.stderr.contains("failing on purpose"), "\(failed)")
            #expect(TreeFingerprint(d2 + "/usr/home") == before)
            #expect(try !Self.masterHasDatabase(lab))
        }
    }

    @Test("a push from d2 to d1's rsync daemon runs on d2 with d2's password file")
    func pushFromD2ToADaemon() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let d1 = try lab.files("d1")
            let plan = try LabOtherHostTests.run(lab, ["run", "push_daemon", "--dry-run"])
            #expect(plan.exitCode == 0 && plan.stdout.contains("sub/b.txt"), "planned with d2's password file, on d2: \(plan)")
            #expect(!Files.exists(d1 + "/usr/home/from-d2"))
            let pushed = try LabOtherHostTests.run(lab, ["run", "push_daemon", "--yes"])
            #expect(pushed.exitCode == 0, "\(pushed)")
            #expect(Files.read(d1 + "/usr/home/from-d2/a.txt") == "a on d2\n", "d2 pushed into d1's daemon")
        }
    }

    @Test("inside on(HOST): a connection to this host's own server, or rsync to another host, is one line and nothing is done",
          arguments: 0..<2)
    func refused(index: Int) throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { Self.cleanUp(lab) }
            let refused = try LabOtherHostTests.run(lab, ["run", "refused_\(index)", "--yes"])
            #expect(refused.exitCode == 1, "\(refused)")
            #expect(refused.stderr.contains(Self.refusals[index].error), "\(refused.stderr)")
        }
    }
}
