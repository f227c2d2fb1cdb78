// DBError: the one error type of the MySQL client, from the server, libmariadb, or us.
import CMariaDB

/// An error from the database: the server's or the client library's error number,
/// SQLSTATE and message, plus the start of the SQL text it happened in.
///
/// `sql` holds only the first characters of the statement text, on one line. Bound
/// parameter values are never part of it, so passwords and other secrets bound with `?`
/// never reach a log through this error. (The server's own `message` can quote a value,
/// e.g. "Duplicate entry 'x' for key ...", which is its business, not ours.)
public struct DBError: Error, CustomStringConvertible, Sendable {
    /// Where the error came from. Server and client errors carry MySQL's error number in
    /// `code`; the other kinds are detected by this library and have `code` 0.
    public enum Kind: Hashable, Sendable {
        /// The server refused the statement (e.g. 1146, no such table).
        case server
        /// libmariadb failed: cannot connect (2002), server gone (2006, 2013), ...
        case client
        /// The statement has a different number of `?` placeholders than values given.
        case parameterCount(expected: Int, given: Int)
        /// The connection was closed with `close()`.
        case connectionClosed
        /// The statement was closed with `Statement.close()`.
        case statementClosed
        /// `transaction { }` inside `transaction { }`: MySQL would silently commit the
        /// outer transaction at the inner START TRANSACTION, so we refuse.
        case nestedTransaction
        /// A connection option cannot be passed to the C library (e.g. contains NUL).
        case invalidOption
    }

    public let kind: Kind
    /// MySQL/MariaDB error number; 0 for errors detected by this library.
    public let code: UInt32
    /// Five-character SQLSTATE, e.g. "42S02"; "HY000" when there is none.
    public let sqlState: String
    public let message: String
    /// The start of the SQL text (see `SQLSnippet`), or nil when no statement was involved.
    public let sql: String?

    public init(kind: Kind, code: UInt32, sqlState: String, message: String, sql: String?) {
        self.kind = kind
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.sql = sql.map(SQLSnippet.make)
    }

    public var description: String {
        var text: String
        switch kind {
        case .server, .client:
            text = "MySQL error \(code) (\(sqlState)): \(message)"
        default:
            text = "MySQL client error: \(message)"
        }
        if let sql { text += " [in: \(sql)]" }
        return text
    }

    /// True when the error means the connection (or the statement's server-side
    /// handle) may no longer be usable: every client-library error except a metadata
    /// change, plus the server errors for a killed session or a lost statement. The
    /// connection drops a cached statement that fails this way.
    public var isConnectionLevel: Bool {
        switch kind {
        case .connectionClosed, .statementClosed:
            return true
        case .client:
            // 2057 (the result's columns changed since prepare) is recovered by
            // re-preparing the statement; the connection is fine.
            return code != StatementHandle.newMetadataError
        case .server:
            // 1053 server shutdown, 1243 unknown statement handler, 1615 statement
            // needs re-prepare, 1927 connection killed.
            return [1053, 1243, 1615, 1927].contains(code)
        default:
            return false
        }
    }
}

extension DBError {
    /// Kind for a number reported by libmariadb: 2000-2999 and 5000-5999 are the client
    /// library's own errors, everything else comes from the server.
    static func kind(forCode code: UInt32) -> Kind {
        (2000...2999).contains(code) || (5000...5999).contains(code) ? .client : .server
    }

    /// The last error on a connection handle.
    init(connection mysql: UnsafeMutablePointer<MYSQL>, sql: String?) {
        self.init(code: mysql_errno(mysql), sqlState: mysql_sqlstate(mysql), message: mysql_error(mysql), sql: sql)
    }

    /// The last error on a statement handle.
    init(statement stmt: UnsafeMutablePointer<MYSQL_STMT>, sql: String?) {
        self.init(code: mysql_stmt_errno(stmt), sqlState: mysql_stmt_sqlstate(stmt), message: mysql_stmt_error(stmt), sql: sql)
    }

    /// An error libmariadb reported: its number and C strings (empty ones read as HY000 and
    /// "unknown error").
    private init(code: UInt32, sqlState: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?, sql: String?) {
        self.init(kind: Self.kind(forCode: code), code: code, sqlState: Self.text(sqlState, fallback: "HY000"),
                  message: Self.text(message, fallback: "unknown error"), sql: sql)
    }

    /// An error detected by this library (code 0).
    init(_ kind: Kind, _ message: String, sql: String?) {
        self.init(kind: kind, code: 0, sqlState: "HY000", message: message, sql: sql)
    }

    static func connectionClosed(sql: String?) -> DBError {
        DBError(.connectionClosed, "the connection is closed", sql: sql)
    }

    private static func text(_ pointer: UnsafePointer<CChar>?, fallback: String) -> String {
        guard let pointer, pointer.pointee != 0 else { return fallback }
        return String(cString: pointer)
    }
}

/// Shortens SQL text for error messages: whitespace runs (newlines included) become one
/// space and only the first `limit` characters are kept, with "..." when cut.
enum SQLSnippet {
    static let limit = 120

    static func make(_ sql: String) -> String {
        var result = ""
        var count = 0
        var pendingSpace = false
        for character in sql {
            if character.isWhitespace {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace {
                if count == limit { return result + "..." }
                result.append(" ")
                count += 1
                pendingSpace = false
            }
            if count == limit { return result + "..." }
            result.append(character)
            count += 1
        }
        return result
    }
}
