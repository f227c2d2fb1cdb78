// Private MariaDB servers for the database workloads (W4, W5), started the way the test
// suites start theirs: `scripts/test-db start` (its own datadir, unix socket only, no TCP,
// no my.cnf, root through the socket) with TMPDIR pointing where the datadir should go.
// One on the bench's tmpfs, one on disk; each starts on first use and all are stopped by
// `SharedDatabases.stopAll()` at the end of the run (bench/run also stops any left over,
// e.g. after Ctrl-C, before it unmounts the tmpfs).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One running private server.
final class PrivateDatabase {
    /// Where its files are (what `scripts/test-db stop` takes).
    let directory: String
    let socket: String
    /// The filesystem its datadir is on (for the table headers).
    let filesystem: String
    private let project: String
    private let client: String
    private var stopped = false

    /// Starts a server whose directory is made inside `parent`.
    init(project: String, parent: String) throws {
        self.project = project
        guard let client = Programs.findInPath("mariadb") ?? Programs.findInPath("mysql") else {
            throw BenchFailure("no mariadb client in PATH (scripts/setup installs mariadb-server)")
        }
        self.client = client
        let report = parent + "/test-db.start", errorLog = parent + "/test-db.stderr"
        try runChild([project + "/scripts/test-db", "start"], errorLog: errorLog, output: report,
                     environment: ["TMPDIR": parent])
        // `export RUNBOOK_TEST_MYSQL_SOCKET=...` and `export RUNBOOK_TEST_MYSQL_DIR=...`,
        // quoted by printf %q (our paths need no quoting).
        var values: [String: String] = [:]
        for line in readTextFile(report).split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1)
            guard words.count == 2, words[0] == "export" else { continue }
            let pair = words[1].split(separator: "=", maxSplits: 1)
            if pair.count == 2 { values[String(pair[0])] = String(pair[1]) }
        }
        guard let socket = values["RUNBOOK_TEST_MYSQL_SOCKET"], let directory = values["RUNBOOK_TEST_MYSQL_DIR"],
              socket.hasPrefix("/"), directory.hasPrefix("/") else {
            throw BenchFailure("scripts/test-db start gave no socket: \(readTextFile(report)) \(readTextFile(errorLog))")
        }
        self.socket = socket
        self.directory = directory
        filesystem = filesystemName(directory)
    }

    deinit { stop() }

    /// Runs SQL through the mariadb client as root (the socket's owner), in `database`.
    /// Never timed.
    func sql(_ text: String, database: String? = nil, scratch: String) throws {
        let file = scratch + "/statement.sql"
        try writeTextFile(file, text)
        try runChild(["/bin/sh", "-c", "exec \"$0\" --no-defaults --socket=\"$1\" --user=root $2 < \"$3\"",
                      client, socket, database ?? "", file], errorLog: scratch + "/sql.stderr")
    }

    /// The first column of the first row of a query, as text.
    func value(_ query: String, database: String? = nil, scratch: String) throws -> String {
        let output = scratch + "/sql.out"
        try runChild([client, "--no-defaults", "--socket=" + socket, "--user=root", "--batch", "--skip-column-names",
                      "-e", query] + (database.map { [$0] } ?? []),
                     errorLog: scratch + "/sql.stderr", output: output)
        return readTextFile(output).split(separator: "\n").first.map(String.init) ?? ""
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        _ = try? runChild([project + "/scripts/test-db", "stop", directory], errorLog: "/dev/null")
    }
}

/// The servers of this run: at most one on the tmpfs and one on disk.
enum SharedDatabases {
    nonisolated(unsafe) private static var memoryServer: PrivateDatabase?
    nonisolated(unsafe) private static var diskServer: PrivateDatabase?
    nonisolated(unsafe) private static var diskParent: (path: String, made: Bool)?

    /// A server whose datadir is on the bench's tmpfs (--scratch, else /dev/shm).
    static func memory(_ options: BenchOptions) throws -> PrivateDatabase {
        if let memoryServer { return memoryServer }
        let parent = (options.scratch ?? "/dev/shm") + "/databases"
        try makeDirectory(parent)
        let server = try PrivateDatabase(project: try Programs.project(options), parent: parent)
        memoryServer = server
        return server
    }

    /// A server whose datadir is on disk (--disk-scratch, else a new directory in $TMPDIR).
    static func disk(_ options: BenchOptions) throws -> PrivateDatabase {
        if let diskServer { return diskServer }
        let parent: String
        if let given = options.diskScratch {
            parent = given
            diskParent = (given, false)
        } else {
            let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            var template = Array("\(base)/runbook-bench-disk.XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw BenchFailure("cannot make a directory in \(base)") }
            parent = String(cString: made)
            diskParent = (parent, true)
        }
        let server = try PrivateDatabase(project: try Programs.project(options), parent: parent)
        diskServer = server
        return server
    }

    static func stopAll() {
        memoryServer?.stop()
        diskServer?.stop()
        memoryServer = nil
        diskServer = nil
        if let diskParent, diskParent.made { try? removeTree(diskParent.path) }
        diskParent = nil
    }
}
