// Whole-process measurements: the programs under test (runbook, its baselines), a scratch
// directory on a tmpfs, and one child process started with posix_spawn and reaped with
// waitpid (the wall time is taken around both); peak memory from wait4's rusage, through
// a small launcher (peakMemory).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CBenchSupport

/// A workload that could not run (a program missing, a child that failed, set-up trouble).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Programs

/// The binaries a workload starts. `bench/run` builds them all in release mode next to
/// runbook-bench; `--runbook PATH` measures another runbook binary (before/after a change).
struct Programs {
    var runbook: String
    var hello: String
    var cBaseline: String
    var lua: String
    /// W4's C baseline (libmariadb).
    var cDatabase: String

    static func locate(_ options: BenchOptions) throws -> Programs {
        let directory = parentDirectory(executablePath())
        let programs = Programs(runbook: options.runbook ?? directory + "/runbook", hello: directory + "/bench-hello",
                                cBaseline: directory + "/bench-fs", lua: findInPath("lua5.4") ?? "/usr/bin/lua5.4",
                                cDatabase: directory + "/bench-db")
        for path in [programs.runbook, programs.hello, programs.cBaseline, programs.cDatabase] where access(path, X_OK) != 0 {
            throw BenchFailure("\(path) is missing or not executable (bench/run builds it: swift build -c release)")
        }
        return programs
    }

    /// The project: --project, or the first directory upwards from the runner that has
    /// scripts/test-db and stdlib/ (the runner is built in PROJECT/.build/...).
    static func project(_ options: BenchOptions) throws -> String {
        if let project = options.project { return project }
        var directory = parentDirectory(executablePath())
        for _ in 0..<8 {
            if access(directory + "/scripts/test-db", X_OK) == 0, access(directory + "/stdlib", F_OK) == 0 { return directory }
            if directory == "/" { break }
            directory = parentDirectory(directory)
        }
        throw BenchFailure("cannot find the project (scripts/test-db, stdlib/) above \(executablePath()): pass --project DIR")
    }

    static func executablePath() -> String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink("/proc/self/exe", &buffer, 4096)
        if count > 0 { return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return CommandLine.arguments.first ?? "."
    }

    static func findInPath(_ name: String) -> String? {
        guard let path = getenv("PATH") else { return nil }
        for directory in String(cString: path).split(separator: ":") {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

// MARK: - Scratch space

/// Where filesystem workloads make their trees and state directories: the tmpfs bench/run
/// mounts (`--scratch DIR`), or else a fresh directory under /dev/shm (a tmpfs on Linux).
/// On a disk filesystem, repeated mkdir/rm -rf makes later calls cost ~1 ms each, which
/// swamps every ratio, so a scratch directory elsewhere is refused.
final class Scratch {
    let path: String

    init(_ options: BenchOptions, name: String) throws {
        if let given = options.scratch {
            path = given + "/" + name
            try? removeTree(path)
            try makeDirectory(path)
        } else {
            var template = Array("/dev/shm/runbook-bench-\(name).XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                throw BenchFailure("cannot make a scratch directory under /dev/shm (pass --scratch DIR on a tmpfs)")
            }
            path = String(cString: made)
        }
        let kind = filesystemName(path)
        guard kind == "tmpfs" || kind == "ext4" else {
            throw BenchFailure("\(path) is on \(kind), not on a tmpfs or a fresh ext4 (pass --scratch DIR)")
        }
    }

    /// The filesystem the scratch space is on, for the table's header.
    var filesystem: String { filesystemName(path) }

    /// Removes the scratch directory (the one under /dev/shm, or ours inside --scratch).
    func remove() { try? removeTree(path) }
}

func filesystemName(_ path: String) -> String {
    switch rb_bench_filesystem_magic(path) {
    case 0x0102_1994: return "tmpfs"
    case 0xEF53: return "ext4"
    case -1: return "an unknown filesystem"
    case let magic: return "filesystem 0x" + String(magic, radix: 16)
    }
}

// MARK: - Files

func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw BenchFailure("mkdir \(path): \(errorText())") }
}

func writeTextFile(_ path: String, _ text: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw BenchFailure("write \(path): \(errorText())") }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
        throw BenchFailure("write \(path): \(errorText())")
    }
}

func readTextFile(_ path: String) -> String {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return "" }
    defer { close(descriptor) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        result.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: result, as: UTF8.self)
}

/// Names in a directory, without "." and "..".
func listDirectory(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func isSymlink(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
}

/// Removes a file, symlink or whole tree (no-op when absent). Never times anything.
func removeTree(_ path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR {
        for name in listDirectory(path) { try removeTree(path + "/" + name) }
        if rmdir(path) != 0 { throw BenchFailure("rmdir \(path): \(errorText())") }
    } else if unlink(path) != 0 {
        throw BenchFailure("unlink \(path): \(errorText())")
    }
}

func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

// MARK: - Child processes

/// What one child process cost.
struct ChildRun {
    /// posix_spawn to waitpid, in nanoseconds.
    var nanoseconds: Double
    var status: Int32
}

/// What one child process cost, with its CPU time (see runMeasured).
struct MeasuredRun {
    /// posix_spawn to exit, in nanoseconds.
    var nanoseconds: Double
    /// CPU time of the process itself (user + system), from /proc/PID/schedstat read while
    /// it is a zombie: exact, and without the programs it started. (Single-threaded
    /// processes only, like runbook: other threads' time is not in the leader's line.)
    var ownCPU: Double
    /// CPU time of the process and every child it waited for (wait4's rusage).
    var totalCPU: Double
    /// Page faults served without I/O (wait4's ru_minflt): the memory the process touched.
    var minorFaults: Double = 0
}

/// Starts `argv` (stdout to `output`, stderr to `errorLog`, `environment` over the
/// runner's), waits for it and returns its wall time. A child that does not exit 0 is an
/// error naming its stderr.
@discardableResult
func runChild(_ argv: [String], errorLog: String, output: String = "/dev/null",
              environment: [String: String] = [:]) throws -> ChildRun {
    let measured = try spawnAndWait(argv, errorLog: errorLog, output: output, environment: environment, measure: false)
    return ChildRun(nanoseconds: measured.nanoseconds, status: 0)
}

/// runChild, and the child's CPU time: its own (for "engine time") and with its children.
func runMeasured(_ argv: [String], errorLog: String, output: String = "/dev/null",
                 environment: [String: String] = [:]) throws -> MeasuredRun {
    try spawnAndWait(argv, errorLog: errorLog, output: output, environment: environment, measure: true)
}

private func spawnAndWait(_ argv: [String], errorLog: String, output: String, environment: [String: String],
                          measure: Bool) throws -> MeasuredRun {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errorLog, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

    // The C strings are made before the clock starts.
    let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for pointer in cArguments { free(pointer) } }
    var cEnvironment: [UnsafeMutablePointer<CChar>?] = []
    if !environment.isEmpty {
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if environment[name] == nil { cEnvironment.append(strdup(entry)) }
            index += 1
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) { cEnvironment.append(strdup(name + "=" + value)) }
        cEnvironment.append(nil)
    }
    defer { for pointer in cEnvironment { free(pointer) } }

    var pid: pid_t = 0
    var status: Int32 = 0
    var usage = rusage()
    var ownCPU = 0.0
    let start = monotonicNanoseconds()
    let spawned = cArguments.withUnsafeBufferPointer { arguments in
        cEnvironment.withUnsafeBufferPointer { variables in
            posix_spawn(&pid, argv[0], &actions, nil, arguments.baseAddress!,
                        variables.isEmpty ? UnsafePointer(environ) : variables.baseAddress!)
        }
    }
    guard spawned == 0 else { throw BenchFailure("cannot start \(argv[0]): \(errorText(spawned))") }
    var end: UInt64 = 0
    if measure {
        // Wait for the exit but leave the child a zombie, so /proc still has its figures.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
            guard errno == EINTR else { throw BenchFailure("waitid \(argv[0]): \(errorText())") }
        }
        end = monotonicNanoseconds()
        // The first field of schedstat: time on the CPU, in nanoseconds.
        let fields = readTextFile("/proc/\(pid)/schedstat").split(separator: " ")
        ownCPU = fields.first.flatMap { Double($0) } ?? .nan
    }
    while wait4(pid, &status, 0, &usage) < 0 {
        guard errno == EINTR else { throw BenchFailure("waitpid \(argv[0]): \(errorText())") }
    }
    if !measure { end = monotonicNanoseconds() }

    // WIFEXITED / WEXITSTATUS, which Swift does not import.
    let exited = status & 0x7f == 0
    let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    guard code == 0 else {
        let words = argv.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        throw BenchFailure("`\(words)` exited with status \(code): \(readTextFile(errorLog))")
    }
    func nanoseconds(_ time: timeval) -> Double { Double(time.tv_sec) * 1e9 + Double(time.tv_usec) * 1e3 }
    return MeasuredRun(nanoseconds: Double(end - start), ownCPU: ownCPU,
                       totalCPU: nanoseconds(usage.ru_utime) + nanoseconds(usage.ru_stime), minorFaults: Double(usage.ru_minflt))
}

/// The peak resident set of `argv`, in bytes, from wait4's ru_maxrss as `bench-fs rss`
/// reports it. Linux counts in a child's ru_maxrss the high-water mark of the process it
/// was forked from (recorded at exec), so a child of runbook-bench (~9 MiB) never looks
/// smaller than it; bench-fs is a ~1 MiB C program, a floor well below every figure here.
func peakMemory(_ argv: [String], launcher: String, scratch: String, errorLog: String) throws -> Double {
    let report = scratch + "/rss-report"
    try runChild([launcher, "rss"] + argv, errorLog: errorLog, output: report)
    let fields = readTextFile(report).split(separator: " ")
    guard fields.count == 2, let kibibytes = Double(fields[0]), let status = Int(fields[1].filter { $0 != "\n" }) else {
        throw BenchFailure("bench-fs rss gave no report for \(argv[0])")
    }
    guard status == 0 else {
        throw BenchFailure("`\(argv.joined(separator: " "))` exited with status \(status): \(readTextFile(errorLog))")
    }
    return kibibytes * 1024 // KiB on Linux
}
