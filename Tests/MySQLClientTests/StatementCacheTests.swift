// The per-connection statement cache prepares each SQL text once and evicts the oldest.
import Testing
@testable import MySQLClient

extension DatabaseSuite {
    @Suite("Statement cache")
    struct StatementCacheTests {
        @Test("repeated SQL reuses one prepared statement")
        func reuse() throws {
            try TestDatabase.withDatabase("cache") { db, _ in
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
                let preparedBefore = db.preparedStatementCount
                for id in 0..<50 {
                    try db.execute("INSERT INTO t (id, v) VALUES (?, ?)", [.int(Int64(id)), "v"])
                }
                for id in 0..<50 {
                    _ = try db.query("SELECT v FROM t WHERE id = ?", [.int(Int64(id))])
                }
                #expect(db.preparedStatementCount == preparedBefore + 2)
                #expect(db.cachedStatementCount == 3)  // CREATE TABLE, INSERT, SELECT
                // The server agrees: prepares are few, executions many.
                let status = try db.query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
                #expect(status.first?["Value"] == .string("4"))  // 3 above + this SHOW
            }
        }

        @Test("a full cache evicts the least recently used statement")
        func leastRecentlyUsedEviction() throws {
            try TestDatabase.withDatabase("lru", statementCacheCapacity: 2) { db, _ in
                let a = "SELECT 1 AS a", b = "SELECT 2 AS b", c = "SELECT 3 AS c"
                _ = try db.query(a)
                _ = try db.query(b)
                _ = try db.query(a)  // a is now more recent than b
                let before = db.preparedStatementCount
                _ = try db.query(c)  // evicts b
                #expect(db.cachedStatementCount == 2)
                _ = try db.query(a)  // still cached
                #expect(db.preparedStatementCount == before + 1)
                _ = try db.query(b)  // was evicted: prepared again
                #expect(db.preparedStatementCount == before + 2)
                #expect(db.cachedStatementCount == 2)
            }
        }

        @Test("capacity 0 disables caching but everything still works")
        func noCache() throws {
            try TestDatabase.withDatabase("nocache", statementCacheCapacity: 0) { db, _ in
                for _ in 0..<3 { #expect(try db.query("SELECT 1 AS one").first?["one"] == .int(1)) }
                #expect(db.cachedStatementCount == 0)
                // Statements are freed when not cached, so the server's count stays flat.
                let open = try db.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'")
                #expect(open.first?["Value"] == .string("3"))
            }
        }

        @Test("prepare() statements are not cached and are freed when released")
        func preparedStatementsAreNotCached() throws {
            try TestDatabase.withDatabase("owned") { db, _ in
                do {
                    let statement = try db.prepare("SELECT 1 AS one")
                    _ = try statement.query()
                }
                #expect(db.cachedStatementCount == 0)
                let closes = try db.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'")
                #expect(closes.first?["Value"] == .string("1"))
            }
        }
    }
}

extension DatabaseSuite {
    @Suite("Statement cache and schema changes")
    struct StatementCacheSchemaTests {
        @Test("a cached SELECT * sees columns added after it was prepared")
        func selectAfterAlter() throws {
            try TestDatabase.withDatabase("alter") { db, _ in
                try db.execute("CREATE TABLE t (a INT)")
                try db.execute("INSERT INTO t VALUES (1)")
                #expect(try db.query("SELECT * FROM t").columns == ["a"])
                let held = try db.prepare("SELECT * FROM t WHERE a = ?")
                #expect(try held.query([1]).columns == ["a"])
                try db.execute("ALTER TABLE t ADD COLUMN b VARCHAR(5) DEFAULT 'x'")
                let after = try db.query("SELECT * FROM t")
                #expect(after.columns == ["a", "b"])
                #expect(after.first?.values == [.int(1), .string("x")])
                // A statement the caller holds recovers the same way.
                #expect(try held.query([1]).first?.values == [.int(1), .string("x")])
            }
        }

        @Test("a statement that changes data is not run twice after a metadata change")
        func callAfterAlterRunsOnce() throws {
            try TestDatabase.withDatabase("alter_call") { db, _ in
                try db.execute("CREATE TABLE t (a INT)")
                try db.execute("CREATE TABLE log (n INT)")
                try db.executeText("CREATE PROCEDURE p() BEGIN INSERT INTO log VALUES (1); SELECT * FROM t; END")
                _ = try db.query("CALL p()")
                try db.execute("ALTER TABLE t ADD COLUMN b INT")
                // Either the call succeeds or it reports the change, but it runs exactly once.
                let second = Result { try db.query("CALL p()") }
                if case .failure(let error as DBError) = second {
                    #expect(error.code == StatementHandle.newMetadataError)
                }
                #expect(try db.query("SELECT COUNT(*) AS n FROM log").first?["n"] == .int(2))
                _ = try db.query("CALL p()")  // and the statement works again afterwards
                #expect(try db.query("SELECT COUNT(*) AS n FROM log").first?["n"] == .int(3))
            }
        }
    }
}

extension DatabaseSuite {
    @Suite("SQL classification")
    struct SQLKindTests {
        @Test("read-only statements are recognised past comments and parentheses")
        func readOnly() {
            #expect(SQLKind.isReadOnly("SELECT 1"))
            #expect(SQLKind.isReadOnly("  \n\t(select a FROM t) UNION (SELECT b FROM u)"))
            #expect(SQLKind.isReadOnly("/* report */ -- why\n# note\nshow tables"))
            #expect(SQLKind.isReadOnly("EXPLAIN SELECT 1"))
            #expect(!SQLKind.isReadOnly("CALL p()"))
            #expect(!SQLKind.isReadOnly("INSERT INTO t SELECT * FROM u"))
            #expect(!SQLKind.isReadOnly("/*!40101 DELETE FROM t */"))
            #expect(!SQLKind.isReadOnly("SELECTED"))
            #expect(!SQLKind.isReadOnly(""))
            #expect(!SQLKind.isReadOnly("/* unterminated"))
        }
    }
}
