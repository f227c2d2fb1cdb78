// `runbook queue work` and `queue rerun` on a demo world: queued installs for this server are
// claimed, run as child runs that adopt their record, and left done or failed with the
// error; a record for another server is left alone; a fixed failure is rerun.

@testable import RunbookEngine
import Foundation
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct QueueTests {
    @Test func queuedInstallsAreWorkedAndAFailedOneIsRerun() throws {
        let world = try DemoWorld.built()
        let db = try world.admin()
        defer { db.close() }
        // As make-a-store.com's order would: two installs for d1 (handler 1), one for d2.
        _ = try db.execute("""
            INSERT INTO internal.queue (runbook, args, handler_id, status) VALUES
              ('install', '{"email":"q@example.com","hostname":["q.example.com"],"plan":"free"}', 1, 'queued'),
              ('install', '{"email":"r@example.com","hostname":["r.example.com","www.r.example.com"],"plan":"paid"}', 1, 'queued'),
              ('install', '{"email":"s@example.com","hostname":["s.example.com"],"plan":"paid"}', 2, 'queued')
            """)
        // The paid codebase has a broken update, so the second install fails.
        let broken = world.root + "/home/shared_codes/code_share_paid_1/sql/catalog/0002_weights.sql"
        try Files.write(broken, "UPDATE productz SET weight = 0;\n")

        let work = try world.runbook(["queue", "work"])
        #expect(work.exitCode == 1, "one record failed\n\(work)")
        #expect(work.stdout.contains("queue record 1: done (exit 0)"), "\(work)")
        #expect(work.stdout.contains("queue record 2: failed (exit 1)"), "\(work)")
        func record(_ id: Int) throws -> (status: String, error: String, log: String) {
            let row = try #require(try db.query("SELECT status, error, log FROM internal.queue WHERE id = \(id)").first)
            return (row[0].string ?? "", row[1].string ?? "", row[2].string ?? "")
        }
        #expect(try record(1).status == "done")
        let workedBy = try record(1).log
        #expect(workedBy.hasPrefix("20"), "the run that worked it: \(workedBy)")
        #expect(try record(2).status == "failed")
        let failure = try record(2).error
        #expect(failure.contains("0002_weights.sql:1: MySQL error 1146"), "\(failure)")
        #expect(try record(3).status == "queued", "d2's record is d2's")
        #expect(try db.query("SELECT fs_name FROM internal.installs").rows.compactMap { $0[0].string } == ["qexample1"])
        #expect(try db.query("SELECT COUNT(*) FROM internal.queue").first?[0].int64 == 3, "no record was added")
        let log = Files.read(world.directory + "/state/queue/2.log") ?? ""
        #expect(log.contains("Mut is being run") && log.contains("0002_weights.sql"), "the child's output is kept\n\(log)")

        // Nothing left to do now.
        let idle = try world.runbook(["queue", "work"])
        #expect(idle.exitCode == 0 && idle.stdout.contains("no queued record for this server"), "\(idle)")

        // Fixed, the failed one is rerun (the guide's rerun_queue.php).
        #expect(unlink(broken) == 0)
        let rerun = try world.runbook(["queue", "rerun", "2"])
        #expect(rerun.exitCode == 0, "\(rerun)")
        #expect(try record(2).status == "done")
        #expect(try db.query("SELECT fs_name FROM internal.installs ORDER BY id").rows.compactMap { $0[0].string } == ["qexample1", "rexample1"])

        let list = try world.runbook(["queue", "list", "--status", "queued"])
        #expect(list.stdout.contains("3  queued  install") && !list.stdout.contains("1  done"), "\(list)")
        let missing = try world.runbook(["queue", "rerun", "99"])
        #expect(missing.exitCode == 2 && missing.stderr.contains("no queue record 99"), "\(missing)")
    }

    @Test func recordArgumentsBecomeRunbookWords() throws {
        #expect(try QueueWorker.words(#"{"plan":"paid","hostname":["a.com","b.com"],"force":true,"limit":5,"none":null,"dry_level":"x"}"#)
                == ["--dry-level", "x", "--force", "true", "--hostname", "a.com,b.com", "--limit", "5", "--plan", "paid"])
        #expect(throws: RunbookError.self) { try QueueWorker.words(#"["not", "an", "object"]"#) }
        #expect(throws: RunbookError.self) { try QueueWorker.words(#"{"a b":"x"}"#) }
        #expect(throws: RunbookError.self) { try QueueWorker.words(#"{"x":{"nested":1}}"#) }
    }
}
