// Acceptance 6: locks. While one run holds lock("group:1") (or a lock its declaration's
// `locks` function names), a second run of the same runbook exits 3 and its stderr names
// the holder; once the holder is done, the lock is free again.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Locks")
struct LockTests {
    /// Takes its lock (in the run body or through the declaration), says so, then holds it
    /// until the release file appears. `lock` is the Lua expression that names the lock.
    static func holder(declarationLevel: Bool, lock: String = #""group:" .. args.group"#) -> String {
        """
        return runbook {
          summary = "Holds a lock until told to let go",
          params = {
            group = { type = "int", required = true },
            release = { type = "path", required = true },
            dir = { type = "path", required = true },
          },
          \(declarationLevel ? "locks = function(args) return { \(lock) } end," : "")
          run = function(args)
            \(declarationLevel ? "" : "lock(\(lock))")
            step("Work on the group", function()
              fs.mkdir(args.dir .. "/group-" .. args.group .. "-" .. context.run_id)
              log.info("holding the lock")
              while not fs.exists(args.release) do end
            end)
          end,
        }
        """
    }

    @Test("a second run exits 3 and names the holder", arguments: [false, true])
    func secondRunIsRefused(declarationLevel: Bool) throws {
        let sandbox = try Sandbox(runbook: "holder", LockTests.holder(declarationLevel: declarationLevel))
        let release = sandbox.base + "/release"
        let arguments = ["run", "holder", "--group", "1", "--release", release, "--dir", sandbox.tree]

        let first = try sandbox.start(arguments + ["--json"])
        defer {
            try? Files.write(release, "go")
            first.wait(timeout: 10)
        }
        #expect(first.waitForOutput("holding the lock"), "the first run never took its lock\n\(first.wait(timeout: 1))")
        let holderID = try #require(first.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
            .first { $0["event"]?.stringValue == "run_started" }?["run"]?.stringValue)

        let second = try sandbox.runbook(arguments)
        #expect(second.exitCode == 3, "\(second)")
        #expect(second.stderr.contains("group:1"), "stderr names the lock\n\(second)")
        #expect(second.stderr.contains(holderID), "stderr names the holding run \(holderID)\n\(second)")
        #expect(second.stderr.contains("pid \(first.pid)"), "stderr names the holder's pid \(first.pid)\n\(second)")
        let made = try Posix.list(sandbox.tree)
        #expect(made == ["group-1-\(holderID)"], "the refused run changed nothing: \(made)")

        // Another group is not blocked.
        let other = try sandbox.start(["run", "holder", "--group", "2", "--release", release, "--dir", sandbox.tree])
        #expect(other.waitForOutput("holding the lock"), "a run on another group is not blocked\n\(other.wait(timeout: 1))")

        try Files.write(release, "go")
        let firstResult = first.wait(timeout: 20)
        #expect(firstResult.exitCode == 0, "\(firstResult)")
        #expect(other.wait(timeout: 20).exitCode == 0)

        // Released: the next run gets the lock.
        let third = try sandbox.runbook(arguments)
        #expect(third.exitCode == 0, "the lock was released when the holder finished\n\(third)")
    }

    @Test("--lock-timeout waits for the holder to finish")
    func lockTimeoutWaits() throws {
        let sandbox = try Sandbox(runbook: "holder", LockTests.holder(declarationLevel: false))
        let release = sandbox.base + "/release"
        let arguments = ["run", "holder", "--group", "7", "--release", release, "--dir", sandbox.tree]
        let first = try sandbox.start(arguments)
        #expect(first.waitForOutput("holding the lock"), "\(first.wait(timeout: 1))")
        let waiter = try sandbox.start(arguments + ["--lock-timeout", "20"])
        usleep(300_000)
        #expect(waiter.poll() == nil, "the second run waits instead of failing")
        try Files.write(release, "go")
        #expect(first.wait(timeout: 20).exitCode == 0)
        let waited = waiter.wait(timeout: 20)
        #expect(waited.exitCode == 0, "\(waited)")
    }
}

/// A lock the run cannot take ends the run however the runbook catches the error: through
/// pcall, xpcall (and inside its handler), or a coroutine whose resume returns false.
@Suite("Locks that cannot be caught")
struct CaughtLockTests {
    static let catchers = [
        #"pcall(lock, "group:1")"#,
        #"xpcall(lock, function(problem) return problem end, "group:1")"#,
        #"xpcall(function() lock("group:1") end, function(problem) fs.mkdir(args.dir .. "/made-by-the-handler") return problem end)"#,
        #"coroutine.resume(coroutine.create(function() lock("group:1") end))"#,
        #"pcall(coroutine.wrap(function() lock("group:1") end))"#,
        // A tail call returns from the run function without another instruction of it.
        #"nil; do return pcall(lock, "group:1") end"#,
    ]

    static func attacker(_ catcher: String) -> String {
        """
        return runbook {
          summary = "Catches the error of a lock another run holds, and carries on",
          params = { dir = { type = "path", required = true } },
          run = function(args)
            cleanup(function(problem) log.info("cleanup saw: " .. problem) end)
            local caught = \(catcher)
            log.info("carried on without the lock")
            fs.mkdir(args.dir .. "/made-without-the-lock")
          end,
        }
        """
    }

    @Test("a lock held by another run ends the run with exit 3 even when the runbook catches the error")
    func caughtLockFailureEndsTheRun() throws {
        let sandbox = try Sandbox(runbook: "holder", LockTests.holder(declarationLevel: false))
        let release = sandbox.base + "/release"
        let first = try sandbox.start(["run", "holder", "--group", "1", "--release", release, "--dir", sandbox.tree])
        defer {
            try? Files.write(release, "go")
            first.wait(timeout: 10)
        }
        #expect(first.waitForOutput("holding the lock"), "the first run never took its lock\n\(first.wait(timeout: 1))")
        let held = try Posix.list(sandbox.tree)

        for (index, catcher) in Self.catchers.enumerated() {
            try sandbox.addRunbook("catcher\(index)", Self.attacker(catcher))
            let result = try sandbox.runbook(["run", "catcher\(index)", "--dir", sandbox.tree])
            let output = result.stdout + result.stderr
            #expect(result.exitCode == 3, "\(catcher)\n\(result)")
            #expect(result.stderr.contains("lock 'group:1' is held by run"), "\(catcher)\n\(result)")
            #expect(output.contains("cleanup saw: ") && output.contains("group:1"), "the cleanup hook ran: \(catcher)\n\(result)")
            #expect(!output.contains("carried on without the lock"), "\(catcher)\n\(result)")
            #expect(try Posix.list(sandbox.tree) == held, "nothing was made without the lock: \(catcher)")
            let id = try #require(result.runID, "\(result)")
            #expect(try sandbox.status(of: id) == "failed", "\(catcher)")
        }
    }
}
