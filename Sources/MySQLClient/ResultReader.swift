// ResultReader: reads the rows of an executed prepared statement into a ResultSet.
import CMariaDB

/// How a result column is fetched and turned into a `SQLValue`.
enum ColumnKind {
    case signed            // integer types -> .int
    case unsigned          // UNSIGNED integer types -> .int, or .uint above Int64.max
    case float             // FLOAT, fetched as 4 bytes (see `decodeFloat`)
    case double            // DOUBLE -> .double
    case bit               // BIT(n), sent as big-endian bytes -> .int/.uint
    case text              // character data, DECIMAL, JSON -> .string
    case binary            // binary charset (63): BINARY, VARBINARY, BLOB -> .bytes
    case temporal          // DATE, TIME, DATETIME, TIMESTAMP -> .string, as MySQL prints it

    /// The binary character set number: columns in it hold bytes, not text.
    static let binaryCharset: UInt32 = 63

    init(_ field: MYSQL_FIELD) {
        switch field.type {
        case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_INT24, MYSQL_TYPE_LONG,
            MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
            self = field.flags & UInt32(UNSIGNED_FLAG) != 0 ? .unsigned : .signed
        case MYSQL_TYPE_FLOAT:
            self = .float
        case MYSQL_TYPE_DOUBLE:
            self = .double
        case MYSQL_TYPE_BIT:
            self = .bit
        case MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_JSON, MYSQL_TYPE_NULL:
            // DECIMAL stays text to keep its precision; MySQL 8 reports JSON with the
            // binary charset, but it is text.
            self = .text
        case MYSQL_TYPE_DATE, MYSQL_TYPE_TIME, MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP:
            self = .temporal
        default:
            self = field.charsetnr == Self.binaryCharset ? .binary : .text
        }
    }

    /// True for kinds fetched as variable-length bytes (which can be truncated).
    var isVariableLength: Bool {
        switch self {
        case .bit, .text, .binary: return true
        default: return false
        }
    }
}

/// Reads a whole result of an executed statement. Rows are first buffered by
/// `mysql_stmt_store_result`, which (with STMT_ATTR_UPDATE_MAX_LENGTH set at prepare
/// time) also tells us the longest value of each column; every column then gets a
/// buffer big enough for all its values, and all buffers come from one allocation per
/// result. A value that does not fit anyway is re-read with `mysql_stmt_fetch_column`.
enum ResultReader {
    static func read(_ stmt: UnsafeMutablePointer<MYSQL_STMT>, sql: String) throws -> ResultSet {
        let columnCount = Int(mysql_stmt_field_count(stmt))
        guard columnCount > 0 else { return .empty }

        if mysql_stmt_store_result(stmt) != 0 {
            throw DBError(statement: stmt, sql: sql)
        }
        defer { mysql_stmt_free_result(stmt) }

        guard let metadata = mysql_stmt_result_metadata(stmt) else {
            throw DBError(statement: stmt, sql: sql)
        }
        defer { mysql_free_result(metadata) }
        guard let fields = mysql_fetch_fields(metadata) else {
            throw DBError(statement: stmt, sql: sql)
        }

        var names: [String] = []
        names.reserveCapacity(columnCount)
        var columns: [ResultColumn] = []
        columns.reserveCapacity(columnCount)
        for index in 0..<columnCount {
            let field = fields[index]
            names.append(Self.name(of: field))
            columns.append(ResultColumn(field: field))
        }

        let buffers = ResultBuffers(columns: columns)
        defer { buffers.deallocate() }
        if mysql_stmt_bind_result(stmt, buffers.binds) != 0 {
            throw DBError(statement: stmt, sql: sql)
        }

        let layout = ColumnLayout(names: names)
        var rows: [Row] = []
        rows.reserveCapacity(Int(clamping: mysql_stmt_num_rows(stmt)))
        while true {
            let status = mysql_stmt_fetch(stmt)
            if status == MYSQL_NO_DATA { break }
            if status != 0 && status != MYSQL_DATA_TRUNCATED {
                throw DBError(statement: stmt, sql: sql)
            }
            var values: [SQLValue] = []
            values.reserveCapacity(columnCount)
            for index in 0..<columnCount {
                values.append(try buffers.value(at: index, of: columns[index], stmt: stmt, sql: sql))
            }
            rows.append(Row(layout: layout, values: values))
        }
        return ResultSet(layout: layout, rows: rows)
    }

    private static func name(of field: MYSQL_FIELD) -> String {
        guard let name = field.name else { return "" }
        let raw = UnsafeRawBufferPointer(start: name, count: Int(field.name_length))
        return String(decoding: raw, as: UTF8.self)
    }
}

/// What the reader needs to know about one column.
struct ResultColumn {
    let kind: ColumnKind
    let type: enum_field_types
    /// Fractional-second digits of a temporal column.
    let decimals: UInt32
    /// Bytes reserved for the column's value in the row buffer.
    let slotSize: Int

    init(field: MYSQL_FIELD) {
        kind = ColumnKind(field)
        type = field.type
        decimals = field.decimals
        switch kind {
        case .signed, .unsigned, .float, .double:
            slotSize = 8
        case .temporal:
            slotSize = MemoryLayout<MYSQL_TIME>.stride
        case .bit, .text, .binary:
            // max_length is filled in by store_result; +1 leaves room for the NUL the
            // library appends to strings. Capped so a bogus length cannot exhaust memory:
            // longer values are re-read one by one.
            slotSize = min(Int(clamping: field.max_length), 1 << 24) + 1
        }
    }
}
