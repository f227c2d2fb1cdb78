// What the reliability campaigns (issue 7, docs/reliability.md) share: the mode (quick in
// `scripts/test`, full in `scripts/reliability full`), the figures they report, and a
// campaign world — a demo world (scripts/demo-world) whose addresses are loopback ones, so
// that nginx's *served* configuration can be asked over HTTP, with the engine run inside a
// network namespace of its own — and its fingerprint: every file (content, mode, owner,
// link target), each Subversion working copy as svn sees it, every table of every
// database, users and grants, mounts, the namespace's addresses and what nginx serves.

import Foundation
import MySQLClient
import RunbookJournal
import RunbookSupport
import Testing
@testable import RunbookEngine

// MARK: - Mode and figures

enum Reliability {
    /// `RUNBOOK_RELIABILITY=full` (scripts/reliability full): every point of every campaign.
    /// Otherwise the quick mode `scripts/test` runs: a sample, a couple of minutes in all.
    static var full: Bool { Posix.environment("RUNBOOK_RELIABILITY") == "full" }

    /// `count` points 1...count, or in quick mode about `quickSamples` of them spread evenly,
    /// always with the first and the last (at most `count`).
    static func points(_ count: Int, quickSamples: Int) -> [Int] {
        guard count > 0 else { return [] }
        if full || quickSamples >= count { return Array(1...count) }
        let step = max(1, (count + quickSamples - 1) / max(1, quickSamples))
        var chosen = Set(stride(from: 1, through: count, by: step))
        chosen.insert(count)
        return chosen.sorted()
    }

    /// A campaign's figures: printed, and appended as one JSON line to
    /// $RUNBOOK_RELIABILITY_REPORT when set (scripts/reliability collects them).
    static func report(_ campaign: String, _ figures: [(String, Int)], note: String = "") {
        let text = figures.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        print("reliability \(Reliability.full ? "full" : "quick") \(campaign): \(text)\(note.isEmpty ? "" : " (\(note))")")
        guard let path = Posix.environment("RUNBOOK_RELIABILITY_REPORT"), !path.isEmpty else { return }
        var fields: [(String, JSON)] = [("campaign", .string(campaign)), ("mode", .string(full ? "full" : "quick"))]
        fields += figures.map { ($0.0, JSON.int(Int64($0.1))) }
        if !note.isEmpty { fields.append(("note", .string(note))) }
        let line = Array((JSON.object(fields).serialized + "\n").utf8)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = try? Posix.writeAll(descriptor, line, path: path)
    }
}

// MARK: - The fingerprint

/// The world as comparable text: section -> item -> value.
struct Fingerprint: Equatable {
    var sections: [String: [String: String]] = [:]

    subscript(section: String) -> [String: String] {
        get { sections[section] ?? [:] }
        set { sections[section] = newValue }
    }

    /// "section item" keys that differ.
    func differingKeys(from other: Fingerprint) -> [String] {
        var keys: [String] = []
        for section in Set(sections.keys).union(other.sections.keys).sorted() {
            let mine = self[section], theirs = other[section]
            for item in Set(mine.keys).union(theirs.keys).sorted() where mine[item] != theirs[item] {
                keys.append(section + " " + item)
            }
        }
        return keys
    }

    /// The differences, both sides shown (cut), for a failure message.
    func differences(from other: Fingerprint, limit: Int = 12) -> String {
        let keys = differingKeys(from: other)
        var lines: [String] = []
        for key in keys.prefix(limit) {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            let item = parts.count > 1 ? parts[1] : ""
            func cut(_ text: String?) -> String {
                guard let text else { return "(absent)" }
                return text.count > 600 ? String(text.prefix(600)) + "..." : text
            }
            let before = other[parts[0]][item], now = self[parts[0]][item]
            if let before, let now, before.contains("\n") || now.contains("\n") {
                // Long listings (svn status, a table): only the lines that differ.
                let old = before.split(separator: "\n", omittingEmptySubsequences: false), new = now.split(separator: "\n", omittingEmptySubsequences: false)
                let gone = old.filter { !new.contains($0) }, added = new.filter { !old.contains($0) }
                lines.append("\(key):\n    only before: \(cut(gone.joined(separator: "\n")))\n    only now:    \(cut(added.joined(separator: "\n")))")
                continue
            }
            lines.append("\(key):\n    before: \(cut(before))\n    now:    \(cut(now))")
        }
        if keys.count > limit { lines.append("... and \(keys.count - limit) more") }
        return lines.joined(separator: "\n")
    }
}

// MARK: - A campaign world

/// A demo world for the campaigns; everything it started is stopped and removed with it.
final class CampaignWorld {
    let box: Sandbox
    let world: DemoWorld
    /// The network namespace the engine runs in, with an interface (its addresses are
    /// part of the fingerprint; nothing the engine does reaches the host's network).
    let namespace: String
    let interface = "rbveth0"
    let port: Int
    /// The Host names whose served pages are fingerprinted, on every address of the pool.
    var probeHosts: [String]
    private(set) var probeAddresses: [String] = []
    /// A static file every store's html/ links to: asking for it never reaches PHP.
    static let probePath = "/mas_assets/js/divinity.js"
    private var counter = 0
    nonisolated(unsafe) private static var namespaces = 0

    var root: String { world.root }
    var config: String { world.directory + "/config.toml" }
    var state: String { world.directory + "/state" }

    init(probeHosts: [String]) throws {
        box = try Sandbox()
        world = DemoWorld(box)
        try world.build()
        port = Int(try world.value("DEMO_WORLD_NGINX_PORT")) ?? 0
        self.probeHosts = probeHosts
        CampaignWorld.namespaces += 1
        namespace = "rbrel\(getpid() % 100000)-\(CampaignWorld.namespaces)"
        try system(["ip", "netns", "add", namespace])
        do {
            try system(["ip", "-n", namespace, "link", "set", "lo", "up"])
            // A veth pair with both ends inside (this kernel has no dummy interfaces).
            try system(["ip", "-n", namespace, "link", "add", interface, "type", "veth", "peer", "name", interface + "p"])
            try system(["ip", "-n", namespace, "link", "set", interface, "up"])
            try system(["ip", "-n", namespace, "link", "set", interface + "p", "up"])
            try moveAddressesToLoopback()
        } catch {
            _ = try? ProcessRunner.run(["ip", "netns", "del", namespace])
            throw error
        }
    }

    deinit {
        _ = try? ProcessRunner.run(["ip", "netns", "del", namespace])
    }

    /// The pool's and the handlers' addresses become 127.A.C.D (A.B.C.D): nginx's server
    /// blocks then listen where a request from this machine reaches them, and the PHP
    /// upstreams nginx could try are on loopback too. No traffic leaves the machine.
    private func moveAddressesToLoopback() throws {
        let db = try world.admin()
        defer { db.close() }
        func loopback(_ ip: String) -> String {
            let parts = ip.split(separator: ".")
            return parts.count == 4 ? "127.\(parts[0]).\(parts[2]).\(parts[3])" : ip
        }
        for (table, column) in [("divinity.server_ips", "ip"), ("divinity.servers", "private_ip"), ("internal.handlers", "private_ip"),
                                ("internal.handlers", "public_ip")] {
            for row in try db.query("SELECT id, \(column) FROM \(table) WHERE \(column) IS NOT NULL").rows {
                guard let ip = row[1].string else { continue }
                _ = try db.execute("UPDATE \(table) SET \(column) = ? WHERE id = ?", [.string(loopback(ip)), row[0]])
            }
        }
        probeAddresses = try db.query("SELECT ip FROM divinity.server_ips ORDER BY ip").rows.compactMap { $0[0].string }
    }

    // MARK: Running the engine

    /// Starts `runbook --config CONFIG ARGS...` inside the namespace.
    func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ChildProcess {
        counter += 1
        let prefix = box.base + "/out/campaign-\(counter)"
        return try ChildProcess(executable: ProcessRunner.resolve("nsenter") ?? "/usr/bin/nsenter",
                                arguments: ["--net=/run/netns/" + namespace, try RunbookBinary.require(), "--config", config,
                                            "--runbooks", box.runbooks] + scripted(arguments),
                                environment: box.environment(extra), stdoutPath: prefix + ".stdout", stderrPath: prefix + ".stderr")
    }

    @discardableResult
    func runbook(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 120) throws -> ProcessResult {
        let result = try start(arguments, environment: extra).wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("runbook \(arguments.joined(separator: " ")) timed out\n\(result)") }
        return result
    }

    /// The run's status as `runbook history` shows it.
    func status(of id: String) throws -> String? {
        let result = try runbook(["history", "--json", "--limit", "100000"])
        return result.stdoutLines.compactMap { try? JSON.parse($0) }.first { $0["id"]?.stringValue == id }?["status"]?.stringValue
    }

    func journal(_ id: String) throws -> [JSON] { try JournalReader.records(state + "/runs/\(id)/journal.jsonl") }

    // MARK: Fingerprint

    static let systemDatabases: Set<String> = ["mysql", "information_schema", "performance_schema", "sys"]

    func fingerprint() throws -> Fingerprint {
        var print = Fingerprint()
        var workingCopies: [String] = []
        walk(root, relative: ".", into: &print, workingCopies: &workingCopies)
        for copy in workingCopies { print["svn"][copy] = svnState(root + "/" + copy) }

        let db = try world.admin()
        defer { db.close() }
        let databases = try db.query("SHOW DATABASES").rows.compactMap { $0[0].string }.filter { !Self.systemDatabases.contains($0) }.sorted()
        print["databases"]["names"] = databases.joined(separator: " ")
        for database in databases {
            for table in try db.query("SHOW FULL TABLES FROM `\(database)`").rows.compactMap({ $0[0].string }) {
                let name = database + "." + table
                var create = try db.query("SHOW CREATE TABLE `\(database)`.`\(table)`").rows.first?[1].string ?? ""
                create = create.replacingOccurrences(of: #" AUTO_INCREMENT=\d+"#, with: "", options: .regularExpression)
                print["schema"][name] = create
                let rows = try db.query("SELECT * FROM `\(database)`.`\(table)`")
                let order = (1...max(1, rows.columns.count)).map(String.init).joined(separator: ", ")
                let sorted = try db.query("SELECT * FROM `\(database)`.`\(table)` ORDER BY \(order)")
                print["table"][name] = sorted.rows.map { row in
                    sorted.columns.enumerated().map { "\($0.element)=\(DemoWorld.text(row[$0.offset]))" }.joined(separator: " ")
                }.joined(separator: "\n")
            }
        }
        for row in try db.query("SELECT User, Host FROM mysql.user ORDER BY 1, 2").rows {
            guard let user = row[0].string, let host = row[1].string else { continue }
            let grants = (try? db.query("SHOW GRANTS FOR '\(user)'@'\(host)'").rows.compactMap { $0[0].string }) ?? []
            print["users"][user + "@" + host] = grants.joined(separator: "\n")
        }
        for (index, mount) in DemoWorld.mounts(under: root).enumerated() { print["mounts"][String(index)] = mount }
        print["addresses"][namespace] = addresses().joined(separator: " ")
        print.sections["served"] = served()
        return print
    }

    /// Files below `path`; a Subversion working copy's `.svn` folder (its private cache
    /// and SQLite database, rewritten by every svn command) is left to `svnState`.
    private func walk(_ path: String, relative: String, into print: inout Fingerprint, workingCopies: inout [String]) {
        guard let info = Posix.lstatInfo(path) else { return }
        if info.kind == .directory {
            for name in (try? Posix.list(path)) ?? [] {
                if name == ".svn" {
                    workingCopies.append(relative)
                    continue
                }
                walk(path + "/" + name, relative: relative + "/" + name, into: &print, workingCopies: &workingCopies)
            }
        }
        print["file"][relative] = TreeFingerprint.entryLine(path, info)
    }

    /// A working copy as Subversion reports it: its revision and every item's status.
    private func svnState(_ path: String) -> String {
        let configDir = ["--config-dir", box.base + "/svn-config", "--non-interactive"]
        let revision = (try? ProcessRunner.run(["svn", "info", "--show-item", "revision"] + configDir + [path], timeout: 30))?.outputText ?? "?"
        let status = (try? ProcessRunner.run(["svn", "status", "-v"] + configDir + [path], timeout: 30))?.outputText ?? "?"
        return "revision " + revision.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
            + status.replacingOccurrences(of: path, with: "WC")
    }

    func addresses() -> [String] {
        let text = (try? ProcessRunner.run(["ip", "-n", namespace, "-o", "addr", "show"], timeout: 10))?.outputText ?? "?"
        return text.split(separator: "\n").map { line in
            line.split(separator: " ").filter { !$0.isEmpty }.prefix(4).dropFirst().joined(separator: " ")
        }.sorted()
    }

    /// What nginx answers for the probe page, per "address host".
    func served() -> [String: String] {
        var answers: [String: String] = [:]
        for address in probeAddresses {
            for host in probeHosts {
                let answer: String
                if let page = httpGet(address, port, host: host, path: CampaignWorld.probePath) {
                    answer = "\(page.status) \(page.body.count) bytes: \(page.body.prefix(60))"
                } else {
                    answer = "no answer"
                }
                answers[address + " " + host] = answer
            }
        }
        return answers
    }

    /// The fingerprint once it equals `expected` (nginx takes a moment to swap its workers
    /// after a reload), or the last one taken after `timeout` seconds.
    func settledFingerprint(like expected: Fingerprint, timeout: Double = 5) throws -> Fingerprint {
        var print = try fingerprint()
        let started = Clock.monotonic()
        let deadline = started + timeout
        defer {
            let waited = Clock.monotonic() - started
            if waited > 1 { Swift.print("reliability: nginx's served pages took \(Int(waited * 1000)) ms to settle") }
        }
        // Only the served pages may lag behind: the rest is final once the engine exited.
        while print["served"] != expected["served"], Clock.monotonic() < deadline {
            usleep(100_000)
            print.sections["served"] = served()
        }
        return print
    }

    // MARK: Helpers for the campaigns

    /// Runs SQL as the administrator.
    func sql(_ statement: String, _ params: [SQLValue] = []) throws {
        let db = try world.admin()
        defer { db.close() }
        _ = try db.execute(statement, params)
    }

    func query(_ statement: String, _ params: [SQLValue] = []) throws -> [[String]] {
        let db = try world.admin()
        defer { db.close() }
        return try db.query(statement, params).rows.map { row in row.values.map(DemoWorld.text) }
    }
}
