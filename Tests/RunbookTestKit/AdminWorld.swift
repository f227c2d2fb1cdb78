// The world of the in-process database administration tests: names one test creates on
// the test server (dropped when it ends) and an Engine whose connection "test" is that
// server, with its own runbooks folder, tree and state dir.

import MySQLClient
import RunbookConfig
import RunbookCore
import RunbookEngine
import RunbookRun
import RunbookSupport

/// Names created by one test (databases and users share a random prefix), dropped at the end.
package final class AdminNames {
    package let socket: String
    package let admin: Connection
    package let prefix: String

    package init() throws {
        socket = try TestDatabase.socketPath()
        prefix = "rbadm" + String(UInt64.random(in: 0...UInt64.max), radix: 36).prefix(8)
        do {
            admin = try Connection(ConnectionOptions(socket: socket, user: "root"))
        } catch {
            throw TestSetupError("cannot connect to the test server at \(socket): \(error)")
        }
    }

    deinit {
        let databases = (try? admin.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", [.string(prefix + "%")]).rows) ?? []
        for row in databases { if let name = row[0].string { _ = try? admin.executeText("DROP DATABASE IF EXISTS `\(name)`") } }
        let users = (try? admin.query("SELECT User, Host FROM mysql.user WHERE User LIKE ?", [.string(prefix + "%")]).rows) ?? []
        for row in users {
            if let user = row[0].string, let host = row[1].string { _ = try? admin.executeText("DROP USER IF EXISTS '\(user)'@'\(host)'") }
        }
        admin.close()
    }

    package func name(_ label: String) -> String { prefix + "_" + label }

    package func databaseExists(_ name: String) throws -> Bool {
        try admin.query("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [.string(name)]).first?[0].int64 == 1
    }

    package func userExists(_ user: String, host: String = "localhost") throws -> Bool {
        try admin.query("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", [.string(user), .string(host)]).first?[0].int64 == 1
    }

    package func tables(_ database: String) throws -> [String] {
        try admin.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
                        [.string(database)]).rows.compactMap { $0[0].string }
    }

    /// The install schema the updates expect (the project ships its own; this is its shape).
    package static let schema = """
        -- an install's database
        CREATE TABLE vars (name VARCHAR(64) PRIMARY KEY, value TEXT NULL);
        CREATE TABLE database_updates (
          id INT AUTO_INCREMENT PRIMARY KEY,
          filename VARCHAR(255) NOT NULL,
          plugin_id INT NULL,
          revision VARCHAR(64) NULL,
          applied_at DATETIME NOT NULL
        );
        """

    package func createDatabase(_ name: String, schema: String? = AdminNames.schema) throws {
        try admin.executeText("CREATE DATABASE `\(name)`")
        guard let schema else { return }
        try admin.executeText("USE `\(name)`")
        for statement in try SQLScript.split(schema) { try admin.executeText(statement.text) }
    }
}

/// An engine with the test server as connection "test", runbooks and a tree in a temp dir.
package final class AdminWorld {
    package let names: AdminNames
    package let base: String
    package let engine: Engine
    package var tree: String { base + "/tree" }
    package var state: String { base + "/state" }

    package init() throws {
        names = try AdminNames()
        var template = Array("/tmp/rbadm.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestSetupError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        base = String(cString: made)
        try Files.mkdir(base + "/runbooks")
        try Files.mkdir(base + "/tree")
        var config = EngineConfig(stateDir: base + "/state")
        config.runbookDirs = [base + "/runbooks"]
        config.databases["test"] = DatabaseConfig(name: "test", socket: names.socket, host: nil, port: 3306, user: "root",
                                                  password: nil, database: nil, connectTimeout: 10, readTimeout: 30)
        engine = Engine(config: config)
    }

    deinit { try? Posix.removeTree(base) }

    package func addRunbook(_ name: String, _ source: String) throws { try Files.write(base + "/runbooks/\(name).lua", source) }

    package func run(_ runbook: String, _ words: [String] = [], dryRun: Bool = false) -> RunResult {
        var options = RunOptions()
        options.dryRun = dryRun
        options.output = .quiet
        return engine.run(runbook, words: words, options: options)
    }

    package func undo(_ id: String) -> RunResult { engine.undo(id, dryRun: false, output: .quiet) }

    /// Every byte the engine kept about its runs (run.json, journal, backups).
    package func stateBytes() -> String { Files.allFiles(state).map { Files.read($0) ?? "" }.joined(separator: "\n") }

    package func runbookText(_ body: String, params: String = "db = { type = \"string\", required = true }") -> String {
        """
        return runbook {
          summary = "database administration under test",
          params = { \(params) },
          run = function(args)
        \(body)
          end,
        }
        """
    }
}
