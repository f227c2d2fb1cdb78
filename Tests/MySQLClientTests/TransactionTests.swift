// transaction { } commits on success and leaves nothing behind on failure.
import Testing
import MySQLClient

extension DatabaseSuite {
    @Suite("Transactions")
    struct TransactionTests {
        private func rowCount(_ db: Connection) throws -> SQLValue? {
            try db.query("SELECT COUNT(*) AS n FROM t").first?["n"]
        }

        @Test("a body that throws rolls back and its error is rethrown")
        func failedTransactionLeavesNoRow() throws {
            try TestDatabase.withDatabase("rollback") { db, _ in
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB")
                #expect(throws: PlannedFailure.self) {
                    try db.transaction {
                        try db.execute("INSERT INTO t VALUES (?)", [1])
                        try db.execute("INSERT INTO t VALUES (?)", [2])
                        throw PlannedFailure()
                    }
                }
                #expect(try rowCount(db) == .int(0))
                // A database error inside the body also rolls back the rows before it.
                let error = try #require(throws: DBError.self) {
                    try db.transaction {
                        try db.execute("INSERT INTO t VALUES (?)", [3])
                        try db.execute("INSERT INTO t VALUES (?)", [3])  // duplicate key
                    }
                }
                #expect(error.code == 1062)
                #expect(try rowCount(db) == .int(0))
            }
        }

        @Test("a body that returns commits, and its value is returned")
        func successfulTransactionCommits() throws {
            try TestDatabase.withDatabase("commit") { db, name in
                try db.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")
                let id = try db.transaction {
                    try db.execute("INSERT INTO t (v) VALUES (?)", ["a"]).lastInsertID
                }
                #expect(id == 1)
                // Visible from another session, so it really was committed.
                let other = try Connection(try TestDatabase.options(database: name))
                #expect(try other.query("SELECT v FROM t WHERE id = ?", [.uint(id)]).first?["v"] == "a")
            }
        }

        @Test("nested transactions are refused instead of silently committing")
        func nestedTransactionRefused() throws {
            try TestDatabase.withDatabase("nested") { db, _ in
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
                let error = try #require(throws: DBError.self) {
                    try db.transaction {
                        try db.execute("INSERT INTO t VALUES (1)")
                        try db.transaction { try db.execute("INSERT INTO t VALUES (2)") }
                    }
                }
                #expect(error.kind == .nestedTransaction)
                #expect(try rowCount(db) == .int(0))
                // The connection is usable for a new transaction afterwards.
                try db.transaction { try db.execute("INSERT INTO t VALUES (3)") }
                #expect(try rowCount(db) == .int(1))
            }
        }
    }
}
