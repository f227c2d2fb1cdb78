// Connecting, closing, results of changes, column access and the text protocol.
import Testing
@testable import MySQLClient

extension DatabaseSuite {
    @Suite("Connections")
    struct ConnectionTests {
        @Test("a failed connect throws DBError and frees its handle, thousands of times over")
        func failedConnect() throws {
            _ = try TestDatabase.socketPath()  // fail clearly when run without scripts/test-db
            let options = ConnectionOptions(socket: "/nonexistent/runbook/mysqld.sock", user: "root")
            let error = try #require(throws: DBError.self) { try Connection(options) }
            #expect(error.kind == .client)
            #expect(error.code == 2002)
            #expect(error.sql == nil)

            // A leaked MYSQL handle costs about 2 KB (measured: ~19 MB per 10,000 failed
            // connects without the mysql_close on the failure path, ~0.3 MB with it). Tests
            // of other targets may run alongside and grow the process now and then, while
            // a leak grows it in every round: so the quietest of several rounds must be flat.
            for _ in 0..<100 { _ = try? Connection(options) }
            var failures = 0
            var growths: [Int] = []
            for _ in 0..<4 {
                let before = TestDatabase.residentBytes()
                for _ in 0..<4_000 {
                    do { _ = try Connection(options) } catch is DBError { failures += 1 }
                }
                if let before, let after = TestDatabase.residentBytes() { growths.append(after - before) }
            }
            #expect(failures == 16_000)
            if let quietest = growths.min() {
                #expect(quietest < 3 << 20, "RSS grew by \(growths) bytes per 4,000 failed connects")
            }
        }

        @Test("the password never appears when options are printed")
        func passwordMasked() {
            let options = ConnectionOptions(
                host: "db.internal", port: 3307, user: "runbook", password: "s3cr3t-Pa55", database: "internal")
            let texts = [
                String(describing: options), String(reflecting: options), "\(options)",
                String(describing: options.password), String(reflecting: options.password),
                { var out = ""; dump(options, to: &out); return out }(),
            ]
            for text in texts {
                #expect(!text.contains("s3cr3t"), "leaked in: \(text)")
            }
            #expect(String(describing: options) == "runbook@db.internal:3307/internal (password: ***)")
            #expect(ConnectionOptions(socket: "/run/s.sock", user: "root").description
                == "root@unix:/run/s.sock (no password)")
        }

        @Test("insert ids and affected rows")
        func execResults() throws {
            try TestDatabase.withDatabase("exec") { db, _ in
                try db.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
                let first = try db.execute("INSERT INTO t (v) VALUES (?)", [10])
                #expect(first == ExecResult(affectedRows: 1, lastInsertID: 1, warnings: 0))
                let multi = try db.execute("INSERT INTO t (v) VALUES (?), (?), (?)", [20, 20, 30])
                #expect(multi.affectedRows == 3)
                #expect(multi.lastInsertID == 2)  // MySQL reports the first id of a multi-row insert
                #expect(try db.execute("UPDATE t SET v = ? WHERE v = ?", [21, 20]).affectedRows == 2)
                // Rows matched but unchanged are not counted.
                #expect(try db.execute("UPDATE t SET v = ? WHERE v = ?", [21, 21]).affectedRows == 0)
                #expect(try db.execute("DELETE FROM t WHERE v > ?", [25]).affectedRows == 1)
                let warned = try db.execute("INSERT IGNORE INTO t (id, v) VALUES (?, ?)", [1, 5])
                #expect(warned.affectedRows == 0)
                #expect(warned.warnings == 1)
                // A SELECT through execute reports its row count and leaves the connection usable.
                #expect(try db.execute("SELECT * FROM t").affectedRows == 3)
                #expect(try db.query("SELECT COUNT(*) AS n FROM t").first?["n"] == .int(3))
            }
        }

        @Test("columns by name and by position")
        func columnAccess() throws {
            try TestDatabase.withDatabase("columns") { db, _ in
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")
                try db.execute("INSERT INTO t VALUES (?, ?), (?, ?)", [1, "one", 2, "two"])
                let result = try db.query("SELECT id, name AS label, id AS id FROM t ORDER BY id")
                #expect(result.columns == ["id", "label", "id"])
                #expect(result.count == 2)
                let row = result.rows[1]
                #expect(row[0] == .int(2))
                #expect(row[1] == .string("two"))
                #expect(row["label"] == .string("two"))
                #expect(row["id"] == .int(2))
                #expect(row["name"] == nil)  // renamed by the alias
                #expect(row["LABEL"] == nil)  // names are matched exactly
                #expect(row[99] == .null && row[-1] == .null)  // out of range does not trap
                #expect(row.columns == result.columns)
                #expect(row.values == [.int(2), .string("two"), .int(2)])
                let empty = try db.query("SELECT id FROM t WHERE id > ?", [100])
                #expect(empty.isEmpty && empty.columns == ["id"])
            }
        }

        @Test("the text protocol, identifier quoting, ping and version")
        func textProtocolAndUtilities() throws {
            let db = try TestDatabase.connect()
            defer { db.close() }
            try db.ping()
            #expect(db.serverVersion.contains("MariaDB") || db.serverVersion.first?.isNumber == true)
            #expect(db.escapeIdentifier("plain") == "`plain`")
            #expect(db.escapeIdentifier("we`ird") == "`we``ird`")

            let name = "rbtest_we`ird \(UInt32.random(in: 0...UInt32.max))"
            try db.executeText("CREATE DATABASE \(db.escapeIdentifier(name))")
            let found = try db.query("SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [.string(name)])
            #expect(found.first?["n"] == .string(name))
            // A result set from the text protocol is consumed; the connection stays in sync.
            try db.executeText("SHOW DATABASES")
            #expect(try db.executeText("DROP DATABASE \(db.escapeIdentifier(name))").affectedRows == 0)
            #expect(try db.query("SELECT 1 AS one").first?["one"] == .int(1))
            let bad = try #require(throws: DBError.self) { try db.executeText("DROP DATABASE \(db.escapeIdentifier(name))") }
            #expect(bad.code == 1008)  // database does not exist
        }

        @Test("a closed connection throws typed errors and statements outliving it are safe")
        func closedConnection() throws {
            let db = try TestDatabase.connect()
            let statement = try db.prepare("SELECT 1 AS one")
            #expect(try statement.query().first?["one"] == .int(1))
            db.close()
            db.close()  // idempotent
            #expect(!db.isOpen)
            #expect(db.serverVersion == "")
            let error = try #require(throws: DBError.self) { try statement.query() }
            #expect(error.kind == .connectionClosed)
            #expect(throws: DBError.self) { try db.execute("SELECT 1") }
            #expect(throws: DBError.self) { try db.ping() }
            statement.close()  // frees only client memory now
            #expect(throws: DBError.self) { try statement.execute() }
        }

        @Test("a closed statement throws a typed error")
        func closedStatement() throws {
            let db = try TestDatabase.connect()
            let statement = try db.prepare("SELECT ? AS v")
            #expect(try statement.query(["x"]).first?["v"] == "x")
            statement.close()
            let error = try #require(throws: DBError.self) { try statement.query(["x"]) }
            #expect(error.kind == .statementClosed)
            #expect(try db.query("SELECT 2 AS two").first?["two"] == .int(2))
        }

        @Test("options with NUL bytes are refused before reaching C")
        func nulInOptions() throws {
            let options = ConnectionOptions(socket: try TestDatabase.socketPath(), user: "ro\u{0}ot")
            let error = try #require(throws: DBError.self) { try Connection(options) }
            #expect(error.kind == .invalidOption)
        }

        @Test("a wrong database name fails the connect with the server's error")
        func unknownDatabase() throws {
            let options = try TestDatabase.options(database: "rbtest_does_not_exist")
            let error = try #require(throws: DBError.self) { try Connection(options) }
            #expect(error.code == 1049)
            #expect(error.kind == .server)
        }
    }
}
