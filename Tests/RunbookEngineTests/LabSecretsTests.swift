// Secrets across hosts, in the lab: a run on d1 carries a secret to d2 (a config written
// there with secret = true, a read-only command there, an undo there); afterwards no file of
// any lab host — journals, backups, history, logs, the agent's state — and no process
// command line sampled on the machine during the run holds it, but the one config file
// whose job is to hold it. A command line holding it is refused before it reaches d2.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("secrets on every host", .serialized)
struct LabSecretsTests {
    static let secret = "Zq8-lab-secret-7f3c1e"

    static let runbook = """
        return runbook {
          summary = "a secret carried to d2",
          params = {
            password = { type = "string", secret = true, required = true },
            leak = { type = "bool", default = false },
          },
          on_failure = "undo",
          run = function(args)
            step("Configure d2", function()
              on("d2", function()
                fs.write("/usr/local/etc/secret.conf", "old\\n")
                fs.write("/usr/local/etc/secret.conf", "password = " .. args.password .. "\\n", { secret = true, mode = "0600" })
                local seen = cmd.run({ "wc", "-c", "/usr/local/etc/secret.conf" }, { read_only = true })
                log.info("the config has " .. seen.stdout .. " and its password " .. args.password)
                if args.leak then cmd.run({ "echo", args.password }, { read_only = true }) end
              end)
            end)
          end,
        }
        """

    /// Every regular file under `directory` holding `needle`, as paths relative to it. grep
    /// reads them (the lab's MariaDB files and snapshot are hundreds of megabytes), with the
    /// needle in a private file, not on its command line.
    static func files(under directory: String, holding needle: String) -> [String] {
        let patterns = directory + "/../.needle-\(getpid())"
        guard (try? Files.write(patterns, needle + "\n", mode: 0o600)) != nil else { return ["(cannot write \(patterns))"] }
        defer { unlink(patterns) }
        guard let found = try? ProcessRunner.run(["grep", "-rlFZ", "--devices=skip", "-f", patterns, "--", directory], timeout: 300),
              found.status <= 1 else { return ["(grep failed)"] }
        return found.output.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .map { $0.hasPrefix(directory + "/") ? String($0.dropFirst(directory.count + 1)) : $0 }
    }

    @Test("no file of any lab host and no process command line holds the secret (the run and its undo); argv with it is refused")
    func noSecretAnywhere() throws {
        try SharedLab.use { lab in
            try LabOtherHostTests.prepare(lab, runbook: Self.runbook)
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            // The operator's secret, in a file on d1 (never on a command line of the test either).
            try Files.write(d1 + "/etc/runbook/password", Self.secret + "\n", mode: 0o600)
            defer {
                try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/secret.conf")
                try? FileManager.default.removeItem(atPath: d1 + "/etc/runbook/password")
            }
            let binary = try RunbookBinary.require()
            let command = [binary, "--config", "/etc/runbook/other-host.toml", "run", "on_d2", "--password-file", "/etc/runbook/password"]

            // Command lines of every process on the machine (every lab host's too), sampled
            // while the run goes on.
            let sampling = ProcessSampler(needle: Self.secret)
            sampling.start()
            let real = try lab.exec("d1", command + ["--yes"], timeout: 120)
            let leaked = try lab.exec("d1", command + ["--leak", "--yes"], timeout: 120)
            let written = Files.read(d2 + "/usr/local/etc/secret.conf")
            let id = try #require(real.stdout.split(separator: "\n").first?.split(separator: " ").dropFirst().first.map(String.init))
            let undo = try LabOtherHostTests.run(lab, ["undo", id])
            let hitsInProcesses = sampling.stop()

            #expect(real.exitCode == 0, "\(real)")
            #expect(written == "password = \(Self.secret)\n", "the config held its password")
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(real.stdout.contains("and its password ***"), "\(real.stdout)")
            #expect(leaked.exitCode == 1, "\(leaked)")
            #expect(leaked.stdout.contains("cmd.run: argument 2 of the command line holds a secret") || leaked.stderr.contains("argument 2 of the command line holds a secret"),
                    "\(leaked.stdout)\(leaked.stderr)")
            #expect(sampling.rounds > 20, "the process table was sampled all along the runs: \(sampling.rounds) rounds")
            #expect(hitsInProcesses.isEmpty, "command lines holding the secret: \(hitsInProcesses)")
            for output in [real.stdout, real.stderr, leaked.stdout, leaked.stderr, undo.stdout, undo.stderr] { #expect(!output.contains(Self.secret)) }

            let hits = Self.files(under: lab.directory, holding: Self.secret)
            // Every host's files, logs, journals, histories, backups and agent folders: only
            // the operator's own file is left (the config went with the undo).
            #expect(hits == ["hosts/d1/etc/runbook/password"], "files holding the secret: \(hits)")
        }
    }
}

/// Reads /proc/*/cmdline (and, with `environments`, /proc/*/environ) in a loop on a thread
/// of its own and keeps those that hold one of `needles`.
final class ProcessSampler: @unchecked Sendable {
    private let needles: [String]
    private let environments: Bool
    private let lock = NSLock()
    private var running = true
    private var hits: Set<String> = []
    private var thread: Thread?

    private var samplesTaken = 0

    /// Microseconds between two reads of the process table.
    private let interval: UInt32

    init(needle: String) { needles = [needle]; environments = false; interval = 5_000 }
    init(needles: [String], environments: Bool, interval: UInt32) {
        self.needles = needles
        self.environments = environments
        self.interval = interval
    }

    /// How many times the whole process table was read.
    var rounds: Int { lock.withLock { samplesTaken } }

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                    guard let pid = pid_t(name) else { continue }
                    if let line = Lab.commandLine(pid), needles.contains(where: { line.contains($0) }) {
                        _ = lock.withLock { hits.insert(line) }
                    }
                    // (Environments are read every 10th round: reading them all is costly.)
                    if environments, samplesTaken % 10 == 0, let bytes = try? Posix.readFile("/proc/\(pid)/environ") {
                        let text = String(decoding: bytes, as: UTF8.self)
                        if needles.contains(where: { text.contains($0) }) {
                            _ = lock.withLock { hits.insert("environment of \(Lab.commandLine(pid) ?? name)") }
                        }
                    }
                }
                lock.withLock { samplesTaken += 1 }
                usleep(interval)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Stops sampling; the command lines seen holding the needle.
    func stop() -> [String] {
        lock.withLock { running = false }
        while !(thread?.isFinished ?? true) { usleep(1_000) }
        return lock.withLock { Array(hits) }
    }
}
