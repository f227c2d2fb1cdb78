// The platform lab (scripts/lab, docs/lab.md) for tests: a lab in a sandbox folder, a
// command run on one of its hosts, SQL on a host's MariaDB through its socket file (the
// machine never talks TCP to a lab address), and what `down` must leave behind: nothing.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing

/// scripts/lab of this checkout.
enum LabScript {
    static var path: String { DemoWorldScript.project + "/scripts/lab" }
}

/// A lab in a sandbox folder; taken down when this goes away (also when the test failed).
final class Lab {
    let box: Sandbox
    let directory: String
    /// How long `scripts/lab up` took, in milliseconds.
    private(set) var upMilliseconds = 0
    private(set) var env: [String: String] = [:]
    private var counter = 0

    static let hosts = ["d1", "d2", "cloud-db1", "master", "tmp-cloud", "client"]

    /// A sandbox and its folder for a lab, not started yet.
    init(box: Sandbox? = nil) throws {
        self.box = try box ?? Sandbox()
        directory = self.box.base + "/lab"
    }

    /// Builds and starts the lab; a failed `up` is taken down before the error is thrown.
    /// The lab's owner is this test process (or `owner`): if it is killed, the lab's
    /// guardian takes the lab down.
    static func up(owner: pid_t = getpid()) throws -> Lab {
        let lab = try Lab()
        let started = Clock.monotonic()
        let result = try lab.script(["up", "--owner", String(owner), lab.directory], timeout: 90)
        lab.upMilliseconds = Int((Clock.monotonic() - started) * 1000)
        guard result.exitCode == 0 else { throw TestSetupError("scripts/lab up failed\n\(result)") }
        try lab.readEnv()
        return lab
    }

    deinit {
        if Files.exists(directory + "/lab.id") { _ = try? script(["down", directory], timeout: 60) }
    }

    /// Runs scripts/lab ARGS.
    @discardableResult
    func script(_ arguments: [String], timeout: Double = 60) throws -> ChildResult {
        let child = try startScript(arguments)
        let result = child.wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("scripts/lab \(arguments.joined(separator: " ")) timed out\n\(result)") }
        return result
    }

    /// Starts scripts/lab ARGS without waiting (a test kills it midway).
    func startScript(_ arguments: [String]) throws -> ChildProcess {
        counter += 1
        return try ChildProcess(executable: LabScript.path, arguments: arguments, environment: box.environment([:]),
                                stdoutPath: box.base + "/out/lab-\(counter).stdout",
                                stderrPath: box.base + "/out/lab-\(counter).stderr")
    }

    /// `scripts/lab exec DIR HOST -- COMMAND...`: the command runs on the host.
    func exec(_ host: String, _ command: [String], timeout: Double = 30) throws -> ChildResult {
        try script(["exec", directory, host, "--"] + command, timeout: timeout)
    }

    /// Reads DIR/lab.env (KEY='value' lines).
    func readEnv() throws {
        let text = try #require(Files.read(directory + "/lab.env"), "lab.env is written")
        env = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: equals)...])
            value = value.replacingOccurrences(of: "'\\''", with: "'")
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            env[String(line[..<equals])] = value
        }
    }

    func value(_ key: String) throws -> String { try #require(env[key], "lab.env has \(key)") }

    /// The lab.env prefix of a host: LAB_CLOUD_DB1 for cloud-db1.
    static func envPrefix(_ host: String) -> String { "LAB_" + host.replacingOccurrences(of: "-", with: "_").uppercased() }

    /// Where the host's own files are on this machine (its /usr/home is FILES/usr/home).
    func files(_ host: String) throws -> String { try value(Lab.envPrefix(host) + "_FILES") }

    // MARK: Databases

    /// A root connection to the host's MariaDB through its socket file.
    func database(_ host: String) throws -> Connection {
        let socket = try value(Lab.envPrefix(host) + "_MYSQL_SOCKET")
        return try Connection(ConnectionOptions(socket: socket, user: "root"))
    }

    /// The first row of `statement` on `host` as column -> text.
    func firstRow(_ host: String, _ statement: String) throws -> [String: String] {
        let db = try database(host)
        defer { db.close() }
        guard let row = try db.query(statement).rows.first else { return [:] }
        var values: [String: String] = [:]
        for (index, column) in row.columns.enumerated() {
            switch row[index] {
            case .null: values[column] = "NULL"
            case .int(let number): values[column] = String(number)
            case .uint(let number): values[column] = String(number)
            case .double(let number): values[column] = String(number)
            case .string(let text): values[column] = text
            case .bytes(let bytes): values[column] = String(decoding: bytes, as: UTF8.self)
            }
        }
        return values
    }

    // MARK: What the lab leaves behind

    /// Every process the lab recorded (holders and daemons), with its command line now.
    func recordedProcesses() -> [pid_t: String] {
        var processes: [pid_t: String] = [:]
        for file in Files.allFiles(directory + "/run") where file.hasSuffix(".pid") {
            guard let text = Files.read(file), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            processes[pid] = Lab.commandLine(pid) ?? "(gone)"
        }
        return processes
    }

    static func commandLine(_ pid: pid_t) -> String? {
        guard let bytes = try? Posix.readFile("/proc/\(pid)/cmdline"), !bytes.isEmpty else { return nil }
        // A zombie has an empty command line: it is gone for all purposes.
        return String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    /// The lab's network namespaces that exist on the machine.
    func namespaces() -> [String] {
        guard let id = Files.read(directory + "/lab.id")?.trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty else { return [] }
        return ((try? Posix.list("/run/netns")) ?? []).filter { $0.hasPrefix("rblab-\(id)-") }.sorted()
    }

    /// Lines of the machine's own mount table that mention the lab's folder.
    func machineMounts() -> [String] {
        (Files.read("/proc/self/mounts") ?? "").split(separator: "\n").map(String.init).filter { $0.contains(directory) }
    }

    /// What is left of the lab after `down`: namespaces, mounts, and recorded processes that
    /// still run (`before` maps pid -> command line taken while the lab was up).
    func leftovers(of before: [pid_t: String]) -> [String] {
        var left = namespaces().map { "namespace " + $0 } + machineMounts().map { "mount " + $0 }
        for (pid, command) in before.sorted(by: { $0.key < $1.key }) where Lab.commandLine(pid) == command {
            left.append("process \(pid): \(command)")
        }
        return left
    }
}

extension Lab {
    /// `scripts/lab reset`: the hosts' folders back to how `up` left them, and no database
    /// or user that `up` did not make (d2's replica included).
    func reset() throws {
        let result = try script(["reset", directory])
        guard result.exitCode == 0 else { throw TestSetupError("scripts/lab reset failed\n\(result)") }
    }
}

/// One lab per test process, started by the first test that asks and reset before every
/// use; one test at a time. Nothing takes it down at the end of a test: its guardian does
/// when the test process ends (`up --owner`), and removes its files.
enum SharedLab {
    nonisolated(unsafe) private static var lab: Lab?
    private static let lock = NSLock()

    static func use<T>(_ body: (Lab) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if let lab {
            try lab.reset()
        } else {
            let started = try Lab.up()
            print("lab: the shared lab came up in \(started.upMilliseconds) ms in \(started.directory)")
            lab = started
        }
        return try body(lab!)
    }
}

/// The runs a lab test makes on d1 and undoes, newest first: `undoAll` when the test is done
/// with them, `undoLeft` (in a `defer`) for whatever a failure left behind.
final class RunsOnD1 {
    let lab: Lab
    private(set) var ids: [String] = []

    init(_ lab: Lab) { self.lab = lab }

    /// `runbook WORDS --yes --json` on d1: it must succeed, and is remembered for undo.
    @discardableResult
    func run(_ words: [String]) throws -> ChildResult {
        let result = try lab.runbookOnD1(words + ["--yes", "--json"], timeout: 300)
        #expect(result.exitCode == 0, "\(words.prefix(2)): \(result)")
        ids.append(try #require(DemoWorld.runID(result), "\(result)"))
        return result
    }

    /// Forgets the newest run (the test undoes it its own way); its id.
    func takeLast() -> String { ids.removeLast() }

    /// Undoes every remembered run, newest first; each undo must succeed.
    func undoAll() throws {
        for id in ids.reversed() {
            let undo = try lab.runbookOnD1(["undo", id], timeout: 300)
            #expect(undo.exitCode == 0, "undo \(id): \(undo)")
        }
        ids = []
    }

    /// Undoes what is left, quietly (after a failure).
    func undoLeft() {
        for id in ids.reversed() { _ = try? lab.runbookOnD1(["undo", id], timeout: 300) }
        ids = []
    }
}
