// The data that crosses the bridge: Lua values as Swift values, and back.

/// A Lua value as plain Swift data. Strings are bytes (Lua strings need not be UTF-8);
/// tables keep their array part (keys 1...n) apart from their other keys.
public enum LuaValue: Hashable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case table(LuaTable)
    case function(LuaRef)
    /// The null marker (`db.NULL`, `json.null`): Lua's NULL light userdata, the convention
    /// lua-cjson set. It stands for SQL NULL or JSON null where nil cannot: a table field
    /// that is there, an element of a list that keeps its place.
    case null

    /// The Lua type name, as `type()` would print it.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .function: return "function"
        case .null: return "userdata"
        }
    }

    public static func string(_ text: String) -> LuaValue { .string(Array(text.utf8)) }

    /// The string's bytes decoded as UTF-8 (invalid sequences become U+FFFD).
    public var stringValue: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// A string, number or boolean as a command line spells it (`42`, `0.5`, `true`); nil for
    /// any other value.
    public var scalarText: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .boolean(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    public var integerValue: Int64? {
        switch self {
        case .integer(let i): return i
        case .number(let d): return Int64(exactly: d)
        default: return nil
        }
    }

    public var numberValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .boolean(let b) = self { return b }
        return nil
    }

    public var tableValue: LuaTable? {
        if case .table(let t) = self { return t }
        return nil
    }

    public var isNil: Bool {
        if case .nil = self { return true }
        return false
    }

    /// Lua's truthiness: only nil and false are false.
    public var isTruthy: Bool {
        switch self {
        case .nil, .boolean(false): return false
        default: return true
        }
    }
}

/// A Lua table: `array` holds the values of keys 1...n, `fields` every other key.
public struct LuaTable: Hashable {
    public var array: [LuaValue]
    public var fields: [LuaValue: LuaValue]

    public init(array: [LuaValue] = [], fields: [LuaValue: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    public init(_ fields: [String: LuaValue]) {
        self.array = []
        self.fields = [:]
        for (key, value) in fields where !value.isNil { self.fields[.string(key)] = value }
    }

    public subscript(key: String) -> LuaValue {
        get { fields[.string(key)] ?? .nil }
        set { fields[.string(key)] = newValue.isNil ? nil : newValue }
    }

    public var isEmpty: Bool { array.isEmpty && fields.isEmpty }

    /// String keys with their values, sorted by key, for stable output.
    public var sortedStringFields: [(String, LuaValue)] {
        fields.compactMap { key, value in key.stringValue.map { ($0, value) } }.sorted { $0.0 < $1.0 }
    }
}

extension LuaValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .nil }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(Array(value.utf8)) }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        var table = LuaTable()
        for (key, value) in elements { table[key] = value }
        self = .table(table)
    }
}
