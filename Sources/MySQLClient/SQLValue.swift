// SQLValue: one value going to or coming from MySQL (a bound parameter or a result cell).

/// A value bound to a `?` placeholder or read from a result column.
///
/// Results map column types as follows: integer columns give `.int` (an unsigned BIGINT
/// above `Int64.max` gives `.uint`), FLOAT/DOUBLE give `.double`, DECIMAL gives `.string`
/// (exact), binary strings and blobs give `.bytes`, every other text-like or temporal
/// column gives `.string`, and SQL NULL gives `.null`.
public enum SQLValue: Hashable, Sendable {
    case null
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])

    /// True for SQL NULL.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as a signed integer when it is one (or an unsigned one that fits).
    public var int64: Int64? {
        switch self {
        case .int(let value): return value
        case .uint(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    /// The value as text when it is a string (bytes are not guessed at).
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as a double when it is numeric.
    public var double: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        case .uint(let value): return Double(value)
        default: return nil
        }
    }

    /// The raw bytes of a binary value, or the UTF-8 bytes of a string.
    public var bytes: [UInt8]? {
        switch self {
        case .bytes(let value): return value
        case .string(let value): return Array(value.utf8)
        default: return nil
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension SQLValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension SQLValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}
