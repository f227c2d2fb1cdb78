// What the shipped runbooks' end-to-end tests share: a demo world that is built and ready
// (scripts/demo-world), its state as one comparable value (files under the root, every row
// of the platform's databases, the databases and users, the mounts), and the dry-run-then-run
// check for runbooks run against it.

import Foundation
import MySQLClient
import RunbookSupport
import Testing
import RunbookEngine

/// Everything a runbook could change in a demo world, as text per item.
package struct WorldState: Equatable {
    package var tree: TreeFingerprint
    /// "database.table" -> its rows, ordered by the first column, one line each.
    package var tables: [String: [String]]
    package var databases: [String]
    package var users: [String]
    package var mounts: [String]

    /// The names of items that differ, with both sides (for a test's failure message).
    package func differences(from other: WorldState, ignoring ignored: Set<String> = []) -> [String] {
        var out: [String] = []
        for key in Set(tree.entries.keys).union(other.tree.entries.keys).sorted() where tree.entries[key] != other.tree.entries[key] {
            out.append("file \(key): \(tree.entries[key] ?? "(none)") | \(other.tree.entries[key] ?? "(none)")")
        }
        for key in Set(tables.keys).union(other.tables.keys).sorted() where !ignored.contains(key) && tables[key] != other.tables[key] {
            out.append("table \(key):\n  \((tables[key] ?? []).joined(separator: "\n  "))\n  |\n  \((other.tables[key] ?? []).joined(separator: "\n  "))")
        }
        if databases != other.databases { out.append("databases: \(databases) | \(other.databases)") }
        if users != other.users { out.append("users: \(users) | \(other.users)") }
        if mounts != other.mounts { out.append("mounts: \(mounts) | \(other.mounts)") }
        return out
    }
}

extension DemoWorld {
    /// Builds the world and reads its world.env; fails the test when the script fails.
    package func build() throws {
        let built = try script([directory])
        guard built.exitCode == 0 else { throw TestSetupError("scripts/demo-world failed\n\(built)") }
        try readEnv()
    }

    /// A world built in a new sandbox, ready for runbooks.
    package static func built() throws -> DemoWorld {
        let world = DemoWorld(try Sandbox())
        try world.build()
        return world
    }

    /// A built world with one store installed for real by `runbook run install ARGS`; the test
    /// stops if the install fails.
    package static func withStore(_ installArguments: [String]) throws -> DemoWorld {
        let world = try built()
        try SiteTesting.install(world, installArguments)
        return world
    }

    package var root: String { env["DEMO_WORLD_ROOT"] ?? directory + "/root" }

    /// A connection as the database administrator (root through the socket).
    package func admin() throws -> Connection {
        try Connection(ConnectionOptions(socket: try value("DEMO_WORLD_MYSQL_SOCKET"), user: "root"))
    }

    /// The world's state now.
    package func state() throws -> WorldState {
        let connection = try admin()
        defer { connection.close() }
        var tables: [String: [String]] = [:]
        for database in ["internal", "divinity"] {
            for table in try connection.query("SHOW TABLES FROM `\(database)`").rows.compactMap({ $0[0].string }) {
                let rows = try connection.query("SELECT * FROM `\(database)`.`\(table)` ORDER BY 1")
                // created_at / updated_at change with the clock, not with the runbook.
                let kept = rows.columns.enumerated().filter { !["created_at", "updated_at"].contains($0.element) }.map(\.offset)
                tables[database + "." + table] = rows.rows.map { row in
                    kept.map { index in "\(rows.columns[index])=\(Self.text(row[index]))" }.joined(separator: " ")
                }
            }
        }
        let databases = try connection.query("SHOW DATABASES").rows.compactMap { $0[0].string }.sorted()
        let users = try connection.query("SELECT CONCAT(User, '@', Host) FROM mysql.user ORDER BY 1").rows.compactMap { $0[0].string }
        return WorldState(tree: TreeFingerprint(root), tables: tables, databases: databases, users: users,
                          mounts: Self.mounts(under: root))
    }

    package static func text(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return "'\(v)'"
        case .bytes(let v): return "0x" + v.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// "source-root -> mount point" of every mount at or below `path` (from the kernel's table).
    package static func mounts(under path: String) -> [String] {
        guard let table = Files.read("/proc/self/mountinfo") else { return [] }
        return table.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 4, fields[4] == path || fields[4].hasPrefix(path + "/") else { return nil }
            return fields[3] + " -> " + fields[4]
        }.sorted()
    }

    /// Runs `run ARGS... --dry-run --json`, checks it changed nothing, then runs it for real
    /// with --json and checks that it applied exactly the planned effects. Returns the real run.
    @discardableResult
    package func planAndRun(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ChildResult {
        let before = try state()
        let plan = try runbook(["run"] + arguments + ["--dry-run", "--json"])
        #expect(plan.exitCode == 0, "dry-run failed\n\(plan)", sourceLocation: sourceLocation)
        let after = try state()
        #expect(before == after, "the dry-run changed the world:\n\(before.differences(from: after).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        let run = try runbook(["run"] + arguments + ["--json"])
        // A run id the runbook writes (a queue record's log) is the one thing that must differ.
        var compared = run
        if let planID = Self.runID(plan), let runID = Self.runID(run) {
            compared.stdout = run.stdout.replacingOccurrences(of: runID, with: planID)
        }
        let planned = plan.events("effect_planned").map(ReportedEffect.init)
        let applied = compared.events("effect_applied").map(ReportedEffect.init)
        #expect(!planned.isEmpty, "the dry-run planned nothing", sourceLocation: sourceLocation)
        #expect(planned.count == applied.count && zip(planned, applied).allSatisfy { $0.matches(applied: $1) },
                "the real run did not apply what the dry-run planned\nplanned:\n\(planned.map(\.description).joined(separator: "\n"))\napplied:\n\(applied.map(\.description).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        return run
    }

    /// The id of the run a --json run reports.
    package static func runID(_ result: ChildResult) -> String? {
        result.events("run_started").first?["run"]?.stringValue
    }
}
