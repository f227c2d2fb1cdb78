// A queue record left `running` by a worker or run that died: `queue list --stuck` shows it
// and `queue rerun` takes it; a record a live run works is neither listed nor rerun (the
// run holds the lock queue:ID while it lives: stdlib/queue.lua).

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct QueueStuckTests {
    /// Works its own record; with --hold, waits until that file exists before it is done.
    static let runbook = """
        local queue = require("queue")
        return runbook {
          summary = "a queued job",
          params = { hold = { type = "string", default = "" } },
          run = function(args)
            step("Work", function()
              local id = queue.begin("internal", { runbook = "queued_job", args = { hold = args.hold } })
              print("working queue record " .. id)
              if args.hold ~= "" then
                while not fs.exists(args.hold) do cmd.run({ "sleep", "0.05" }, { read_only = true }) end
              end
              queue.done("internal", id)
            end)
          end,
        }
        """

    func start(_ world: DemoWorld, _ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(executable: try RunbookBinary.require(),
                         arguments: ["--config", world.directory + "/config.toml", "--runbooks", world.box.runbooks] + scripted(arguments),
                         environment: world.box.environment([:]), stdoutPath: world.box.base + "/out/job.stdout",
                         stderrPath: world.box.base + "/out/job.stderr")
    }

    @Test("a live run's record is neither stuck nor rerun; once its run is SIGKILLed it is stuck, and rerun works it to done")
    func stuckRecordsAreFoundAndRerun() throws {
        let world = try DemoWorld.built()
        try world.box.addRunbook("queued_job", Self.runbook)
        let db = try world.admin()
        defer { db.close() }
        func status(_ id: Int64) throws -> String {
            try db.query("SELECT status FROM internal.queue WHERE id = \(id)").first?[0].string ?? "(none)"
        }

        let job = try start(world, ["run", "queued_job", "--hold", "/release-the-job"])
        #expect(job.waitForOutput("working queue record", timeout: 30), "the job started")
        let id = try #require(try db.query("SELECT id FROM internal.queue WHERE runbook = 'queued_job'").first?[0].int64)
        #expect(try status(id) == "running")

        // Alive: not stuck, and not started twice.
        let listed = try world.runbook(["queue", "list", "--stuck"])
        #expect(listed.exitCode == 0 && listed.stdout.contains("no stuck queue record"), "\(listed)")
        let refused = try world.runbook(["queue", "rerun", String(id)])
        #expect(refused.exitCode == 2, "\(refused)")
        #expect(refused.stderr.contains("queue record \(id) is running now (held by run "), "names the run holding it: \(refused.stderr)")

        // Killed: its record stays running with nobody behind it.
        kill(job.pid, SIGKILL)
        job.wait(timeout: 10)
        #expect(try status(id) == "running")
        let stuck = try world.runbook(["queue", "list", "--stuck"])
        #expect(stuck.exitCode == 0 && stuck.stdout.contains("\(id)  running  queued_job"), "\(stuck)")

        // Rerun takes it (the file is there now: the job does not wait) and leaves it done.
        try Files.write(world.root + "/release-the-job", "go\n")
        let rerun = try world.runbook(["queue", "rerun", String(id)])
        #expect(rerun.exitCode == 0, "\(rerun)")
        #expect(try status(id) == "done")
        let none = try world.runbook(["queue", "list", "--stuck"])
        #expect(none.stdout.contains("no stuck queue record"), "\(none)")
    }
}
