// StatementHandle: owns one server-side prepared statement (MYSQL_STMT*) and runs it.
import CMariaDB

/// The internal half of a prepared statement: the `MYSQL_STMT*`, its parameter
/// buffers, and execute/query. It does not keep the connection alive — whoever holds it
/// must: the connection's statement cache (owned by the connection, closed before the
/// connection closes) or a public `Statement` (which holds its `Connection` strongly).
/// That split is what keeps the cache free of a connection <-> statement retain cycle.
///
/// Callers check that the connection is open before every call; after
/// `mysql_close`, libmariadb has detached the statement, and only `mysql_stmt_close`
/// (from `close`/deinit) may still touch it, which then just frees memory.
final class StatementHandle {
    let sql: String
    let parameterCount: Int
    /// nil after `close()`, or after a failed re-prepare (then the next run retries).
    private var stmt: UnsafeMutablePointer<MYSQL_STMT>?
    private var closedByOwner = false
    private let mysql: UnsafeMutablePointer<MYSQL>
    private let parameters: ParameterBinding
    /// Logical time of last use, for the cache's least-recently-used eviction.
    var lastUsed: UInt64 = 0

    /// libmariadb's CR_NEW_STMT_METADATA: the statement ran, but its result now has a
    /// different number of columns than when it was prepared (the table was altered).
    static let newMetadataError: UInt32 = 2057

    init(mysql: UnsafeMutablePointer<MYSQL>, sql: String) throws {
        let stmt = try Self.prepare(sql, on: mysql)
        self.sql = sql
        self.stmt = stmt
        self.mysql = mysql
        parameterCount = Int(mysql_stmt_param_count(stmt))
        parameters = ParameterBinding(count: parameterCount)
    }

    deinit { close() }

    /// Frees the statement on the server and in the library. Idempotent; later runs
    /// throw `.statementClosed`.
    func close() {
        closedByOwner = true
        release()
    }

    private func release() {
        if let stmt {
            mysql_stmt_close(stmt)
            self.stmt = nil
        }
    }

    private static func prepare(
        _ sql: String, on mysql: UnsafeMutablePointer<MYSQL>
    ) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        guard let stmt = mysql_stmt_init(mysql) else {
            throw DBError(connection: mysql, sql: sql)
        }
        // The explicit length sends every byte, so an embedded NUL cannot cut the text.
        let failed = sql.withCString { mysql_stmt_prepare(stmt, $0, UInt(sql.utf8.count)) } != 0
        if failed {
            let error = DBError(statement: stmt, sql: sql)
            mysql_stmt_close(stmt)
            throw error
        }
        // Make store_result compute each column's longest value, so results are read
        // into buffers of the right size at the first attempt.
        var updateMaxLength: my_bool = 1
        mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &updateMaxLength)
        return stmt
    }

    /// Runs a statement that changes data. Any rows it returns are read and discarded.
    func execute(_ values: [SQLValue]) throws -> ExecResult {
        let stmt = try run(values)
        if mysql_stmt_field_count(stmt) > 0 {
            // A SELECT through execute: buffer and drop the rows so the connection is
            // ready for the next command; affected rows is then the row count.
            if mysql_stmt_store_result(stmt) != 0 { throw DBError(statement: stmt, sql: sql) }
            mysql_stmt_free_result(stmt)
        }
        let result = ExecResult(
            affectedRows: mysql_stmt_affected_rows(stmt),
            lastInsertID: mysql_stmt_insert_id(stmt),
            warnings: mysql_warning_count(mysql)
        )
        try discardMoreResults(stmt)
        return result
    }

    /// Runs a statement that returns rows and reads them all.
    func query(_ values: [SQLValue]) throws -> ResultSet {
        let stmt = try run(values)
        let result = try ResultReader.read(stmt, sql: sql)
        try discardMoreResults(stmt)
        return result
    }

    /// Binds `values` and executes; returns the statement pointer for reading results.
    ///
    /// When the table behind the statement changed shape since it was prepared,
    /// libmariadb refuses the new result (CR_NEW_STMT_METADATA). The handle is then
    /// prepared afresh so it keeps working; a read-only statement is also run again at
    /// once (running it twice is harmless), anything else reports the error (it may
    /// have changed data already, so it must not run twice).
    private func run(_ values: [SQLValue]) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        guard values.count == parameterCount else {
            throw DBError(
                .parameterCount(expected: parameterCount, given: values.count),
                "the statement has \(parameterCount) parameter(s) but \(values.count) value(s) were given",
                sql: sql)
        }
        var retried = false
        while true {
            let stmt = try preparedStatement()
            if parameterCount > 0, mysql_stmt_bind_param(stmt, parameters.bind(values)) != 0 {
                throw DBError(statement: stmt, sql: sql)
            }
            if mysql_stmt_execute(stmt) == 0 { return stmt }

            let error = DBError(statement: stmt, sql: sql)
            guard error.code == Self.newMetadataError else { throw error }
            // Closing also discards the result the library would not read.
            release()
            guard !retried, SQLKind.isReadOnly(sql) else { throw error }
            retried = true
        }
    }

    /// The prepared statement, preparing it again after a metadata change.
    private func preparedStatement() throws -> UnsafeMutablePointer<MYSQL_STMT> {
        if let stmt { return stmt }
        guard !closedByOwner else {
            throw DBError(.statementClosed, "the statement is closed", sql: sql)
        }
        let fresh = try Self.prepare(sql, on: mysql)
        stmt = fresh
        return fresh
    }

    /// A CALL returns one result per SELECT in the procedure plus a final status; all
    /// of them must be consumed before the connection accepts another command.
    private func discardMoreResults(_ stmt: UnsafeMutablePointer<MYSQL_STMT>) throws {
        while mysql_stmt_more_results(stmt) != 0 {
            let status = mysql_stmt_next_result(stmt)
            if status > 0 { throw DBError(statement: stmt, sql: sql) }
            if status < 0 { break }
            if mysql_stmt_field_count(stmt) > 0 {
                if mysql_stmt_store_result(stmt) != 0 { throw DBError(statement: stmt, sql: sql) }
                mysql_stmt_free_result(stmt)
            }
        }
    }
}
