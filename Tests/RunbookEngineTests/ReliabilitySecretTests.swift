// Campaign 4 of issue 7 (docs/reliability.md): the shipped runbooks with known secret values
// on a campaign world, every byte they produce searched for those values. The secrets: the
// engine's own database password (config password_file), the database password install
// generates for a store (known once config.php holds it), and three SSL keys (install,
// add-site, change-hostname). Searched: each command's stdout and stderr (human, --json,
// --dry-run plans, refusals and errors), `runbook log`, `history`, `undo --dry-run`, every
// file of the state dir (run.json, journals, locks) but the runs' backups, and the command
// line of every process on the machine, sampled while the commands run. (The backups hold
// copies of files the runs overwrote — config.php holds the store's password — because undo
// puts them back byte for byte; the test checks that they sit in 0700 folders.)

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

/// Samples /proc/*/cmdline on a thread of its own until stopped: every distinct command line
/// seen, and how many scans ran.
final class CommandLineSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = Set<String>()
    private var scans = 0
    private var running = true
    private var thread: Thread?

    init() {
        let thread = Thread { [weak self] in
            while let self, self.scanOnce() { usleep(500) }
        }
        self.thread = thread
        thread.start()
    }

    /// One pass over /proc; false once stopped.
    private func scanOnce() -> Bool {
        var found: [String] = []
        for name in (try? Posix.list("/proc")) ?? [] where name.first?.isNumber == true {
            guard let bytes = try? Posix.readFile("/proc/" + name + "/cmdline"), !bytes.isEmpty else { continue }
            found.append(String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self))
        }
        lock.lock()
        defer { lock.unlock() }
        seen.formUnion(found)
        scans += 1
        return running
    }

    /// Stops the thread; returns the command lines and the number of scans.
    func stop() -> (commandLines: Set<String>, scans: Int) {
        lock.lock()
        running = false
        lock.unlock()
        usleep(20_000)
        lock.lock()
        defer { lock.unlock() }
        return (seen, scans)
    }
}

@Suite(.serialized) struct ReliabilitySecretTests {
    /// The pieces of a secret a leak would show: every 12-character window of a password,
    /// every 16-character window (step 8) of each line of a PEM key's body.
    static func needles(_ secret: String) -> [String] {
        let lines = secret.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && !$0.isEmpty }
        let (width, step) = lines.count > 1 ? (16, 8) : (12, 1)
        return lines.flatMap { line -> [String] in
            let characters = Array(line)
            guard characters.count > width else { return [line] }
            return stride(from: 0, through: characters.count - width, by: step).map { String(characters[$0..<($0 + width)]) }
        }
    }

    @Test func shippedRunbooksRevealNoSecret() throws {
        let world = try CampaignWorld(probeHosts: ["shop.example.com"])
        var secrets: [(name: String, value: String)] = []
        let enginePassword = try #require(Files.read(world.world.directory + "/secrets/runbook-db.pw"))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        secrets.append(("the engine's database password", enginePassword))
        let shopCert = try SiteTesting.certificate(world.world, file: "shop", names: ["shop.example.com"])
        let wholesaleCert = try SiteTesting.certificate(world.world, file: "wholesale", names: ["wholesale.example.com"])
        let storeCert = try SiteTesting.certificate(world.world, file: "store", names: ["store.example.com"])
        for (name, cert) in [("install's SSL key", shopCert), ("add-site's SSL key", wholesaleCert), ("change-hostname's SSL key", storeCert)] {
            secrets.append((name, try #require(Files.read(world.root + cert.key))))
        }

        let sampler = CommandLineSampler()
        var outputs: [(place: String, text: String)] = []
        var commands = 0
        var runIDs: [String] = []
        /// Runs the engine; its output is kept for the search.
        @discardableResult
        func runbook(_ arguments: [String], expect status: Int32? = 0) throws -> ChildResult {
            let result = try world.runbook(arguments)
            commands += 1
            let what = arguments.joined(separator: " ")
            if let status { #expect(result.exitCode == status, "\(what)\n\(result)") }
            outputs.append((what + " (stdout)", result.stdout))
            outputs.append((what + " (stderr)", result.stderr))
            if arguments.first == "run", let id = result.runID { runIDs.append(id) }
            return result
        }
        /// A plan, then the run for real with --json; returns the run's id.
        func planAndRun(_ arguments: [String]) throws -> String? {
            try runbook(["run"] + arguments + ["--dry-run"])
            try runbook(["run"] + arguments + ["--dry-run", "--json"])
            return try runbook(["run"] + arguments + ["--json"]).runID
        }

        // install with its certificate; the store's database password is generated.
        let installed = try planAndRun(["install", "--email", "secret@example.com", "--hostname", "shop.example.com", "--plan", "paid",
                                        "--ssl-pem", shopCert.pem, "--ssl-key", shopCert.key])
        let home = world.root + "/usr/home/shopexam1"
        let storePassword = try #require(Files.read(home + "/heavymetal/config.php")?.split(separator: "\n")
            .first { $0.contains("db_pass") }?.split(separator: "'").dropFirst(3).first.map(String.init))
        #expect(storePassword.count >= 12, "install generates a real password (\(storePassword.count) characters)")
        // The search can find a key: the copy install made for the store holds it (a control
        // for the needles; that copy is where the key belongs).
        let installedKey = Files.read(home + "/certs/shop.example.com.key") ?? ""
        #expect(!Self.needles(secrets[1].value).isEmpty && Self.needles(secrets[1].value).allSatisfy { installedKey.contains($0) },
                "the store's copy of its key is found by the search")
        secrets.append(("the store's database password (install)", storePassword))

        // add-site and change-hostname with their certificates, a downgrade (config.php is
        // rewritten), failover-db (every config.php rewritten); refusals that name the files.
        var done = [installed]
        done.append(try planAndRun(["add-site", "--install", "shopexam1", "--hostname", "wholesale.example.com",
                                    "--ssl-pem", wholesaleCert.pem, "--ssl-key", wholesaleCert.key]))
        try runbook(["run", "change-hostname", "--from", "shop.example.com", "--to", "store.example.com",
                     "--ssl-pem", wholesaleCert.pem, "--ssl-key", shopCert.key], expect: nil)
        try runbook(["run", "add-site", "--install", "shopexam1", "--hostname", "other.example.com",
                     "--ssl-pem", storeCert.pem, "--ssl-key", storeCert.key], expect: nil)
        done.append(try planAndRun(["change-hostname", "--from", "shop.example.com", "--to", "store.example.com",
                                    "--new-ip", "127.192.2.13", "--ssl-pem", storeCert.pem, "--ssl-key", storeCert.key]))
        done.append(try planAndRun(["downgrade", "--install", "shopexam1"]))
        done.append(try planAndRun(["failover-db", "--destination", "slave", "--local-only"]))
        done.append(try planAndRun(["failover-db", "--destination", "master", "--local-only"]))
        // Every run undone, newest first (config.php and the key files come back from the
        // backups); then a store that failed half way is cleaned (its database user renamed).
        for id in done.reversed().compactMap({ $0 }) {
            try runbook(["undo", id, "--dry-run"])
            try runbook(["undo", id])
        }
        _ = try planAndRun(["install", "--email", "again@example.com", "--hostname", "again.example.com", "--plan", "paid"])
        try world.sql("UPDATE internal.queue SET status = 'failed'")
        let again = try #require(try world.query("SELECT id, home_dir FROM internal.installs").first)
        let againPassword = try #require(Files.read(world.root + again[1].trimmingCharacters(in: ["'"]) + "/heavymetal/config.php")?.split(separator: "\n")
            .first { $0.contains("db_pass") }?.split(separator: "'").dropFirst(3).first.map(String.init))
        secrets.append(("the second store's database password (install, then clean-install)", againPassword))
        _ = try planAndRun(["clean-install", "--id", again[0]])

        // What operators read afterwards.
        for id in runIDs {
            try runbook(["log", id])
            try runbook(["log", id, "--json"])
        }
        try runbook(["history"])
        try runbook(["history", "--json", "--limit", "1000"])
        let sampled = sampler.stop()

        // Every file of the state dir but the backups (checked to be private instead).
        var files = 0
        for file in Files.allFiles(world.state) {
            if file.contains("/backups/") {
                let folder = String(file[..<file.range(of: "/backups/")!.upperBound].dropLast())
                #expect(Posix.lstatInfo(folder).map { $0.mode & 0o077 } == 0, "\(folder) is private (0700)")
                continue
            }
            files += 1
            outputs.append((file, Files.read(file) ?? ""))
        }
        for line in sampled.commandLines { outputs.append(("the command line of a process: " + String(line.prefix(200)), line)) }

        // The search: zero hits is the target.
        var hits = 0
        var bytes = 0
        for (place, text) in outputs {
            bytes += text.utf8.count
            for secret in secrets {
                let found = Self.needles(secret.value).filter { text.contains($0) }
                if !found.isEmpty {
                    hits += 1
                    Issue.record("\(secret.name) leaked into \(place): \(found.prefix(2))")
                }
            }
        }
        #expect(runIDs.count >= 10, "the runs happened (\(runIDs.count))")
        #expect(sampled.scans > 100, "the process table was sampled (\(sampled.scans) scans)")
        // The sampler sees the engine's children (nginx's config test, svn, rsync...).
        #expect(sampled.commandLines.contains { $0.hasPrefix("nginx ") || $0.contains("/nginx ") }
                && sampled.commandLines.contains { $0.contains("rsync") },
                "the engine's child processes were sampled: \(sampled.commandLines.filter { !$0.contains("runbook") }.prefix(20))")
        Reliability.report("secrets", [("secrets", secrets.count), ("commands", commands), ("runs", runIDs.count),
                                       ("outputs_searched", outputs.count - sampled.commandLines.count), ("state_files", files),
                                       ("bytes_searched", bytes), ("process_scans", sampled.scans),
                                       ("command_lines_seen", sampled.commandLines.count), ("hits", hits)])
    }
}
