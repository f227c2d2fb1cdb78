// Values survive the trip through bound parameters and typed result columns unchanged.
import Testing
import MySQLClient

extension DatabaseSuite {
    @Suite("Bound values and typed results")
    struct ValueRoundTripTests {
        @Test("SQL injection text and 4-byte UTF-8 are stored literally")
        func injectionAndEmoji() throws {
            try TestDatabase.withDatabase("inject") { db, _ in
                try db.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(255))")
                let hostile = "'; DROP TABLE t; --"
                let emoji = "shop 😀🛒 naïve \u{1F9EA}"
                try db.execute("INSERT INTO t (s) VALUES (?)", [.string(hostile)])
                try db.execute("INSERT INTO t (s) VALUES (?)", [.string(emoji)])

                let rows = try db.query("SELECT s FROM t ORDER BY id")
                #expect(rows.rows.map { $0["s"] } == [.string(hostile), .string(emoji)])
                // The table is still there, and lookups by the hostile value match exactly.
                let tables = try db.query("SHOW TABLES")
                #expect(tables.count == 1)
                let found = try db.query("SELECT COUNT(*) AS n FROM t WHERE s = ?", [.string(hostile)])
                #expect(found.first?["n"] == .int(1))
                // The server saw 4-byte characters, not replacement characters.
                let length = try db.query("SELECT CHAR_LENGTH(s) AS n FROM t WHERE id = 2")
                #expect(length.first?["n"] == .int(Int64(emoji.count)))
            }
        }

        @Test("NULL round-trips in every column type")
        func nulls() throws {
            try TestDatabase.withDatabase("null") { db, _ in
                try db.execute("""
                    CREATE TABLE t (i INT NULL, u BIGINT UNSIGNED NULL, d DOUBLE NULL, s TEXT NULL,
                                    b BLOB NULL, dt DATETIME NULL, dec_ DECIMAL(10,2) NULL)
                    """)
                try db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", Array(repeating: .null, count: 7))
                let row = try #require(try db.query("SELECT * FROM t").first)
                #expect(row.values == Array(repeating: SQLValue.null, count: 7))
                #expect(row["s"]?.isNull == true)
                let isNull = try db.query("SELECT COUNT(*) AS n FROM t WHERE i IS NULL AND s IS NULL")
                #expect(isNull.first?["n"] == .int(1))
            }
        }

        @Test("integers keep their full range, signed and unsigned")
        func integers() throws {
            try TestDatabase.withDatabase("ints") { db, _ in
                try db.execute("""
                    CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, big BIGINT, ubig BIGINT UNSIGNED,
                                    tiny TINYINT, utiny TINYINT UNSIGNED, y YEAR, bits BIT(64))
                    """)
                let insert = "INSERT INTO t (big, ubig, tiny, utiny, y, bits) VALUES (?, ?, ?, ?, ?, ?)"
                try db.execute(insert, [.int(.min), .uint(.max), .int(-128), .int(255), .int(2024), .uint(.max)])
                try db.execute(insert, [.int(.max), .uint(0), .int(127), .uint(0), .int(1999), .int(5)])
                let rows = try db.query("SELECT big, ubig, tiny, utiny, y, bits FROM t ORDER BY id").rows
                #expect(rows.count == 2)
                #expect(rows[0].values == [.int(.min), .uint(.max), .int(-128), .int(255), .int(2024), .uint(.max)])
                #expect(rows[1].values == [.int(.max), .int(0), .int(127), .int(0), .int(1999), .int(5)])
                // An unsigned value that fits in Int64 reads back as .int.
                let fits = try db.query("SELECT CAST(42 AS UNSIGNED) AS n").first?["n"]
                #expect(fits == .int(42))
            }
        }

        @Test("doubles, floats and decimals keep their values")
        func floatingPointAndDecimal() throws {
            try TestDatabase.withDatabase("real") { db, _ in
                try db.execute("""
                    CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, d DOUBLE, f FLOAT, m DECIMAL(32,10))
                    """)
                let doubles: [Double] = [3.141592653589793, -2.5e-300, 1.7976931348623157e308, 0, -0.5]
                for value in doubles {
                    try db.execute("INSERT INTO t (d, f, m) VALUES (?, ?, ?)",
                                   [.double(value), .double(0.1), .string("1234567890123456789012.0123456789")])
                }
                let rows = try db.query("SELECT d, f, m FROM t ORDER BY id").rows
                #expect(rows.map { $0["d"] } == doubles.map { SQLValue.double($0) })
                // FLOAT reads back as the value stored, not its binary widening 0.10000000149...
                #expect(rows.allSatisfy { $0["f"] == .double(0.1) })
                // DECIMAL is text, with every digit kept.
                #expect(rows.allSatisfy { $0["m"] == .string("1234567890123456789012.0123456789") })
                let sum = try db.query("SELECT CAST(0.1 AS DECIMAL(5,3)) + 0.2 AS s").first?["s"]
                #expect(sum == .string("0.300"))
            }
        }

        @Test("binary data with NUL bytes and long values round-trip")
        func bytesAndLongValues() throws {
            try TestDatabase.withDatabase("blob") { db, _ in
                try db.execute("""
                    CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB, vb VARBINARY(16),
                                    txt LONGTEXT)
                    """)
                let allBytes = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
                let withNul: [UInt8] = [0, 1, 0, 255, 0]
                let textWithNul = "before\u{0}after 😀"
                try db.execute("INSERT INTO t (b, vb, txt) VALUES (?, ?, ?)",
                               [.bytes(allBytes), .bytes(withNul), .string(textWithNul)])
                // Long values: 3 MB of bytes and 100,000 four-byte characters.
                let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                let longText = String(repeating: "🙂", count: 100_000)
                try db.execute("INSERT INTO t (b, vb, txt) VALUES (?, ?, ?)",
                               [.bytes(big), .bytes([]), .string(longText)])

                let rows = try db.query("SELECT b, vb, txt FROM t ORDER BY id").rows
                #expect(rows.count == 2)
                #expect(rows[0]["b"] == .bytes(allBytes))
                #expect(rows[0]["vb"] == .bytes(withNul))
                #expect(rows[0]["txt"] == .string(textWithNul))
                #expect(rows[1]["b"] == .bytes(big))
                #expect(rows[1]["vb"] == .bytes([]))
                #expect(rows[1]["txt"] == .string(longText))
                // The server agrees about the lengths (nothing truncated on the way in).
                let lengths = try db.query("SELECT LENGTH(b) AS lb, LENGTH(vb) AS lv FROM t ORDER BY id").rows
                #expect(lengths.map { $0["lb"] } == [.int(1024), .int(3_000_000)])
                #expect(lengths.map { $0["lv"] } == [.int(5), .int(0)])
            }
        }

        @Test("values above the 16 MB read buffer limit are read in one piece")
        func veryLongValues() throws {
            try TestDatabase.withDatabase("huge") { db, _ in
                // Longer than the per-column buffer cap, so the reader fetches them on their own.
                let size = (1 << 24) + 1_000
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB)")
                var big = [UInt8](repeating: 0x5A, count: size)
                big[0] = 0
                big[size / 2] = 0
                big[size - 1] = 0xFF
                try db.execute("INSERT INTO t VALUES (?, ?), (?, ?)", [1, .bytes(big), 2, .bytes([0, 1])])
                let rows = try db.query("SELECT b FROM t ORDER BY id").rows
                #expect(rows.count == 2)
                #expect(rows.first?["b"] == .bytes(big))
                #expect(rows.last?["b"] == .bytes([0, 1]))
                let text = try db.query("SELECT REPEAT('é', ?) AS s, 'short' AS t", [.int(Int64(size / 2))])
                #expect(text.first?["s"] == .string(String(repeating: "é", count: size / 2)))
                #expect(text.first?["t"] == "short")
            }
        }

        @Test("dates, times, enums and JSON read back as MySQL prints them")
        func textLikeColumns() throws {
            try TestDatabase.withDatabase("time") { db, _ in
                try db.execute("""
                    CREATE TABLE t (d DATE, dt DATETIME, dt3 DATETIME(3), tm TIME, tm1 TIME(1),
                                    ts TIMESTAMP NULL, e ENUM('free','paid'), st SET('a','b'),
                                    j JSON, c CHAR(3))
                    """)
                try db.execute(
                    "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ["2024-02-29", "2024-05-01 13:45:07", "2024-05-01 13:45:07.123", "-838:59:59",
                     "100:00:00.5", "2030-01-02 03:04:05", "paid", "a,b", #"{"k": [1, "ü"]}"#, "ab"])
                let row = try #require(try db.query("SELECT * FROM t").first)
                #expect(row.values == [
                    "2024-02-29", "2024-05-01 13:45:07", "2024-05-01 13:45:07.123", "-838:59:59",
                    "100:00:00.5", "2030-01-02 03:04:05", "paid", "a,b", #"{"k": [1, "ü"]}"#, "ab",
                ])
                let zero = try db.query("SELECT TIME('00:00:00') AS z, DATE('2000-01-01') AS d").first
                #expect(zero?.values == ["00:00:00", "2000-01-01"])
            }
        }

        @Test("a prepared statement runs many times with values of growing size")
        func preparedStatementReuse() throws {
            try TestDatabase.withDatabase("reuse") { db, _ in
                try db.execute("CREATE TABLE t (id INT PRIMARY KEY, s MEDIUMTEXT, n DOUBLE)")
                let insert = try db.prepare("INSERT INTO t (id, s, n) VALUES (?, ?, ?)")
                #expect(insert.parameterCount == 3)
                for id in 0..<200 {
                    let text = String(repeating: "x", count: id * 97)
                    try insert.execute([.int(Int64(id)), .string(text), id.isMultiple(of: 2) ? .null : .double(Double(id))])
                }
                let select = try db.prepare("SELECT s, n FROM t WHERE id = ?")
                for id in [0, 1, 150, 199] {
                    let row = try #require(try select.query([.int(Int64(id))]).first)
                    #expect(row["s"] == .string(String(repeating: "x", count: id * 97)))
                    #expect(row["n"] == (id.isMultiple(of: 2) ? .null : .double(Double(id))))
                }
            }
        }
    }
}
