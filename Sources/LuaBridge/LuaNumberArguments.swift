// Lua numbers that become Swift integers, sizes and durations. Lua hands over any double
// (0/0, math.huge, -1e308); Swift traps when one of those is converted to an integer. Every
// host function reads such numbers through these checks, so a bad one is refused once,
// here, in a line naming the function and the argument, and never reaches a conversion.

import CLua

/// A number option's allowed values and how the message names them.
public struct LuaNumberRange: Sendable {
    public var lowest: Double
    public var highest: Double
    /// What the number counts, in the message: "seconds", "bytes".
    public var unit: String

    public init(_ lowest: Double, _ highest: Double, unit: String = "") {
        self.lowest = lowest
        self.highest = highest
        self.unit = unit
    }

    /// A timeout: more than nothing, at most a week (a larger one is a slip, and would
    /// overflow the milliseconds of a poll).
    public static let seconds = LuaNumberRange(0.001, 7 * 24 * 3600, unit: "seconds")

    func contains(_ number: Double) -> Bool { number >= lowest && number <= highest }

    var shown: String {
        func text(_ number: Double) -> String {
            number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        }
        return "between \(text(lowest)) and \(text(highest))" + (unit.isEmpty ? "" : " \(unit)")
    }
}

extension LuaValue {
    /// The number shown in an error: Lua's own spelling of NaN and the infinities.
    var numberShown: String {
        switch self {
        case .integer(let i): return String(i)
        case .number(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d > 0 ? "inf" : "-inf" }
            return String(d)
        default: return typeName
        }
    }
}

extension LuaCall {
    /// A number (an argument or a field of an options table) checked against `range`:
    /// nil when absent; NaN, an infinity or a value outside the range is refused with
    /// "bad argument #2 to 'cmd.run' (timeout must be a number between ..., got nan)".
    public func checkedNumber(_ value: LuaValue, _ what: String, position: Int32, in range: LuaNumberRange) throws -> Double? {
        switch value {
        case .nil: return nil
        case .integer, .number:
            let number = value.numberValue ?? .nan
            guard number.isFinite, range.contains(number) else {
                throw argumentError(position, "\(what) must be a number \(range.shown), got \(value.numberShown)")
            }
            return number
        default:
            throw argumentError(position, "\(what) must be a number \(range.shown), got \(value.typeName)")
        }
    }

    /// An integer checked against `range` (a float with an integral value counts, as in Lua).
    public func checkedInteger(_ value: LuaValue, _ what: String, position: Int32, in range: ClosedRange<Int64>) throws -> Int64? {
        let shownRange = "an integer between \(range.lowerBound) and \(range.upperBound)"
        switch value {
        case .nil: return nil
        case .integer, .number:
            guard let integer = value.integerValue, range.contains(integer) else {
                throw argumentError(position, "\(what) must be \(shownRange), got \(value.numberShown)")
            }
            return integer
        default:
            throw argumentError(position, "\(what) must be \(shownRange), got \(value.typeName)")
        }
    }

    /// A timeout in seconds: a field of the options table at `position`.
    public func timeout(_ options: LuaTable, position: Int32, default fallback: Double? = nil) throws -> Double? {
        try checkedNumber(options["timeout"], "timeout", position: position, in: .seconds) ?? fallback
    }

    /// A number argument at `position`, checked like `checkedNumber`.
    public func number(_ position: Int32, _ what: String, in range: LuaNumberRange) throws -> Double {
        guard lua_type(L, position) == LUA_TNUMBER else { throw wrongType(position, expected: "number") }
        return try checkedNumber(try value(position), what, position: position, in: range) ?? 0
    }

    /// An integer argument at `position`, checked like `checkedInteger`.
    public func integer(_ position: Int32, _ what: String, in range: ClosedRange<Int64>) throws -> Int64 {
        guard lua_type(L, position) == LUA_TNUMBER else { throw wrongType(position, expected: "number") }
        return try checkedInteger(try value(position), what, position: position, in: range) ?? 0
    }
}
