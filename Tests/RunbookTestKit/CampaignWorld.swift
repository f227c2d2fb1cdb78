// A campaign world — a demo world (scripts/demo-world) whose addresses are loopback ones, so
// that nginx's *served* configuration can be asked over HTTP, with the engine run inside a
// network namespace of its own — and its fingerprint: every file (content, mode, owner,
// link target), each Subversion working copy as svn sees it, every table of every
// database, users and grants, mounts, the namespace's addresses and what nginx serves.

import Foundation
import MySQLClient
import RunbookJournal
import RunbookSupport
import Testing
import RunbookEngine

/// A demo world for the campaigns; everything it started is stopped and removed with it.
package final class CampaignWorld {
    package let box: Sandbox
    package let world: DemoWorld
    /// The network namespace the engine runs in, with an interface (its addresses are
    /// part of the fingerprint; nothing the engine does reaches the host's network).
    package let namespace: String
    package let interface = "rbveth0"
    package let port: Int
    /// The Host names whose served pages are fingerprinted, on every address of the pool.
    package var probeHosts: [String]
    private(set) var probeAddresses: [String] = []
    /// A static file every store's html/ links to: asking for it never reaches PHP.
    package static let probePath = "/mas_assets/js/divinity.js"
    private var counter = 0
    nonisolated(unsafe) private static var namespaces = 0

    package var root: String { world.root }
    package var config: String { world.directory + "/config.toml" }
    package var state: String { world.directory + "/state" }

    package init(probeHosts: [String]) throws {
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
    package func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ChildProcess {
        counter += 1
        let prefix = box.base + "/out/campaign-\(counter)"
        return try ChildProcess(executable: ProcessRunner.resolve("nsenter") ?? "/usr/bin/nsenter",
                                arguments: ["--net=/run/netns/" + namespace, try RunbookBinary.require(), "--config", config,
                                            "--runbooks", box.runbooks] + scripted(arguments),
                                environment: box.environment(extra), stdoutPath: prefix + ".stdout", stderrPath: prefix + ".stderr")
    }

    @discardableResult
    package func runbook(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 120) throws -> ChildResult {
        let result = try start(arguments, environment: extra).wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("runbook \(arguments.joined(separator: " ")) timed out\n\(result)") }
        return result
    }

    /// The run's status as `runbook history` shows it.
    package func status(of id: String) throws -> String? {
        let result = try runbook(["history", "--json", "--limit", "100000"])
        return result.stdoutLines.compactMap { try? JSON.parse($0) }.first { $0["id"]?.stringValue == id }?["status"]?.stringValue
    }

    package func journal(_ id: String) throws -> [JSON] { try JournalReader.records(state + "/runs/\(id)/journal.jsonl") }

    // MARK: Fingerprint

    package static let systemDatabases: Set<String> = ["mysql", "information_schema", "performance_schema", "sys"]

    package func fingerprint() throws -> Fingerprint {
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

    package func addresses() -> [String] {
        let text = (try? ProcessRunner.run(["ip", "-n", namespace, "-o", "addr", "show"], timeout: 10))?.outputText ?? "?"
        return text.split(separator: "\n").map { line in
            line.split(separator: " ").filter { !$0.isEmpty }.prefix(4).dropFirst().joined(separator: " ")
        }.sorted()
    }

    /// What nginx answers for the probe page, per "address host".
    package func served() -> [String: String] {
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
    package func settledFingerprint(like expected: Fingerprint, timeout: Double = 5) throws -> Fingerprint {
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
    package func sql(_ statement: String, _ params: [SQLValue] = []) throws {
        let db = try world.admin()
        defer { db.close() }
        _ = try db.execute(statement, params)
    }

    package func query(_ statement: String, _ params: [SQLValue] = []) throws -> [[String]] {
        let db = try world.admin()
        defer { db.close() }
        return try db.query(statement, params).rows.map { row in row.values.map(DemoWorld.text) }
    }
}
