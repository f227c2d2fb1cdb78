// The install runbook for real in the lab (docs/lab.md): run on d1 inside its namespaces,
// with its databases on cloud-db1 and the master over TCP and d2 reached through its rsync
// daemon with the guide's password file. The client then asks for the store's page: d1's
// nginx hands PHP to the handlers' php-fpm (d1's and d2's), which read the store's own
// database on cloud-db1. Undo brings every host's folders and databases back.

import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

/// Everything a run on the lab could change: the hosts' platform folders (runbook's own
/// state aside) and the rows, databases and users of the three MariaDB servers.
struct LabState: Equatable {
    /// host -> path under the host's files -> TreeFingerprint's line for it.
    var trees: [String: [String: String]]
    var databases: [String: [String]]

    /// The items that differ, both sides (for a failure message).
    func differences(from other: LabState) -> [String] {
        var out: [String] = []
        for (host, tree) in trees.sorted(by: { $0.key < $1.key }) {
            let theirs = other.trees[host] ?? [:]
            for key in Set(tree.keys).union(theirs.keys).sorted() where tree[key] != theirs[key] {
                out.append("\(host) \(key): \(tree[key] ?? "(none)") | \(theirs[key] ?? "(none)")")
            }
        }
        for (host, lines) in databases.sorted(by: { $0.key < $1.key }) where other.databases[host] != lines {
            let theirs = other.databases[host] ?? []
            out.append("\(host): only before: \(lines.filter { !theirs.contains($0) }) only after: \(theirs.filter { !lines.contains($0) })")
        }
        return out
    }
}

extension Lab {
    /// The platform paths of each host that a runbook may touch (/var/lib/runbook, where
    /// runbook keeps its runs, and the MariaDB datadirs are left out).
    static let platformPaths = ["usr/home", "home", "usr/local/etc", "etc/cron.d", "etc/runbook", "root/.ssh"]

    func state() throws -> LabState {
        var trees: [String: [String: String]] = [:]
        for host in Lab.hosts {
            var entries: [String: String] = [:]
            for path in Lab.platformPaths {
                for (key, value) in TreeFingerprint(try files(host) + "/" + path).entries { entries[path + key.dropFirst()] = value }
            }
            trees[host] = entries
        }
        var databases: [String: [String]] = [:]
        for host in ["cloud-db1", "d2", "master"] { databases[host] = try databaseLines(host) }
        return LabState(trees: trees, databases: databases)
    }

    /// The server's databases, users, and every row of its non-system tables, one line each.
    /// (Adapted from DemoWorld.state() in DemoWorldSupport.swift, for three servers.)
    func databaseLines(_ host: String) throws -> [String] {
        let db = try database(host)
        defer { db.close() }
        var lines = try db.query("SHOW DATABASES").rows.compactMap { $0[0].string }.sorted().map { "database \($0)" }
        lines += try db.query("SELECT CONCAT(User, '@', Host) FROM mysql.user ORDER BY 1").rows.compactMap { $0[0].string }.map { "user \($0)" }
        let tables = try db.query("""
            SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'
              AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2
            """).rows.compactMap { row -> String? in
            guard let schema = row[0].string, let table = row[1].string else { return nil }
            return "`\(schema)`.`\(table)`"
        }
        for table in tables {
            let rows = try db.query("SELECT * FROM \(table) ORDER BY 1")
            // created_at / updated_at change with the clock, not with the runbook.
            let kept = rows.columns.enumerated().filter { !["created_at", "updated_at"].contains($0.element) }.map(\.offset)
            for row in rows.rows {
                lines.append(table + " " + kept.map { "\(rows.columns[$0])=\(DemoWorld.text(row[$0]))" }.joined(separator: " "))
            }
        }
        return lines
    }

    /// runbook on d1, with d1's own configuration (/etc/runbook/config.toml, written by
    /// scripts/lab) and state.
    func runbookOnD1(_ arguments: [String], timeout: Double = 120) throws -> ChildResult {
        try exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/config.toml"] + arguments, timeout: timeout)
    }

    /// The worker processes of the host's nginx now.
    func nginxWorkers(_ host: String) throws -> [pid_t] {
        let master = try #require(Files.read(directory + "/run/\(host)/nginx.pid").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) },
                                  "nginx on \(host) has a pid file")
        let children = Files.read("/proc/\(master)/task/\(master)/children") ?? ""
        return children.split(separator: " ").compactMap { pid_t($0) }
    }

    /// Waits until these nginx workers have exited: a reload is asynchronous, and the old
    /// configuration's workers answer until then.
    func waitUntilGone(_ workers: [pid_t], timeout: Double = 15) throws {
        let deadline = Clock.monotonic() + timeout
        while workers.contains(where: { Lab.commandLine($0) != nil }) {
            guard Clock.monotonic() < deadline else { throw TestSetupError("nginx workers \(workers) did not exit after the reload") }
            usleep(20_000)
        }
    }

    /// The client asks ADDRESS for PATH of the site HOST (inside the lab: curl on the client).
    func fetch(_ address: String, host: String, path: String = "/", headers: Bool = false) throws -> ChildResult {
        try exec("client", ["curl", "-sS", "-m", "10"] + (headers ? ["-D", "-"] : []) + ["-H", "Host: " + host, "http://\(address)\(path)"])
    }
}

@Suite("install in the lab", .serialized)
struct LabInstallTests {
    let install = ["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"]

    @Test("a paid install run on d1 answers the client through d1's nginx, both dispatchers' php-fpm and its database on cloud-db1; undo brings every host back")
    func paidInstallAnswersTheClientAndIsUndone() throws {
        try SharedLab.use { lab in
            let pristine = try lab.state()

            // The plan changes nothing on any host.
            let plan = try lab.runbookOnD1(install + ["--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("create user 'shopexam1'@'10.0.0.%'"), "the user is planned for the handlers' VLAN\n\(plan)")
            let planned = try lab.state()
            #expect(planned == pristine, "the dry-run changed the lab:\n\(pristine.differences(from: planned).joined(separator: "\n"))")

            let oldWorkers = try lab.nginxWorkers("d1"), oldD2Workers = try lab.nginxWorkers("d2")
            let run = try lab.runbookOnD1(install + ["--yes", "--json"])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run), "the run reports its id\n\(run)")

            // The whole chain, from the client: d1's nginx on the store's floating address,
            // PHP on d1's and d2's php-fpm (round robin), the store's database on cloud-db1.
            try lab.waitUntilGone(oldWorkers)
            var handlers: Set<String> = []
            for _ in 0..<4 {
                let page = try lab.fetch("192.0.2.10", host: "shop.example.com")
                #expect(page.exitCode == 0, "\(page)")
                let lines = page.stdoutLines
                #expect(Array(lines.prefix(4)) == ["store: shopexam1 (install 1)", "site: http://shop.example.com",
                                                   "categories: Tea, Teaware", "database: shopexam1 on 10.0.0.5"], "\(page)")
                if let handler = lines.last, handler.hasPrefix("handler: ") { handlers.insert(String(handler.dropFirst(9))) }
            }
            #expect(handlers == ["dispatch1.make-a-store.com", "dispatch2.make-a-store.com"],
                    "both dispatchers' php-fpm answered (d2 serves its synced copy): \(handlers)")
            // A static file is nginx's own answer, through the install's link into the shared code.
            let script = try lab.fetch("192.0.2.10", host: "shop.example.com", path: "/mas_assets/js/divinity.js", headers: true)
            #expect(script.stdout.contains("Content-Type: application/javascript") && script.stdout.hasSuffix("// Divinity's shared script.\n"),
                    "\(script)")

            // The user PHP connects as exists for the handlers' networks, not for localhost.
            let users = try lab.databaseLines("cloud-db1").filter { $0.hasPrefix("user shopexam1@") }
            #expect(users == ["user shopexam1@10.0.0.%", "user shopexam1@10.0.4.%"], "\(users)")
            // d2 got the home through its rsync daemon, links as they are.
            let d1Home = try lab.files("d1") + "/usr/home/shopexam1"
            let d2Home = try lab.files("d2") + "/usr/home/shopexam1"
            #expect(Files.read(d2Home + "/heavymetal/config.php") == Files.read(d1Home + "/heavymetal/config.php"))
            #expect(Posix.readLink(d2Home + "/html/index.php") == "/home/shared_codes/code_share_paid_1/html/index.php")
            // d2's own nginx has the store (written, tested and reloaded there through its
            // agent: its workers were replaced), and its own cron.d the store's cron line.
            let d2 = try lab.files("d2")
            #expect((Files.read(d2 + "/usr/local/etc/nginx/installs.conf") ?? "").contains("server_name shop.example.com"),
                    "d2's nginx config has the store")
            #expect(Files.read(d2 + "/usr/local/etc/nginx/installs.conf") == Files.read(try lab.files("d1") + "/usr/local/etc/nginx/installs.conf"))
            try lab.waitUntilGone(oldD2Workers)
            #expect((Files.read(d2 + "/etc/cron.d/divinity-installs") ?? "").contains("/usr/home/shopexam1/heavymetal/lib/cron/cron.php"),
                    "d2's crons are on d2")

            // Neither the rsync daemon's password nor the store's is in the output or runbook's state.
            let rsyncPassword = try #require(Files.read(lab.directory + "/secrets/rsync_root")?.trimmingCharacters(in: .whitespacesAndNewlines))
            let configPHP = Files.read(d1Home + "/heavymetal/config.php") ?? ""
            let storePassword = try #require(configPHP.split(separator: "\n").first { $0.contains("db_pass") }?
                .split(separator: "'").dropFirst(3).first.map(String.init))
            for secret in [rsyncPassword, storePassword] {
                #expect(!run.stdout.contains(secret) && !run.stderr.contains(secret))
                for file in Files.allFiles(try lab.files("d1") + "/var/lib/runbook") {
                    #expect(!(Files.read(file) ?? "").contains(secret), "\(file) holds a secret")
                }
            }

            // Undo: every host's folders and the three servers' databases as they were.
            let installedWorkers = try lab.nginxWorkers("d1")
            let undo = try lab.runbookOnD1(["undo", runID])
            #expect(undo.exitCode == 0, "\(undo)")
            let undone = try lab.state()
            #expect(undone == pristine, "undo left differences:\n\(pristine.differences(from: undone).joined(separator: "\n"))")
            // nginx reloaded the old configuration: the name gets the dispatcher's own page.
            try lab.waitUntilGone(installedWorkers)
            #expect(try lab.fetch("192.0.2.10", host: "shop.example.com").stdout == "dispatch1.make-a-store.com\n")
        }
    }

    @Test("a password file that is not there, or a database host that is not a pattern, is refused in one line before anything is touched")
    func badReachSettingsAreRefusedFirst() throws {
        try SharedLab.use { lab in
            let configFile = try lab.files("d1") + "/etc/runbook/config.toml"
            let config = try #require(Files.read(configFile))
            let pristine = try lab.state()
            let cases = [
                ("password_file = \"/usr/local/etc/rsyncd_root.pwd\"", "password_file = \"/usr/local/etc/rsyncd_gone.pwd\"",
                 "failed: the password_file for rsync://root@10.0.0.2/root, /usr/local/etc/rsyncd_gone.pwd, does not exist"),
                ("install_db_hosts = [\"10.0.0.%\", \"10.0.4.%\"]", "install_db_hosts = [\"10.0.0.%\", 5]",
                 "failed: settings.install_db_hosts must be a host pattern or a list of them (\"10.0.0.%\")"),
            ]
            for (setting, broken, message) in cases {
                try Files.write(configFile, config.replacingOccurrences(of: setting, with: broken))
                var expected = pristine
                expected.trees["d1"] = try lab.state().trees["d1"]
                let run = try lab.runbookOnD1(install + ["--yes"])
                #expect(run.exitCode == 1 && (run.stdout + run.stderr).contains(message), "\(run)")
                #expect((run.stdout + run.stderr).contains("nothing was changed"), "\(run)")
                let after = try lab.state()
                #expect(after == expected, "\(expected.differences(from: after).joined(separator: "\n"))")
            }
        }
    }

    @Test("a home of that name already on d2 stops the install before the copy: undo leaves d2's folder alone")
    func homeOnTheOtherDispatcherIsNotOverwritten() throws {
        try SharedLab.use { lab in
            let theirs = try lab.files("d2") + "/usr/home/shopexam1"
            try Files.mkdir(theirs)
            try Files.write(theirs + "/keep.txt", "d2's own\n")
            let pristine = try lab.state()
            // The dry-run asks d2's daemon too (a read).
            let plan = try lab.runbookOnD1(install + ["--dry-run"])
            #expect(plan.exitCode == 1 && plan.stdout.contains("/usr/home/shopexam1 already exists on dispatch2.make-a-store.com"), "\(plan)")
            let run = try lab.runbookOnD1(install + ["--yes"])
            #expect(run.exitCode == 1 && run.stdout.contains("/usr/home/shopexam1 already exists on dispatch2.make-a-store.com"), "\(run)")
            var after = try lab.state()
            for host in ["cloud-db1", "d2"] {
                after.databases[host] = after.databases[host]?.filter { !$0.hasPrefix("`internal`.`queue`") }
            }
            #expect(after == pristine, "\(pristine.differences(from: after).joined(separator: "\n"))")
            #expect(Files.read(theirs + "/keep.txt") == "d2's own\n")
        }
    }

    @Test("an rsync daemon that refuses the password fails the install, and every host is left as it was")
    func refusedRsyncPasswordUndoesTheInstall() throws {
        try SharedLab.use { lab in
            let pristine = try lab.state()
            // d1's copy of the password file no longer matches d2's daemon.
            let passwordFile = try lab.files("d1") + "/usr/local/etc/rsyncd_root.pwd"
            try Files.write(passwordFile, "not-the-password\n")
            chmod(passwordFile, 0o600)
            var expected = pristine
            expected.trees["d1"] = try lab.state().trees["d1"]

            let run = try lab.runbookOnD1(install + ["--yes"])
            #expect(run.exitCode != 0, "\(run)")
            #expect(run.stderr.contains("auth failed on module root"), "the daemon's refusal is the error\n\(run)")
            // The failed install is undone; only its queue record stays, failed, with the error.
            var after = try lab.state()
            let queue = after.databases["cloud-db1"]?.filter { $0.hasPrefix("`internal`.`queue`") } ?? []
            #expect(queue.count == 1 && queue[0].contains("status='failed'") && queue[0].contains("auth failed"), "\(queue)")
            for host in ["cloud-db1", "d2"] {
                after.databases[host] = after.databases[host]?.filter { !$0.hasPrefix("`internal`.`queue`") }
            }
            #expect(after == expected, "the failed install left differences:\n\(expected.differences(from: after).joined(separator: "\n"))")
        }
    }
}
