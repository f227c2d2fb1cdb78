// Connection: one session with a MySQL/MariaDB server (owns the MYSQL* handle).
import CMariaDB
import MariaDBLoader

/// `mysql_library_init` must run once before any handle is created, and it is not
/// thread-safe; Swift runs a global's initializer exactly once, atomically, on first use.
/// (`mysql_library_init` is a macro for `mysql_server_init` in Connector/C.)
private let libraryInitStatus: Int32 = mysql_server_init(0, nil, nil)

/// A connection to a MySQL or MariaDB server.
///
/// Statements go through `execute`/`query` with `?` placeholders and bound values;
/// each distinct SQL text is prepared once and kept in a small per-connection cache.
/// The connection (like the C handle under it) is for one thread at a time, so it is
/// deliberately not `Sendable`. It closes itself when released.
public final class Connection {
    /// How this connection was opened (its description masks the password).
    public let options: ConnectionOptions
    private var mysql: UnsafeMutablePointer<MYSQL>?
    private var cache: StatementCache
    private var inTransaction = false
    /// How many statements this connection has prepared (cache misses plus `prepare`);
    /// lets tests observe that the cache reuses statements.
    private(set) var preparedStatementCount = 0

    /// Opens a connection: utf8mb4, automatic reconnect off, LOAD DATA LOCAL off.
    /// `statementCacheCapacity` bounds the number of cached prepared statements.
    public init(_ options: ConnectionOptions, statementCacheCapacity: Int = 64) throws {
        guard libraryInitStatus == 0 else {
            // The library is loaded here, on the first connection (Sources/MariaDBLoader).
            let why = rb_mariadb_load_error().map { "cannot load the MariaDB client library: " + String(cString: $0) }
            throw DBError(
                kind: .client, code: 2000, sqlState: "HY000",
                message: why ?? "the MySQL client library failed to initialise", sql: nil)
        }
        try Self.validate(options)
        guard let mysql = mysql_init(nil) else {
            throw DBError(kind: .client, code: 2008, sqlState: "HY000", message: "out of memory", sql: nil)
        }
        // From here on, every failure must still free the handle (mysql_init allocated
        // it even though the connection never opened).
        do {
            try Self.configure(mysql, options)
            try Self.connect(mysql, options)
        } catch {
            mysql_close(mysql)
            throw error
        }
        self.options = options
        self.mysql = mysql
        cache = StatementCache(capacity: statementCacheCapacity)
    }

    deinit { close() }

    /// False after `close()`.
    public var isOpen: Bool { mysql != nil }

    /// Frees the cached statements and the connection. Idempotent. Statements the caller
    /// still holds throw `.connectionClosed` from then on.
    public func close() {
        guard let mysql else { return }
        // Cached statements are closed while the handle is still valid.
        cache.removeAll()
        mysql_close(mysql)
        self.mysql = nil
    }

    /// The server's version string, e.g. "10.11.6-MariaDB-0+deb12u1"; empty once closed.
    public var serverVersion: String {
        guard let mysql, let version = mysql_get_server_info(mysql) else { return "" }
        return String(cString: version)
    }

    /// Number of prepared statements currently held by the statement cache.
    public var cachedStatementCount: Int { cache.count }

    // MARK: Statements

    /// Prepares `sql` for repeated use. The statement is not cached; it is freed when
    /// the returned object is released.
    public func prepare(_ sql: String) throws -> Statement {
        let mysql = try requireOpen(sql: sql)
        let handle = try StatementHandle(mysql: mysql, sql: sql)
        preparedStatementCount += 1
        return Statement(connection: self, handle: handle)
    }

    /// Runs a data-changing statement with `params` bound to its `?` placeholders.
    @discardableResult
    public func execute(_ sql: String, _ params: [SQLValue] = []) throws -> ExecResult {
        try withCachedStatement(sql) { try $0.execute(params) }
    }

    /// Runs a statement that returns rows, with `params` bound, and reads all rows.
    public func query(_ sql: String, _ params: [SQLValue] = []) throws -> ResultSet {
        try withCachedStatement(sql) { try $0.query(params) }
    }

    /// Runs `body` with the cached prepared statement for `sql`, preparing it on a miss.
    /// A statement that fails with a connection-level error is dropped from the cache,
    /// so a broken handle is never reused.
    private func withCachedStatement<T>(
        _ sql: String, _ body: (StatementHandle) throws -> T
    ) throws -> T {
        let mysql = try requireOpen(sql: sql)
        let handle: StatementHandle
        if let cached = cache.statement(for: sql) {
            handle = cached
        } else {
            handle = try StatementHandle(mysql: mysql, sql: sql)
            preparedStatementCount += 1
            cache.insert(handle)
        }
        do {
            return try body(handle)
        } catch let error as DBError where error.isConnectionLevel {
            cache.remove(sql)
            throw error
        }
    }

    /// Runs `sql` through the text protocol, for statements the server cannot prepare
    /// (some administrative commands). No parameters: never build this text from
    /// untrusted input. Any rows it returns are read and discarded; the result
    /// describes the first (or only) statement result.
    @discardableResult
    public func executeText(_ sql: String) throws -> ExecResult {
        let mysql = try requireOpen(sql: sql)
        let failed = sql.withCString { mysql_real_query(mysql, $0, UInt(sql.utf8.count)) } != 0
        if failed { throw DBError(connection: mysql, sql: sql) }

        var result: ExecResult?
        while true {
            if let rows = mysql_store_result(mysql) {
                mysql_free_result(rows)
            } else if mysql_field_count(mysql) != 0 {
                // Rows were expected but could not be read.
                throw DBError(connection: mysql, sql: sql)
            }
            if result == nil {
                result = ExecResult(
                    affectedRows: mysql_affected_rows(mysql),
                    lastInsertID: mysql_insert_id(mysql),
                    warnings: mysql_warning_count(mysql)
                )
            }
            let next = mysql_next_result(mysql)  // 0: another result, -1: done, >0: error
            if next > 0 { throw DBError(connection: mysql, sql: sql) }
            if next < 0 { break }
        }
        return result ?? ExecResult(affectedRows: 0, lastInsertID: 0, warnings: 0)
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: commits when it returns, rolls back and rethrows
    /// its error when it throws. Nesting is refused (`.nestedTransaction`), because
    /// MySQL would commit the outer transaction at the inner START TRANSACTION.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        guard !inTransaction else {
            throw DBError(.nestedTransaction, "transaction() cannot be nested", sql: nil)
        }
        try executeText("START TRANSACTION")
        inTransaction = true
        defer { inTransaction = false }

        let value: T
        do {
            value = try body()
        } catch {
            // The body's error is the one that matters; a failing ROLLBACK (connection
            // gone) leaves the server to roll back when the session ends.
            _ = try? executeText("ROLLBACK")
            throw error
        }
        do {
            try executeText("COMMIT")
        } catch {
            _ = try? executeText("ROLLBACK")
            throw error
        }
        return value
    }

    // MARK: Utilities

    /// Checks the connection is alive (with reconnect off, a lost connection stays lost).
    public func ping() throws {
        let mysql = try requireOpen(sql: nil)
        if mysql_ping(mysql) != 0 { throw DBError(connection: mysql, sql: nil) }
    }

    /// Quotes an identifier (database, table, column name) for SQL text: wraps it in
    /// backticks and doubles any backtick inside. For names that cannot be bound as
    /// parameters, e.g. `CREATE DATABASE \(escapeIdentifier(name))`.
    public func escapeIdentifier(_ name: String) -> String {
        Self.quoteIdentifier(name)
    }

    /// `escapeIdentifier` without a connection.
    /// Goes by Unicode scalar, not by Character: a backtick followed by a combining mark
    /// is one Character that is not "`", and left single it would end the name early.
    public static func quoteIdentifier(_ name: String) -> String {
        var quoted = String.UnicodeScalarView()
        quoted.append("`")
        for scalar in name.unicodeScalars {
            if scalar == "`" { quoted.append("`") }
            quoted.append(scalar)
        }
        quoted.append("`")
        return String(quoted)
    }

    /// The open handle, or a `.connectionClosed` error naming `sql`.
    @discardableResult
    func requireOpen(sql: String?) throws -> UnsafeMutablePointer<MYSQL> {
        guard let mysql else { throw DBError.connectionClosed(sql: sql) }
        return mysql
    }

    // MARK: Opening

    /// Strings with NUL bytes would be silently cut by the C API; refuse them instead.
    private static func validate(_ options: ConnectionOptions) throws {
        var strings: [(String, String)] = [("user", options.user), ("password", options.password.value)]
        if let database = options.database { strings.append(("database", database)) }
        switch options.endpoint {
        case .socket(let path): strings.append(("socket path", path))
        case .tcp(let host, _): strings.append(("host", host))
        }
        for (name, value) in strings where value.utf8.contains(0) {
            throw DBError(.invalidOption, "the \(name) contains a NUL byte", sql: nil)
        }
    }

    private static func configure(_ mysql: UnsafeMutablePointer<MYSQL>, _ options: ConnectionOptions) throws {
        try setOption(mysql, MYSQL_OPT_CONNECT_TIMEOUT, options.connectTimeout, "connect timeout")
        try setOption(mysql, MYSQL_OPT_READ_TIMEOUT, options.readTimeout, "read timeout")
        try setOption(mysql, MYSQL_OPT_WRITE_TIMEOUT, options.writeTimeout, "write timeout")
        // A silent reconnect would drop the session's transaction, locks and variables.
        try setOption(mysql, MYSQL_OPT_RECONNECT, my_bool(0), "reconnect")
        // LOAD DATA LOCAL lets a server read client files; we never need it.
        try setOption(mysql, MYSQL_OPT_LOCAL_INFILE, UInt32(0), "local infile")
        // Without an explicit protocol, host "localhost" would silently mean the socket.
        switch options.endpoint {
        case .socket:
            try setOption(mysql, MYSQL_OPT_PROTOCOL, MYSQL_PROTOCOL_SOCKET.rawValue, "protocol")
        case .tcp:
            try setOption(mysql, MYSQL_OPT_PROTOCOL, MYSQL_PROTOCOL_TCP.rawValue, "protocol")
        }
        let charsetFailed = "utf8mb4".withCString { mysql_options(mysql, MYSQL_SET_CHARSET_NAME, $0) } != 0
        if charsetFailed {
            throw DBError(.invalidOption, "cannot set the utf8mb4 character set", sql: nil)
        }
    }

    /// `mysql_options` with a pointer to a copy of `value` (the library copies it).
    private static func setOption<Value>(
        _ mysql: UnsafeMutablePointer<MYSQL>, _ option: mysql_option, _ value: Value, _ name: String
    ) throws {
        var value = value
        if withUnsafePointer(to: &value, { mysql_options(mysql, option, $0) }) != 0 {
            throw DBError(.invalidOption, "cannot set the \(name) option", sql: nil)
        }
    }

    private static func connect(_ mysql: UnsafeMutablePointer<MYSQL>, _ options: ConnectionOptions) throws {
        let host: String
        let port: UInt32
        let socket: String?
        switch options.endpoint {
        case .socket(let path):
            (host, port, socket) = ("localhost", 0, path)
        case .tcp(let name, let number):
            (host, port, socket) = (name, UInt32(number), nil)
        }
        let connected = host.withCString { hostC in
            options.user.withCString { userC in
                options.password.value.withCString { passwordC in
                    withOptionalCString(options.database) { databaseC in
                        withOptionalCString(socket) { socketC in
                            mysql_real_connect(mysql, hostC, userC, passwordC, databaseC, port, socketC, 0)
                        }
                    }
                }
            }
        }
        if connected == nil { throw DBError(connection: mysql, sql: nil) }
    }
}

/// Calls `body` with a C string for `text`, or with nil when `text` is nil.
private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
