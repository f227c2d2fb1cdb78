// Named database connections from the config, opened on first use: the engine starts, and
// runbooks that need no database run, while the database is down.

import MySQLClient
import RunbookConfig
import RunbookSupport

public final class DatabaseConnections {
    private let configs: [String: DatabaseConfig]
    private var open: [String: Connection] = [:]
    private var primaryKeys: [String: [String]] = [:]

    public init(configs: [String: DatabaseConfig], redactor: Redactor) {
        self.configs = configs
        for config in configs.values { if let password = config.password { redactor.add(password) } }
    }

    public var names: [String] { configs.keys.sorted() }

    /// The server `name` reaches is this host's own (a socket, or `localhost` — which MySQL's
    /// client reaches through its default socket): nil when it names a server by address.
    package func localServer(_ name: String) -> String? {
        guard let config = configs[name] else { return nil }
        if let socket = config.socket { return "the socket " + socket }
        let host = config.host ?? "localhost"
        return ["localhost", "127.0.0.1", "::1"].contains(host) ? host : nil
    }

    public func connection(_ name: String) throws -> Connection {
        if let connection = open[name] { return connection }
        guard let config = configs[name] else {
            let known = configs.isEmpty ? "none are configured" : "configured: " + names.joined(separator: ", ")
            throw DatabaseFailure("unknown database connection '\(name)' (\(known))")
        }
        let endpoint: ConnectionOptions.Endpoint = config.socket.map { .socket($0) }
            ?? .tcp(host: config.host ?? "localhost", port: UInt16(clamping: config.port))
        let options = ConnectionOptions(
            endpoint: endpoint, user: config.user, password: DBPassword(config.password ?? ""), database: config.database,
            connectTimeout: UInt32(clamping: config.connectTimeout), readTimeout: UInt32(clamping: config.readTimeout),
            writeTimeout: UInt32(clamping: config.readTimeout))
        do {
            let connection = try Connection(options)
            open[name] = connection
            return connection
        } catch {
            throw DatabaseFailure("cannot connect to database '\(name)': \(error)")
        }
    }

    /// The primary-key columns of a table, in order (cached for the run).
    public func primaryKey(_ name: String, table: String) throws -> [String] {
        let key = name + "\u{0}" + table
        if let cached = primaryKeys[key] { return cached }
        let parts = table.split(separator: ".").map(String.init)
        let schemaClause = parts.count == 2 ? "TABLE_SCHEMA = ?" : "TABLE_SCHEMA = DATABASE()"
        var params: [SQLValue] = parts.count == 2 ? [.string(parts[0])] : []
        params.append(.string(parts.last ?? table))
        let rows = try connection(name).query(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE \(schemaClause) AND TABLE_NAME = ? "
                + "AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION", params)
        let columns = rows.rows.compactMap { $0[0].string }
        primaryKeys[key] = columns
        return columns
    }

    /// Drops a connection that failed, so the next use reconnects explicitly.
    public func discard(_ name: String) { open[name] = nil }
}

/// A database failure in the runbook's terms (which connection, which statement).
public struct DatabaseFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// SQL identifiers in statement text. Every name the engine puts into SQL goes through
/// `quote`: names can come from places the platform does not control (a store's database
/// user names its own tables), so a name is never trusted to be plain.
package enum SQLIdentifier {
    /// `name` or `schema.name` for the row helpers: letters, digits, `_` and `$` only, each
    /// part quoted.
    package static func validate(_ name: String, what: String) throws -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !name.isEmpty, parts.count <= 2, name.utf8.count <= 128, parts.allSatisfy({ part in
            !part.isEmpty && part.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 36 }
        }) else {
            throw DatabaseFailure("invalid \(what) name '\(name)' (letters, digits, _ and $ only)")
        }
        return try parts.map { try quote(String($0)) }.joined(separator: ".")
    }

    /// Any one name as a quoted identifier: in backticks, every backtick inside doubled
    /// (`na`me` -> `na``me`), so whatever it holds it stays one name. Refused: the empty
    /// name, and a NUL byte (MariaDB cuts a name there, so the server would see another name
    /// than the one given).
    package static func quote(_ name: String) throws -> String {
        guard !name.isEmpty else { throw DatabaseFailure("an empty name cannot be an SQL identifier") }
        guard !name.utf8.contains(0) else {
            throw DatabaseFailure("the name '\(name.replacingAll("\u{0}", with: "\\0"))' holds a NUL byte, which no SQL identifier may")
        }
        return Connection.quoteIdentifier(name)
    }
}

/// Conversions between SQL values and the engine's JSON (for the journal) and Lua values.
package enum SQLValueCoding {
    package static func json(_ value: SQLValue) -> JSON {
        switch value {
        case .null: return .null
        case .int(let i): return .int(i)
        case .uint(let u): return u <= UInt64(Int64.max) ? .int(Int64(u)) : .string(String(u))
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .bytes(let b): return .object([("hex", .string(b.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()))])
        }
    }

    package static func sql(_ json: JSON) -> SQLValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .object:
            guard let hex = json["hex"]?.stringValue else { return .null }
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
                bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
                index = next
            }
            return .bytes(bytes)
        case .array: return .null
        }
    }

    /// A short, readable rendering for plan lines: 'text', 42, NULL.
    package static func display(_ value: SQLValue, masking redactor: Redactor? = nil) -> String {
        switch value {
        case .null: return "NULL"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .double(let d): return String(d)
        case .string(let raw):
            // Secrets are masked before the value is cut: a cut secret escapes the redactor.
            let s = redactor?.mask(raw) ?? raw
            return "'" + (s.count > 40 ? String(s.prefix(37)) + "..." : s) + "'"
        case .bytes(let b): return "<\(b.count) bytes>"
        }
    }
}
