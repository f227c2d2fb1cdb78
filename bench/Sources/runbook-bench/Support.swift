// What every workload shares: options, the registry, a monotonic clock, medians and
// fixed-width text. libc only (no Foundation), so the harness adds nothing to measure.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Options

struct BenchUsageError: Error {
    var message: String
}

struct BenchOptions: Sendable {
    /// Fewer iterations per sample: for CI regression checks, not for reported numbers.
    var quick = false
    /// Overrides the workload's iterations per sample (W1, W2: its number of items).
    var iterations: Int?
    /// Overrides the number of samples the median is taken over.
    var repetitions: Int?
    /// Where the filesystem workloads work: a tmpfs (bench/run mounts one) or fresh ext4.
    var scratch: String?
    /// The runbook binary to measure (default: the one built beside runbook-bench).
    var runbook: String?
    /// A directory on a disk filesystem (W4's second MariaDB lives there); bench/run makes
    /// one under $TMPDIR and removes it. Default: a fresh directory under $TMPDIR or /tmp.
    var diskScratch: String?
    /// The project (scripts/, stdlib/, schema/); default: found upwards from the runner.
    var project: String?
    /// The peers' virtual environment (bench/run --peers makes it): adds the `peers` workload
    /// to a run of every workload.
    var venv: String?
    /// Items for the peers' W1 equivalents (default: see PeersWorkload).
    var peerItems: Int?
    var list = false
    var help = false
    /// Workload names (empty: all).
    var workloads: [String] = []

    static let usage = """
        usage: bench/run [--quick] [--peers] [--iterations N] [--repetitions R] [--scratch DIR]
                         [--runbook PATH] [WORKLOAD ...]
               bench/run --list
          --quick            fewer samples and iterations (CI regression check)
          --iterations N     iterations per sample, or items (W1, W2): overrides the default
          --repetitions R    samples per measurement; the median is reported (default 7,
                             W0 30)
          --scratch DIR      where the filesystem workloads work: a tmpfs or a fresh ext4
                             (bench/run mounts a tmpfs; default: a directory in /dev/shm)
          --runbook PATH     measure this runbook binary (e.g. an older build)
          --peers            (bench/run) make bench/.venv with ansible-core and pyinfra from
                             PyPI and add the `peers` workload (Ansible, pyinfra: W0, W1)
          --venv DIR         the peers' virtual environment (bench/run --peers passes it)
          --peer-items N     items of the peers' W1 (default: Ansible 100, pyinfra 1000;
                             --quick: 20 and 100)
          --disk-scratch DIR a directory on disk for W4's on-disk MariaDB (default: $TMPDIR)
          --project DIR      the project (scripts/, stdlib/, schema/; default: found upwards)
          --list             list the workloads
        With no WORKLOAD every workload runs. Exit status: 0 targets met or missed by at
        most 50%, 1 a target missed by more than 50%, 2 bad invocation or build failure.
        """

    static func parse(_ arguments: [String]) throws -> BenchOptions {
        var options = BenchOptions()
        var index = 0
        func positive(_ flag: String) throws -> Int {
            index += 1
            guard index < arguments.count else { throw BenchUsageError(message: "\(flag) needs a value") }
            let text = arguments[index].filter { $0 != "_" }
            guard let value = Int(text), value > 0 else {
                throw BenchUsageError(message: "\(flag) must be a positive integer, got '\(arguments[index])'")
            }
            return value
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--quick": options.quick = true
            case "--iterations", "-n": options.iterations = try positive(argument)
            case "--repetitions", "-r": options.repetitions = try positive(argument)
            case "--peer-items": options.peerItems = try positive(argument)
            case "--scratch", "--runbook", "--disk-scratch", "--project", "--venv":
                index += 1
                guard index < arguments.count, arguments[index].hasPrefix("/") else {
                    throw BenchUsageError(message: "\(argument) needs an absolute path")
                }
                let path = arguments[index]
                switch argument {
                case "--scratch": options.scratch = path
                case "--runbook": options.runbook = path
                case "--disk-scratch": options.diskScratch = path
                case "--project": options.project = path
                default: options.venv = path
                }
            case "--list": options.list = true
            case "--help", "-h": options.help = true
            default:
                if argument.hasPrefix("-") { throw BenchUsageError(message: "unknown option '\(argument)'") }
                options.workloads.append(argument)
            }
            index += 1
        }
        return options
    }
}

// MARK: - Workloads

/// How a workload's result compares with its target.
enum Outcome {
    case met
    /// Over the target, but by at most 50%: reported as FAIL, exit status stays 0.
    case missedWithinTolerance
    /// Over the target by more than 50%: the run exits 1.
    case regressed

    /// For a "lower is better" measure against a target (tolerance: 50% over it).
    init(value: Double, target: Double) {
        if value <= target { self = .met }
        else if value <= target * 1.5 { self = .missedWithinTolerance }
        else { self = .regressed }
    }

    var label: String {
        switch self {
        case .met: return "PASS"
        case .missedWithinTolerance: return "FAIL"
        case .regressed: return "FAIL (>50% over)"
        }
    }
}

struct Workload: Sendable {
    var name: String
    var aliases: [String]
    var summary: String
    /// Runs only when named, or (peers) when bench/run --peers made its environment.
    var optIn = false
    var run: @Sendable (BenchOptions) throws -> Outcome
}

enum Workloads {
    /// Every workload, in the order a full run runs them. Add new ones here.
    static let all: [Workload] = [
        Workload(name: "w0-startup", aliases: ["w0", "startup"],
                 summary: "`runbook run noop`: wall time and peak memory vs a minimal Swift program",
                 run: StartupWorkload.run),
        Workload(name: "w1-tree", aliases: ["w1", "tree"],
                 summary: "1,000 directories + symlinks: real run, dry-run and undo vs C system calls",
                 run: TreeWorkload.run),
        Workload(name: "w2-relink", aliases: ["w2", "relink"],
                 summary: "fs.relink_tree over 10,000 symlinks vs a C unlink+symlink loop",
                 run: RelinkWorkload.run),
        Workload(name: "w3-bridge", aliases: ["w3", "bridge"],
                 summary: "calls/s of a no-op Swift host function vs a Lua and a C function",
                 run: BridgeWorkload.run),
        Workload(name: "w4-db", aliases: ["w4", "db"],
                 summary: "10,000 single-row INSERTs through db.exec vs libmariadb prepared statements (private MariaDB)",
                 run: DbWorkload.run),
        Workload(name: "w5-nginx", aliases: ["w5", "nginx"],
                 summary: "the nginx config of 10,000 installs (2 sites each): render, and load+render+write; linear growth",
                 run: NginxWorkload.run),
        Workload(name: "w6-install", aliases: ["w6", "install"],
                 summary: "`install` on the demo world: dry-run (engine time) and real run, then undo",
                 run: InstallWorkload.run),
        Workload(name: "w7-remote", aliases: ["w7", "w8", "remote", "fanout"],
                 summary: "in a lab: 1,000 mkdir+symlink on d2 through on() vs C over ssh; parallel on 4 agents vs 1; connecting to 2 hosts",
                 optIn: true, run: RemoteWorkload.run),
        Workload(name: "w9-failover", aliases: ["w9", "failover"],
                 summary: "in a lab: failover-ips taking 50 dead floating IPs vs one ping timeout",
                 optIn: true, run: FailoverWorkload.run),
        Workload(name: "peers", aliases: ["ansible", "pyinfra"],
                 summary: "Ansible and pyinfra doing W0 and W1 (bench/run --peers installs them from PyPI)",
                 optIn: true, run: PeersWorkload.run),
    ]

    /// No names: every workload that is not opt-in, and the peers when their environment
    /// is there (bench/run --peers).
    static func select(_ names: [String], peers: Bool = false) throws -> [Workload] {
        if names.isEmpty { return all.filter { !$0.optIn || (peers && $0.name == "peers") } }
        return try names.map { name in
            let key = name.lowercased()
            guard let workload = all.first(where: { $0.name == key || $0.aliases.contains(key) }) else {
                let known = all.map(\.name).joined(separator: ", ")
                throw BenchUsageError(message: "unknown workload '\(name)' (known: \(known))")
            }
            return workload
        }
    }
}

// MARK: - Clock and statistics

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// Samples of one measurement, in nanoseconds per operation.
struct Samples {
    var values: [Double] = []

    var median: Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// (max - min) / median: how noisy the samples were.
    var spread: Double {
        guard let low = values.min(), let high = values.max(), median > 0 else { return .nan }
        return (high - low) / median
    }
}

// MARK: - Text

/// `value` with exactly `decimals` digits after the point (no Foundation formatting).
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let whole = UInt64(scaled)
    let unit = UInt64(scale)
    var text = (value < 0 && whole != 0 ? "-" : "") + String(whole / unit)
    if decimals > 0 {
        let fraction = String(whole % unit)
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return text
}

/// A rate with an SI suffix: 24.31 M.
func rate(_ perSecond: Double) -> String {
    if perSecond >= 1e9 { return fixed(perSecond / 1e9, 2) + " G" }
    if perSecond >= 1e6 { return fixed(perSecond / 1e6, 2) + " M" }
    if perSecond >= 1e3 { return fixed(perSecond / 1e3, 2) + " k" }
    return fixed(perSecond, 0) + "  "
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// A line on standard error.
func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { break }
            offset += written
        }
    }
}
