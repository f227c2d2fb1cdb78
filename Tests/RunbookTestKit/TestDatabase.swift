// A uniquely named database on the private test server (scripts/test-db).

import MySQLClient
import RunbookEngine
import RunbookSupport
import Testing

/// A uniquely named database on the private test server, dropped when this goes away.
package final class TestDatabase {
    package let name: String
    package let socket: String
    package let connection: Connection
    private let admin: Connection

    package static func socketPath() throws -> String {
        guard let value = Posix.environment("RUNBOOK_TEST_MYSQL_SOCKET"), !value.isEmpty else { throw MissingTestServer() }
        return value
    }

    package init(label: String = "rb") throws {
        socket = try TestDatabase.socketPath()
        name = "rbtest_\(label)_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        do {
            admin = try Connection(ConnectionOptions(socket: socket, user: "root"))
        } catch {
            throw TestSetupError("cannot connect to the test server at \(socket): \(error)")
        }
        try admin.executeText("CREATE DATABASE `\(name)` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        connection = try Connection(ConnectionOptions(socket: socket, user: "root", database: name))
    }

    deinit {
        connection.close()
        _ = try? admin.executeText("DROP DATABASE IF EXISTS `\(name)`")
        admin.close()
    }

    /// Runs statements separated by ";" at the end of a line (schema and seed data).
    package func run(_ script: String) throws {
        for statement in script.split(separator: ";\n").map(String.init) where !statement.allSatisfy(\.isWhitespace) {
            try connection.executeText(statement)
        }
    }

    package func query(_ sql: String, _ params: [SQLValue] = []) throws -> [Row] { try connection.query(sql, params).rows }

    /// Every table's definition and every row, in a stable order. The AUTO_INCREMENT
    /// counter is part of the definition only when asked: an undone insert legitimately
    /// leaves the counter advanced, a dry-run must not even do that.
    package func dump(withAutoIncrement: Bool = false) throws -> [String] {
        var lines: [String] = []
        let tables = try query("SHOW TABLES").compactMap { $0[0].string }.sorted()
        for table in tables {
            var create = try query("SHOW CREATE TABLE `\(table)`").first?[1].string ?? ""
            if !withAutoIncrement {
                create = create.split(separator: " ").filter { !$0.hasPrefix("AUTO_INCREMENT=") }.joined(separator: " ")
            }
            lines.append("table \(table): \(create)")
            let result = try connection.query("SELECT * FROM `\(table)`")
            let order = (1...max(1, result.columns.count)).map(String.init).joined(separator: ", ")
            for row in try query("SELECT * FROM `\(table)` ORDER BY \(order)") {
                lines.append("\(table): " + zip(row.columns, row.values).map { "\($0)=\($1)" }.joined(separator: " "))
            }
        }
        return lines
    }

    package func count(_ table: String) throws -> Int64 { try query("SELECT COUNT(*) FROM `\(table)`").first?[0].int64 ?? -1 }
}
