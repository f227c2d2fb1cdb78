// Test support: connects to the private test server and gives each test its own database.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import MySQLClient
import Testing

/// Every suite of this target is nested in this one, which runs its tests one at a
/// time: they share one server, and the leak check in `ConnectionTests` measures the
/// process's memory, which tests running alongside would disturb.
@Suite("MySQLClient", .serialized)
struct DatabaseSuite {}

/// Thrown (so the test fails with this message) when the suite runs without a server.
struct MissingTestServer: Error, CustomStringConvertible {
    var description: String {
        "RUNBOOK_TEST_MYSQL_SOCKET is not set: run the tests through scripts/test-db run "
            + "swift test --filter MySQLClientTests"
    }
}

/// An error a test body throws on purpose.
struct PlannedFailure: Error, Equatable {}

enum TestDatabase {
    /// The socket of the server started by scripts/test-db. Never skips: a missing
    /// variable fails the calling test.
    static func socketPath() throws -> String {
        guard let value = getenv("RUNBOOK_TEST_MYSQL_SOCKET"), value.pointee != 0 else {
            throw MissingTestServer()
        }
        return String(cString: value)
    }

    /// Options for root over the test socket (socket authentication, no password).
    static func options(database: String? = nil) throws -> ConnectionOptions {
        ConnectionOptions(socket: try socketPath(), user: "root", database: database)
    }

    /// A new connection to the test server, without a default database.
    static func connect(statementCacheCapacity: Int = 64) throws -> Connection {
        try Connection(try options(), statementCacheCapacity: statementCacheCapacity)
    }

    /// Creates a uniquely named utf8mb4 database, runs `body` with a connection whose
    /// default database it is, and drops it afterwards (also when `body` throws).
    static func withDatabase<T>(
        _ label: String = "t",
        statementCacheCapacity: Int = 64,
        _ body: (Connection, String) throws -> T
    ) throws -> T {
        let name = "rbtest_\(label)_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let admin = try connect()
        try admin.executeText(
            "CREATE DATABASE \(admin.escapeIdentifier(name)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        defer { _ = try? admin.executeText("DROP DATABASE IF EXISTS \(admin.escapeIdentifier(name))") }
        let connection = try Connection(
            try options(database: name), statementCacheCapacity: statementCacheCapacity)
        defer { connection.close() }
        return try body(connection, name)
    }

    /// Resident set size of this process in bytes (Linux /proc), or nil elsewhere.
    static func residentBytes() -> Int? {
        guard let file = fopen("/proc/self/statm", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        // "size resident shared ..." in pages.
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
