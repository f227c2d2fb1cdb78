// A run's undo has one holder at a time; a run stopped while it starts leaves either
// nothing or a record history and undo understand; an undo works from the run's own root.
// All with real processes: two `runbook undo` at once, SIGTERM at many tiny delays.

@testable import RunbookEngine
import RunbookJournal
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("undo lock, run start-up under signals, undo root", .serialized)
struct UndoLockAndStartTests {
    /// Writes `count` files, then fails (on_failure keeps them: `runbook undo` reverses them).
    static let many = """
        return runbook { summary = "write many files, then fail",
          params = { dir = { type = "path", required = true }, count = { type = "int", default = 400 },
                     fail = { type = "bool", default = true } },
          run = function(args)
            step("Write", function()
              for i = 1, args.count do fs.write(args.dir .. "/f" .. i .. ".txt", "x") end
            end)
            if args.fail then error("stop here") end
          end }
        """

    @Test("two concurrent undos of one run: one undoes everything once, the other is refused naming the holder (exit 3)")
    func concurrentUndo() throws {
        let box = try Sandbox(runbook: "many", UndoLockAndStartTests.many)
        for attempt in 1...4 {
            let dir = box.tree + "/t\(attempt)"
            try Files.mkdir(dir)
            let run = try box.runbook(["run", "many", "--dir", dir], timeout: 120)
            #expect(run.exitCode == 1, "\(run)")
            let id = try #require(run.runID)

            let first = try box.start(["undo", id])
            let second = try box.start(["undo", id])
            let results = [first.wait(timeout: 120), second.wait(timeout: 120)]
            let done = results.filter { $0.exitCode == 0 }
            let refused = results.filter { $0.exitCode == 3 }
            // On a loaded machine the second may start only after the first has finished:
            // then it finds nothing left to reverse (exit 2). Never do both run.
            let late = results.filter { $0.exitCode == 2 && $0.stderr.contains("already undone") }
            #expect(done.count == 1 && refused.count + late.count == 1,
                    "attempt \(attempt): one undo runs, the other is refused\n\(results[0])\n\(results[1])")
            if let line = refused.first {
                #expect(line.stderrLines.count == 1 && line.stderr.contains("undo of run \(id)") && line.stderr.contains("pid "),
                        "one line naming the holder\n\(line)")
                #expect(line.stdout.isEmpty, "\(line)")
            }
            // The journal: one undo, each effect undone once.
            let records = try JournalReader.records(box.runsDirectory + "/\(id)/journal.jsonl")
            #expect(records.filter { $0["t"]?.stringValue == "undo_started" }.count == 1)
            let undone = records.filter { $0["t"]?.stringValue == "undone" }.compactMap { $0["seq"]?.intValue }
            #expect(undone.count == 400 && Set(undone).count == 400, "every effect undone exactly once: \(undone.count)")
            #expect(try Posix.list(dir).isEmpty, "the files are gone")
            #expect(try box.status(of: id) == "undone")
        }
    }

    @Test("an undo waiting on a running one is refused while it runs; after it, the run is simply undone (exit 2)")
    func undoWhileUndoing() throws {
        // The holder is this test process itself (a POSIX record lock on the run's undo.lock,
        // as an undo in progress holds it): the refusal is certain, whatever the machine's speed.
        let held = try Sandbox()
        try held.addRunbook("many", UndoLockAndStartTests.many)
        let heldRun = try held.runbook(["run", "many", "--dir", held.tree, "--count", "3"])
        let heldID = try #require(heldRun.runID)
        let lockPath = held.runsDirectory + "/\(heldID)/undo.lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(descriptor >= 0)
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        #expect(fcntl(descriptor, F_SETLK, &lock) == 0)
        let refusedWhileHeld = try held.runbook(["undo", heldID])
        #expect(refusedWhileHeld.exitCode == 3 && refusedWhileHeld.stderr.contains("is held by pid \(getpid())"), "\(refusedWhileHeld)")
        close(descriptor)
        let afterRelease = try held.runbook(["undo", heldID])
        #expect(afterRelease.exitCode == 0, "\(afterRelease)")

        let box = try Sandbox(runbook: "many", UndoLockAndStartTests.many)
        let run = try box.runbook(["run", "many", "--dir", box.tree, "--count", "3000"], timeout: 180)
        let id = try #require(run.runID)
        let first = try box.start(["undo", id])
        #expect(first.waitForOutput("undo of run \(id)"), "the first undo holds the lock")
        let second = try box.runbook(["undo", id])
        let secondJSON = try box.runbook(["undo", id, "--json"])
        let firstResult = first.wait(timeout: 180)
        #expect(firstResult.exitCode == 0, "\(firstResult)")
        #expect(second.exitCode == 3 && second.stderr.contains("is held by pid \(first.pid)"), "\(second)")
        let locked = secondJSON.events("run_finished")
        #expect(secondJSON.exitCode == 3 && locked.count == 1 && locked.first?["status"]?.stringValue == "locked"
                && secondJSON.stderr.isEmpty, "\(secondJSON)")
        let after = try box.runbook(["undo", id])
        #expect(after.exitCode == 2 && after.stderr.contains("already undone"), "\(after)")
    }

    @Test("SIGTERM at many tiny delays into `runbook run`: no half record; history, log and undo handle every leftover")
    func signalledStartUp() throws {
        let box = try Sandbox(runbook: "many", UndoLockAndStartTests.many)
        var outcomes: [String: Int] = [:]
        let delays: [useconds_t] = [0, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 20000, 25000,
                                    30000, 40000, 50000, 60000, 80000, 100000]
        for (index, delay) in (delays + delays).enumerated() {
            let dir = box.tree + "/d\(index)"
            try Files.mkdir(dir)
            let child = try box.start(["run", "many", "--dir", dir, "--count", "5", "--fail", "false"])
            usleep(delay)
            child.send(SIGTERM)
            let result = child.wait(timeout: 60)
            let outcome = result.signal.map { "signal \($0)" } ?? "exit \(result.exitCode ?? -1)"
            outcomes[outcome, default: 0] += 1
            #expect(result.signal == SIGTERM || [0, 130].contains(result.exitCode ?? -1), "delay \(delay) µs: \(result)")
        }
        print("signalled start-up outcomes: \(outcomes.sorted { $0.key < $1.key })")

        // Every run folder holds a whole record; history lists each of them.
        let folders = box.runIDs()
        for id in folders {
            #expect(Files.exists(box.runsDirectory + "/\(id)/run.json"), "run \(id) has its record: \((try? Posix.list(box.runsDirectory + "/\(id)")) ?? [])")
        }
        let history = try box.history()
        #expect(Set(history.compactMap { $0["id"]?.stringValue }) == Set(folders), "history lists every run folder")
        for run in history {
            let id = try #require(run["id"]?.stringValue)
            let status = run["status"]?.stringValue ?? "?"
            #expect(["succeeded", "interrupted"].contains(status), "run \(id): \(status)")
            let log = try box.runbook(["log", id])
            #expect(log.exitCode == 0 && log.stdout.contains("status: \(status)"), "\(log)")
            let undo = try box.runbook(["undo", id])
            #expect(undo.exitCode == 0, "run \(id) (\(status)): \(undo)")
            #expect(try box.status(of: id) == "undone", "run \(id)")
        }
        // A folder an older version left with half a record: left out of history; undo and log say so.
        let half = box.runsDirectory + "/20260101-000000-abcdef"
        try Files.mkdir(half)
        try Files.write(half + "/run.json.tmp", "{\"id\":")
        #expect(try box.history().count == history.count)
        for command in ["undo", "log"] {
            let refused = try box.runbook([command, "20260101-000000-abcdef"])
            #expect(refused.exitCode == 2 && refused.stderrLines.count == 1 && refused.stderr.contains("has no record"), "\(refused)")
        }
        for index in 0..<(delays.count * 2) {
            #expect(try Posix.list(box.tree + "/d\(index)").isEmpty, "every file written was undone (d\(index))")
        }
    }

    @Test("undo works from the run's own root; a root that is gone is said, and / is used")
    func undoFromTheRunRoot() throws {
        let box = try Sandbox(runbook: "many", UndoLockAndStartTests.many)
        let root = box.tree + "/root"
        try Files.mkdir(root)
        try Files.mkdir(root + "/site")
        let run = try box.runbook(["--root", root, "run", "many", "--dir", "/site", "--count", "3"])
        #expect(run.exitCode == 1 && Files.exists(root + "/site/f3.txt"), "\(run)")
        let id = try #require(run.runID)
        #expect(try box.history().first?["root"]?.stringValue == root)
        let undo = try box.runbook(["undo", id])
        #expect(undo.exitCode == 0 && !undo.stdout.contains("no longer exists"), "\(undo)")
        #expect(try Posix.list(root + "/site").isEmpty, "undone under the run's root")

        let again = try box.runbook(["--root", root, "run", "many", "--dir", "/site", "--count", "3"])
        let againID = try #require(again.runID)
        #expect(rename(root, box.tree + "/moved") == 0)
        let orphan = try box.runbook(["undo", againID])
        #expect(orphan.exitCode != nil, "no crash\n\(orphan)")
        #expect(orphan.stdout.contains("the run's root \(root) no longer exists; undoing with paths from /"), "\(orphan)")
    }
}
