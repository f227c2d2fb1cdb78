// Errors are typed, name the start of the SQL, and never carry bound values.
import Testing
@testable import MySQLClient

extension DatabaseSuite {
    @Suite("Errors")
    struct ErrorTests {
        @Test("a missing table gives 1146/42S02 with the SQL start but not the bound secret")
        func missingTable() throws {
            try TestDatabase.withDatabase("missing") { db, _ in
                let secret = "hunter2-very-secret"
                let error = try #require(throws: DBError.self) {
                    try db.query("SELECT * FROM no_such_table WHERE password = ?", [.string(secret)])
                }
                #expect(error.kind == .server)
                #expect(error.code == 1146)
                #expect(error.sqlState == "42S02")
                #expect(error.message.contains("no_such_table"))
                #expect(error.sql == "SELECT * FROM no_such_table WHERE password = ?")
                let text = String(describing: error)
                #expect(text.hasPrefix("MySQL error 1146 (42S02): Table '"))
                #expect(text.hasSuffix("[in: SELECT * FROM no_such_table WHERE password = ?]"))
                #expect(!text.contains(secret))
                // The same through a bound value that reaches an existing table's error path.
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY, pw VARCHAR(5))")
                let tooLong = try #require(throws: DBError.self) {
                    try db.execute("INSERT INTO t (id, pw) VALUES (?, ?)", [.int(1), .string(secret)])
                }
                #expect(tooLong.code == 1406)  // Data too long (strict mode)
                #expect(!String(describing: tooLong).contains(secret))
            }
        }

        @Test("a wrong number of bound values is a typed error, not a trap")
        func parameterCountMismatch() throws {
            try TestDatabase.withDatabase("params") { db, _ in
                try db.execute("CREATE TABLE t (a INT, b INT)")
                let tooFew = try #require(throws: DBError.self) {
                    try db.execute("INSERT INTO t VALUES (?, ?)", [.int(1)])
                }
                #expect(tooFew.kind == .parameterCount(expected: 2, given: 1))
                #expect(tooFew.code == 0)
                let tooMany = try #require(throws: DBError.self) {
                    try db.query("SELECT * FROM t WHERE a = ?", [.int(1), .int(2)])
                }
                #expect(tooMany.kind == .parameterCount(expected: 1, given: 2))
                #expect(String(describing: tooMany).contains("[in: SELECT * FROM t WHERE a = ?]"))
                // The cached statement is still good afterwards.
                try db.execute("INSERT INTO t VALUES (?, ?)", [.int(1), .int(2)])
                let statement = try db.prepare("SELECT a FROM t WHERE b = ?")
                #expect(throws: DBError.self) { try statement.query([]) }
                #expect(try statement.query([.int(2)]).first?["a"] == .int(1))
            }
        }

        @Test("a syntax error fails at prepare time with the server's code")
        func syntaxError() throws {
            try TestDatabase.withDatabase("syntax") { db, _ in
                let error = try #require(throws: DBError.self) { try db.execute("SELEKT 1") }
                #expect(error.code == 1064)
                #expect(error.sqlState == "42000")
                #expect(db.cachedStatementCount == 0)
            }
        }

        @Test("error SQL is one line, at most 120 characters plus an ellipsis")
        func snippet() {
            let sql = "SELECT id,\n       name\n\tFROM installs\n WHERE " + String(repeating: "x = 1 AND ", count: 30)
            let error = DBError(kind: .server, code: 1, sqlState: "HY000", message: "m", sql: sql)
            let snippet = try! #require(error.sql)
            #expect(snippet.hasPrefix("SELECT id, name FROM installs WHERE x = 1 AND"))
            #expect(snippet.hasSuffix("..."))
            #expect(snippet.count == 123)
            #expect(!snippet.contains("\n") && !snippet.contains("\t"))
            #expect(SQLSnippet.make("  SELECT 1  ") == "SELECT 1")
            #expect(SQLSnippet.make(String(repeating: "a", count: 120)) == String(repeating: "a", count: 120))
        }

        @Test("a killed connection drops its cached statement")
        func connectionLevelErrorDropsCachedStatement() throws {
            try TestDatabase.withDatabase("killed") { db, _ in
                let id = try #require(try db.query("SELECT CONNECTION_ID() AS id").first?["id"]?.int64)
                #expect(db.cachedStatementCount == 1)
                let killer = try TestDatabase.connect()
                try killer.executeText("KILL CONNECTION \(id)")
                let error = try #require(throws: DBError.self) {
                    try db.query("SELECT CONNECTION_ID() AS id")
                }
                #expect(error.isConnectionLevel)
                #expect(db.cachedStatementCount == 0)
                #expect(throws: DBError.self) { try db.ping() }
            }
        }
    }
}
