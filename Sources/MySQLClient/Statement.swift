// Statement: a prepared statement the caller holds and runs many times with new values.

/// A prepared statement from `Connection.prepare`. It keeps its connection alive, so
/// the `MYSQL*` it belongs to cannot be freed under it; it is closed on the server when
/// it is released (or by `close()`). Like its connection, it is for one thread at a time.
public final class Statement {
    /// The connection this statement runs on (held strongly on purpose).
    public let connection: Connection
    let handle: StatementHandle

    init(connection: Connection, handle: StatementHandle) {
        self.connection = connection
        self.handle = handle
    }

    /// Frees the server-side statement before the connection reference goes (which may
    /// be the last one and close the connection).
    deinit { handle.close() }

    /// The SQL text as prepared.
    public var sql: String { handle.sql }

    /// Number of `?` placeholders; every call must bind exactly this many values.
    public var parameterCount: Int { handle.parameterCount }

    /// Runs the statement with `params` bound to its placeholders, in order.
    @discardableResult
    public func execute(_ params: [SQLValue] = []) throws -> ExecResult {
        try connection.requireOpen(sql: handle.sql)
        return try handle.execute(params)
    }

    /// Runs the statement with `params` bound and returns all its rows.
    public func query(_ params: [SQLValue] = []) throws -> ResultSet {
        try connection.requireOpen(sql: handle.sql)
        return try handle.query(params)
    }

    /// Frees the statement on the server now instead of at release. Later calls throw
    /// `DBError` of kind `.statementClosed`.
    public func close() {
        // After the connection closed, libmariadb has already detached the statement;
        // closing it then only frees client memory, which is always safe.
        handle.close()
    }
}
