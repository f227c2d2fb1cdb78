// Shared helpers for the engine's tests. Everything here uses real components: real files
// under a mkdtemp directory, the private MariaDB that scripts/test-db started
// (RUNBOOK_TEST_MYSQL_SOCKET), and the real `runbook` binary run as a child process.

import MySQLClient
import RunbookSupport
import Testing
@testable import RunbookEngine

// MARK: - Errors that fail a test with a clear message

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A database test never skips: without the server it fails with this message.
struct MissingTestServer: Error, CustomStringConvertible {
    var description: String {
        "RUNBOOK_TEST_MYSQL_SOCKET is not set: the database tests need the private MariaDB server. "
            + "Run them through: scripts/test-db run swift test --filter RunbookEngineTests"
    }
}

// MARK: - Small file helpers

enum Files {
    static func write(_ path: String, _ text: String, mode: UInt32 = 0o644) throws {
        try Posix.writeFile(path, Array(text.utf8), mode: mode)
        chmod(path, mode_t(mode))
    }

    static func mkdir(_ path: String, mode: UInt32 = 0o755) throws {
        try Posix.makeDirectories(path, mode: mode)
        chmod(path, mode_t(mode))
    }

    static func symlink(_ target: String, _ path: String) throws {
        if Glibc.symlink(target, path) != 0 { throw SystemError("symlink", path) }
    }

    static func read(_ path: String) -> String? { try? Posix.readText(path) }

    static func exists(_ path: String) -> Bool { Posix.lstatInfo(path) != nil }

    /// The main config of a private nginx on 127.0.0.1: its pid, error log and temporary
    /// folders under `folder`, `http` inside its http block. Workers run as root when asked
    /// (the sandbox folders are private: mkdtemp, 0700).
    static func nginxConfig(_ folder: String, http: String, connections: Int = 32, workersAsRoot: Bool = false) -> String {
        (workersAsRoot ? "user root root;\n" : "") + """
            worker_processes 1;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log;
            events { worker_connections \(connections); }
            http {
              access_log off;
              client_body_temp_path \(folder)/tmp-body; proxy_temp_path \(folder)/tmp-proxy;
              fastcgi_temp_path \(folder)/tmp-fcgi; uwsgi_temp_path \(folder)/tmp-uwsgi; scgi_temp_path \(folder)/tmp-scgi;
            \(http)
            }

            """
    }

    /// Every file below `directory` (recursively), as full paths.
    static func allFiles(_ directory: String) -> [String] {
        guard let info = Posix.lstatInfo(directory) else { return [] }
        if info.kind != .directory { return [directory] }
        return ((try? Posix.list(directory)) ?? []).flatMap { allFiles(directory + "/" + $0) }
    }
}

// MARK: - Scripted invocations

/// `arguments` as a script passes them: a real run (`run` without --dry-run, --yes or
/// --plan-file) gets --yes, as cron lines and the queue worker pass it; off a terminal a
/// real run without it is refused (exit 2). Everything else is left as given. The flag
/// goes right after `run`, before any `--` that ends the options.
func scripted(_ arguments: [String]) -> [String] {
    var index = 0
    // Engine options (`--config FILE`, ...) may come before the subcommand.
    while index + 1 < arguments.count, arguments[index].hasPrefix("--") { index += 2 }
    guard index < arguments.count, arguments[index] == "run" else { return arguments }
    let rest = arguments[(index + 1)...].prefix { $0 != "--" }
    if rest.contains("--dry-run") || rest.contains("--yes") || rest.contains("--plan-file") { return arguments }
    return Array(arguments[...index]) + ["--yes"] + arguments[(index + 1)...]
}

// MARK: - Tree fingerprints

/// What an operator would compare to say "the tree is exactly as it was": every path with
/// its type, permission bits, owner, and content or link target.
struct TreeFingerprint: Equatable, CustomStringConvertible {
    var entries: [String: String]

    init(_ root: String) {
        entries = [:]
        TreeFingerprint.walk(root, relative: ".", into: &entries)
    }

    private static func walk(_ path: String, relative: String, into entries: inout [String: String]) {
        guard let info = Posix.lstatInfo(path) else {
            entries[relative] = "(missing)"
            return
        }
        if info.kind == .directory {
            for name in (try? Posix.list(path)) ?? [] {
                walk(path + "/" + name, relative: relative + "/" + name, into: &entries)
            }
        }
        entries[relative] = entryLine(path, info)
    }

    /// One entry as an operator compares it: its type, permission bits, owner, and content
    /// or link target.
    static func entryLine(_ path: String, _ info: FileInfo) -> String {
        var line = "\(info.kind.rawValue) mode=\(String(info.mode, radix: 8)) owner=\(info.uid):\(info.gid)"
        switch info.kind {
        case .file:
            let bytes = (try? Posix.readFile(path)) ?? []
            line += " size=\(bytes.count) content=\(JSON.string(String(decoding: bytes, as: UTF8.self)).serialized)"
        case .symlink:
            line += " -> \(Posix.readLink(path) ?? "?")"
        case .directory, .other:
            break
        }
        return line
    }

    var description: String { entries.keys.sorted().map { "\($0): \(entries[$0]!)" }.joined(separator: "\n") }

    /// The differences, one line each, for a failure message.
    func difference(from other: TreeFingerprint) -> String {
        var lines: [String] = []
        for key in Set(entries.keys).union(other.entries.keys).sorted() where entries[key] != other.entries[key] {
            lines.append("\(key):\n    before: \(other.entries[key] ?? "(absent)")\n    after:  \(entries[key] ?? "(absent)")")
        }
        return lines.joined(separator: "\n")
    }
}

/// Expects `after` to equal `before`, showing the differing paths when it does not.
func expectSameTree(_ before: TreeFingerprint, _ after: TreeFingerprint, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation)
{
    #expect(before == after, "\(what): the tree changed:\n\(after.difference(from: before))", sourceLocation: sourceLocation)
}

func expectSameRows(_ before: [String], _ after: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let removed = before.filter { !after.contains($0) }
    let added = after.filter { !before.contains($0) }
    #expect(before == after, "\(what): the database changed:\n  missing now: \(removed)\n  new: \(added)",
            sourceLocation: sourceLocation)
}

// MARK: - The test database

/// A uniquely named database on the private test server, dropped when this goes away.
final class TestDatabase {
    let name: String
    let socket: String
    let connection: Connection
    private let admin: Connection

    static func socketPath() throws -> String {
        guard let value = Posix.environment("RUNBOOK_TEST_MYSQL_SOCKET"), !value.isEmpty else { throw MissingTestServer() }
        return value
    }

    init(label: String = "rb") throws {
        socket = try TestDatabase.socketPath()
        name = "rbtest_\(label)_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        do {
            admin = try Connection(ConnectionOptions(socket: socket, user: "root"))
        } catch {
            throw TestSetupError("cannot connect to the test server at \(socket): \(error)")
        }
        try admin.executeText("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        connection = try Connection(ConnectionOptions(socket: socket, user: "root", database: name))
    }

    deinit {
        connection.close()
        _ = try? admin.executeText("DROP DATABASE IF EXISTS `\(name)`")
        admin.close()
    }

    /// Runs statements separated by ";" at the end of a line (schema and seed data).
    func run(_ script: String) throws {
        for statement in script.split(separator: ";\n").map(String.init) where !statement.allSatisfy(\.isWhitespace) {
            try connection.executeText(statement)
        }
    }

    func query(_ sql: String, _ params: [SQLValue] = []) throws -> [Row] { try connection.query(sql, params).rows }

    /// Every table's definition and every row, in a stable order. The AUTO_INCREMENT
    /// counter is part of the definition only when asked: an undone insert legitimately
    /// leaves the counter advanced, a dry-run must not even do that.
    func dump(withAutoIncrement: Bool = false) throws -> [String] {
        var lines: [String] = []
        let tables = try query("SHOW TABLES").compactMap { $0[0].string }.sorted()
        for table in tables {
            var create = try query("SHOW CREATE TABLE `\(table)`").first?[1].string ?? ""
            if !withAutoIncrement {
                create = create.split(separator: " ").filter { !$0.hasPrefix("AUTO_INCREMENT=") }.joined(separator: " ")
            }
            lines.append("table \(table): \(create)")
            let result = try connection.query("SELECT * FROM `\(table)`")
            let order = (1...max(1, result.columns.count)).map(String.init).joined(separator: ", ")
            for row in try query("SELECT * FROM `\(table)` ORDER BY \(order)") {
                lines.append("\(table): " + zip(row.columns, row.values).map { "\($0)=\($1)" }.joined(separator: " "))
            }
        }
        return lines
    }

    func count(_ table: String) throws -> Int64 { try query("SELECT COUNT(*) FROM `\(table)`").first?[0].int64 ?? -1 }
}

// MARK: - Running the real binary

/// How a child process ended and what it printed.
struct ProcessResult: CustomStringConvertible {
    /// The exit status, or nil when a signal killed it.
    var exitCode: Int32?
    var signal: Int32?
    var stdout: String
    var stderr: String
    var timedOut = false

    var description: String {
        "exit=\(exitCode.map(String.init) ?? "-") signal=\(signal.map(String.init) ?? "-")\(timedOut ? " TIMED OUT" : "")\n"
            + "--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }

    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    /// The JSON events of a `--json` run.
    var events: [JSON] { stdoutLines.compactMap { try? JSON.parse($0) }.filter { $0["event"] != nil } }
    func events(_ type: String) -> [JSON] { events.filter { $0["event"]?.stringValue == type } }
    /// The run id, from `--json` (run_started) or human output ("run ID  name").
    var runID: String? {
        if let id = events("run_started").first?["run"]?.stringValue { return id }
        for line in stdoutLines where line.hasPrefix("run ") {
            return line.split(separator: " ").dropFirst().first.map(String.init)
        }
        return nil
    }
}

/// A running child process whose stdout and stderr go to files.
final class ChildProcess {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private(set) var result: ProcessResult?

    init(executable: String, arguments: [String], environment: [String: String], stdoutPath: String, stderrPath: String) throws {
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default dispositions and nothing blocked, whatever the test
        // runner did with its own signals (the SIGTERM test depends on it).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, signal) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw TestSetupError("posix_spawn \(executable): \(String(cString: strerror(status)))") }
        pid = child
    }

    deinit {
        if result == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    var stdout: String { Files.read(stdoutPath) ?? "" }
    var stderr: String { Files.read(stderrPath) ?? "" }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Reaps the child if it has ended.
    func poll() -> ProcessResult? {
        if let result { return result }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        guard reaped == pid else { return nil }
        finish(status, timedOut: false)
        return result
    }

    /// Waits for the child, killing it after `timeout` seconds (the result says so).
    @discardableResult
    func wait(timeout: Double = 30) -> ProcessResult {
        let deadline = Clock.monotonic() + timeout
        while true {
            if let result = poll() { return result }
            if Clock.monotonic() >= deadline {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                finish(status, timedOut: true)
                return result!
            }
            usleep(2000)
        }
    }

    private func finish(_ status: Int32, timedOut: Bool) {
        let signal = status & 0x7f
        result = ProcessResult(exitCode: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
                               stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Waits until the child's stdout contains `text` (or it ends, or time runs out).
    func waitForOutput(_ text: String, timeout: Double = 20) -> Bool {
        let deadline = Clock.monotonic() + timeout
        while Clock.monotonic() < deadline {
            if stdout.contains(text) { return true }
            if poll() != nil { return stdout.contains(text) }
            usleep(5000)
        }
        return false
    }
}

/// The `runbook` executable the tests run: next to the test bundle in .build/<config>/.
enum RunbookBinary {
    static let path: String? = locate()

    static func require() throws -> String {
        guard let path else {
            throw TestSetupError("cannot find the runbook binary next to the test bundle (\(executablePath())) "
                                 + "or in .build/debug: run `swift build` first, or set RUNBOOK_BINARY")
        }
        return path
    }

    private static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, 4095)
        return count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    private static func locate() -> String? {
        if let explicit = Posix.environment("RUNBOOK_BINARY"), isExecutableFile(explicit) { return explicit }
        // Walk up from the test executable (.build/<triple>/debug/runbookPackageTests.xctest)
        // to the build directory that holds the runbook binary.
        var directory = PathName.parent(executablePath())
        while directory.count > 1 {
            if isExecutableFile(directory + "/runbook") { return directory + "/runbook" }
            if PathName.base(directory) == ".build" {
                for configuration in ["debug", "release"] where isExecutableFile(directory + "/\(configuration)/runbook") {
                    return directory + "/\(configuration)/runbook"
                }
            }
            directory = PathName.parent(directory)
        }
        let fallback = Posix.currentDirectory + "/.build/debug/runbook"
        return isExecutableFile(fallback) ? fallback : nil
    }
}

// MARK: - A sandbox per test

/// One test's world: a temporary directory with the tree the runbooks change, a state
/// dir, a runbooks dir and a config file; optionally its own database. Removed (and the
/// database dropped) when the test ends.
final class Sandbox {
    let base: String
    let database: TestDatabase?
    private var outputCounter = 0

    var tree: String { base + "/tree" }
    var state: String { base + "/state" }
    var runbooks: String { base + "/runbooks" }
    var config: String { base + "/config.toml" }
    var runsDirectory: String { state + "/runs" }

    convenience init(database withDatabase: Bool = false) throws {
        var template = Array("/tmp/rbtest.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestSetupError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        try self.init(at: String(cString: made), database: withDatabase)
    }

    /// A sandbox in the empty directory `base` (a fixed path a fixture's journals name).
    init(at base: String, database withDatabase: Bool = false) throws {
        self.base = base
        do {
            database = withDatabase ? try TestDatabase() : nil
            try Files.mkdir(tree)
            try Files.mkdir(runbooks)
            try Files.mkdir(base + "/out")
            var toml = "# written by the engine tests\n"
            if let database {
                toml += "[databases.test]\nsocket = \"\(database.socket)\"\nuser = \"root\"\ndatabase = \"\(database.name)\"\n"
            }
            try Files.write(config, toml)
        } catch {
            try? Posix.removeTree(base)
            throw error
        }
    }

    deinit { try? Posix.removeTree(base) }

    var db: TestDatabase {
        get throws {
            guard let database else { throw TestSetupError("this sandbox has no database") }
            return database
        }
    }

    func addRunbook(_ name: String, _ source: String) throws { try Files.write(runbooks + "/\(name).lua", source) }

    /// The engine options every invocation gets: nothing comes from the host's config.
    var engineOptions: [String] { ["--config", config, "--state-dir", state, "--runbooks", runbooks] }

    func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ["PATH": Posix.environment("PATH") ?? "/usr/bin:/bin", "HOME": base, "LANG": "C.UTF-8", "NO_COLOR": "1"]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Starts `runbook <engine options> ARGS...` without waiting (a real run with --yes: `scripted`).
    func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ChildProcess {
        try startAsTyped(scripted(arguments), environment: extra)
    }

    /// Starts `runbook <engine options> ARGS...` exactly as given (a real run without
    /// --yes is refused off a terminal).
    func startAsTyped(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ChildProcess {
        outputCounter += 1
        let prefix = base + "/out/\(outputCounter)"
        return try ChildProcess(executable: try RunbookBinary.require(), arguments: engineOptions + arguments,
                                environment: environment(extra), stdoutPath: prefix + ".stdout", stderrPath: prefix + ".stderr")
    }

    /// Runs `runbook <engine options> ARGS...` and waits for it.
    @discardableResult
    func runbook(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 30) throws -> ProcessResult {
        let child = try start(arguments, environment: extra)
        let result = child.wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("runbook \(arguments.joined(separator: " ")) timed out after \(timeout) s\n\(result)") }
        return result
    }

    /// The run folders in the state dir.
    func runIDs() -> [String] { ((try? Posix.list(runsDirectory)) ?? []).sorted() }

    /// `runbook history --json`, one object per run.
    func history() throws -> [JSON] {
        let result = try runbook(["history", "--json", "--limit", "1000"])
        guard result.exitCode == 0 else { throw TestSetupError("runbook history failed\n\(result)") }
        return result.stdoutLines.compactMap { try? JSON.parse($0) }
    }

    func status(of runID: String) throws -> String? {
        try history().first { $0["id"]?.stringValue == runID }?["status"]?.stringValue
    }
}

// MARK: - Comparing plans with what was applied

/// One effect as `--json` reports it (effect_planned or effect_applied).
struct ReportedEffect: CustomStringConvertible {
    var kind: String
    var sign: String
    var step: String
    var identity: JSON

    init(_ event: JSON) {
        kind = event["kind"]?.stringValue ?? "?"
        sign = event["sign"]?.stringValue ?? "?"
        step = event["step"]?.stringValue ?? "?"
        identity = event["identity"] ?? .null
    }

    var description: String { "\(sign) \(kind) [\(step)] \(identity.serialized)" }

    /// Planned values "(known after apply: ...)" match anything.
    func matches(applied: ReportedEffect) -> Bool {
        kind == applied.kind && sign == applied.sign && step == applied.step
            && ReportedEffect.match(planned: identity, applied: applied.identity)
    }

    static func match(planned: JSON, applied: JSON) -> Bool {
        if let text = planned.stringValue, text.hasPrefix("(known after apply") { return true }
        switch (planned, applied) {
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { match(planned: $0, applied: $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { key, value in b.first { $0.0 == key }.map { match(planned: value, applied: $0.1) } ?? false }
        default:
            return planned == applied
        }
    }
}
