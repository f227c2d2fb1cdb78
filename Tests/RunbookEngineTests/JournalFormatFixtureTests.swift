// The journal's on-disk format stays readable: runs made by an earlier binary (kept as a
// fixture) are shown by `runbook log` and reversed by `runbook undo` of today's binary.
//
// The fixture (Fixtures/journal-v1, see its README) was made by `makeFixture` below, run
// once with the binary of commit cfbc7a7 (before undo actions became types). Its journals
// name absolute paths under /tmp/runbook-journal-v1: the replay recreates the worlds there,
// at the same absolute path, holding a lock so two test processes never share it.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Journal format: runs made by an earlier binary", .serialized)
struct JournalFormatFixtureTests {
    static let base = "/tmp/runbook-journal-v1"
    static let fixture = PathName.parent(#filePath) + "/Fixtures/journal-v1"
    /// The runs of the fixture, in the order they were made: label, expected status and the
    /// exit status of `runbook undo` (2: nothing is left to reverse).
    static let runs: [(label: String, status: String, undoExit: Int32)] = [
        ("undone", "undone", 2), ("kept", "failed", 0), ("links", "succeeded", 0),
    ]

    @Test("runbook log and runbook undo read journals written before the change; undo restores the world")
    func olderRunsAreShownAndUndone() throws {
        let lock = try FixtureLock()
        defer { lock.release() }
        let sandbox = try Sandbox(at: try Self.freshBase(), database: true)
        let ids = try Self.loadFixture(into: sandbox)
        #expect(ids.count == Self.runs.count)

        for (run, id) in zip(Self.runs, ids) {
            #expect(try sandbox.status(of: id) == run.status, "\(run.label)")
            let log = try sandbox.runbook(["log", id])
            #expect(log.exitCode == 0, "\(log)")
            #expect(log.stdout == (try Posix.readText(Self.fixture + "/runs/\(id)/log.txt")), "runbook log \(run.label) reads as before\n\(log)")
            let plan = try sandbox.runbook(["undo", id, "--dry-run"])
            #expect(plan.stdout == (try Posix.readText(Self.fixture + "/runs/\(id)/undo-dry-run.txt")),
                    "runbook undo --dry-run \(run.label) describes each step as before\n\(plan)")
        }
        // Newest first, as an operator would.
        for (run, id) in zip(Self.runs, ids).reversed() {
            let undo = try sandbox.runbook(["undo", id])
            #expect(undo.exitCode == run.undoExit, "runbook undo \(run.label)\n\(undo)")
        }
        let worlds = TreeFingerprint(Self.base + "/worlds").description + "\n"
        let expected = try Posix.readText(Self.fixture + "/worlds-before.txt")
        #expect(worlds == expected, "the worlds are as they were before the runs")
        let rows = try sandbox.db.dump().joined(separator: "\n") + "\n"
        #expect(rows == (try Posix.readText(Self.fixture + "/db-before.txt")), "the tables are as they were before the runs")
        try? Posix.removeTree(Self.base)
    }

    // MARK: Loading the fixture

    /// The fixture's worlds (as the runs left them), tables and run folders, at `base`.
    static func loadFixture(into sandbox: Sandbox) throws -> [String] {
        try shell(["tar", "-xpf", fixture + "/worlds-after.tar", "-C", base])
        try sandbox.db.run(try Posix.readText(fixture + "/db-after.sql"))
        let ids = try Posix.readText(fixture + "/runs.txt").split(separator: "\n").map(String.init)
        for id in ids {
            let folder = sandbox.runsDirectory + "/" + id
            try Posix.makeDirectories(folder, mode: 0o700)
            for name in ["run.json", "journal.jsonl"] {
                try Posix.writeFile(folder + "/" + name, try Posix.readFile(fixture + "/runs/\(id)/\(name)"), mode: 0o600)
            }
        }
        try shell(["tar", "-xpf", fixture + "/backups.tar", "-C", sandbox.state])
        return ids
    }

    /// An empty `base` (whatever an earlier, killed test left there is removed).
    static func freshBase() throws -> String {
        try? Posix.removeTree(base)
        try Files.mkdir(base)
        return base
    }

    static func shell(_ argv: [String]) throws {
        let result = try ProcessRunner.run(argv, timeout: 60)
        guard result.succeeded else { throw TestSetupError("\(argv.joined(separator: " ")): \(result.diagnostic)") }
    }

    /// Only one test process at a time uses `base`.
    struct FixtureLock {
        let descriptor: Int32
        init() throws {
            descriptor = open(JournalFormatFixtureTests.base + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0, flock(descriptor, LOCK_EX) == 0 else { throw TestSetupError("cannot lock \(JournalFormatFixtureTests.base).lock") }
        }
        func release() { close(descriptor) }
    }

    // MARK: Making the fixture

    /// Makes the fixture with the binary being tested: only when RUNBOOK_MAKE_JOURNAL_FIXTURE=1
    /// (it was made once, before the journal's types changed; making it again with a newer
    /// binary would prove nothing about older runs).
    @Test("make the journal fixture", .enabled(if: Posix.environment("RUNBOOK_MAKE_JOURNAL_FIXTURE") == "1"))
    func makeFixture() throws {
        let lock = try FixtureLock()
        defer { lock.release() }
        let sandbox = try Sandbox(at: try Self.freshBase(), database: true)
        let worlds = Self.base + "/worlds"
        try Files.mkdir(worlds)
        try Fixtures.seedDatabase(try sandbox.db)
        try Fixtures.seedTree(worlds + "/undone")
        try Fixtures.seedTree(worlds + "/kept")
        try Self.seedLinks(worlds + "/links")
        try Files.write(Self.fixture + "/worlds-before.txt", TreeFingerprint(worlds).description + "\n")
        try Files.write(Self.fixture + "/db-before.txt", try sandbox.db.dump().joined(separator: "\n") + "\n")

        try sandbox.addRunbook("undone", Fixtures.changeEverything(onFailure: "undo", failAtEnd: true))
        try sandbox.addRunbook("kept", Fixtures.changeEverything(onFailure: "keep", failAtEnd: true))
        try sandbox.addRunbook("links", Self.linksRunbook)
        var ids: [String] = []
        for run in Self.runs {
            let result = try sandbox.runbook(["run", run.label, "--dir", worlds + "/" + run.label])
            let id = try #require(result.runID, "\(result)")
            #expect(try sandbox.status(of: id) == run.status, "\(result)")
            ids.append(id)
        }

        try Self.shell(["tar", "--numeric-owner", "-cpf", Self.fixture + "/worlds-after.tar", "-C", Self.base, "worlds"])
        let dump = try ProcessRunner.run(["mariadb-dump", "--no-defaults", "--socket", try sandbox.db.socket, "-u", "root",
                                          "--compact", "--skip-extended-insert", try sandbox.db.name], timeout: 60)
        guard dump.succeeded else { throw TestSetupError("mariadb-dump: \(dump.diagnostic)") }
        try Files.write(Self.fixture + "/db-after.sql", dump.outputText)
        try Files.write(Self.fixture + "/runs.txt", ids.joined(separator: "\n") + "\n")
        for id in ids {
            let folder = Self.fixture + "/runs/" + id
            try Posix.makeDirectories(folder, mode: 0o755)
            for name in ["run.json", "journal.jsonl"] {
                try Files.write(folder + "/" + name, try Posix.readText(sandbox.runsDirectory + "/\(id)/\(name)"))
            }
            try Files.write(folder + "/log.txt", try sandbox.runbook(["log", id]).stdout)
            try Files.write(folder + "/undo-dry-run.txt", try sandbox.runbook(["undo", id, "--dry-run"]).stdout)
        }
        let backups = ids.map { "runs/\($0)/backups" }.filter { Files.exists(sandbox.state + "/" + $0) }
        try Self.shell(["tar", "--numeric-owner", "-cpf", Self.fixture + "/backups.tar", "-C", sandbox.state] + backups)
    }

    /// Links into a release, a private file, an old release to remove.
    static func seedLinks(_ dir: String) throws {
        try Files.mkdir(dir + "/r1/lib")
        try Files.write(dir + "/r1/lib/VERSION", "1.0\n")
        try Files.mkdir(dir + "/home")
        try Files.symlink(dir + "/r1/lib", dir + "/home/lib")
        try Files.symlink(dir + "/r1/lib/VERSION", dir + "/home/VERSION")
        try Files.symlink("/elsewhere/r1", dir + "/home/foreign")
        try Files.write(dir + "/home/private.txt", "secret-ish\n", mode: 0o644)
        try Files.mkdir(dir + "/old_release/x", mode: 0o750)
        try Files.write(dir + "/old_release/x/y.txt", "y\n", mode: 0o640)
        try Files.symlink("x/y.txt", dir + "/old_release/link")
    }

    static let linksRunbook = """
        return runbook {
          summary = "Relinks a home to a new release, tightens a mode, removes an old release",
          params = { dir = { type = "path", required = true, doc = "the tree to change" } },
          run = function(args)
            local d = args.dir
            step("Relink", function()
              fs.mkdir(d .. "/r2/lib")
              fs.write(d .. "/r2/lib/VERSION", "2.0\\n")
              fs.relink_tree(d .. "/home", d .. "/r1", d .. "/r2")
              fs.symlink(d .. "/r2", d .. "/current")
            end)
            step("Modes and removal", function()
              fs.chmod(d .. "/home/private.txt", "0600")
              fs.remove(d .. "/old_release")
              cmd.run({ "touch", d .. "/marker" }, { undo = { "rm", "-f", d .. "/marker" } })
            end)
          end,
        }
        """
}
