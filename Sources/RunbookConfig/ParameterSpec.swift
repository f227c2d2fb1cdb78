// A runbook's declared parameter: its type, default, limits and docs.

import RunbookSupport

public enum ParameterType: String, CaseIterable, Sendable {
    case string, int, number, bool, `enum`, path, hostname, email, ip
}

public struct ParameterSpec: Sendable {
    public var name: String
    public var type: ParameterType
    public var required: Bool
    /// The default as the runbook declared it (already validated against the type).
    public var defaultValue: ArgumentValue?
    public var doc: String
    /// Masked everywhere; cannot be given on the command line (argv is world-readable).
    public var secret: Bool
    public var min: Double?
    public var max: Double?
    public var values: [String]
    /// Accepts several values (repeat the flag or separate with commas): a Lua array.
    public var list: Bool

    /// The flag as typed: underscores become dashes (`--shared-group`).
    public var flag: String { "--" + name.replacingAll("_", with: "-") }

    /// "int, 1..1000, default 3" for `describe`.
    public var typeDescription: String {
        var text = type == .enum ? "one of " + values.joined(separator: "|") : type.rawValue
        if list { text += " (one or more)" }
        if let min, let max { text += ", \(ArgumentValue.format(min))..\(ArgumentValue.format(max))" }
        else if let min { text += ", >= \(ArgumentValue.format(min))" }
        else if let max { text += ", <= \(ArgumentValue.format(max))" }
        return text
    }

    package init(name: String, type: ParameterType, required: Bool, defaultValue: ArgumentValue? = nil, doc: String, secret: Bool, min: Double? = nil, max: Double? = nil, values: [String], list: Bool) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
        self.secret = secret
        self.min = min
        self.max = max
        self.values = values
        self.list = list
    }
}

/// A validated argument value.
public enum ArgumentValue: Equatable, Sendable {
    case string(String)
    case int(Int64)
    case number(Double)
    case bool(Bool)
    case list([ArgumentValue])

    /// As JSON; a runbook gets it through the one JSON-to-Lua converter (JsonModule.luaValue).
    public var json: JSON {
        switch self {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        case .number(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .list(let items): return .array(items.map(\.json))
        }
    }

    public var display: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .number(let d): return ArgumentValue.format(d)
        case .bool(let b): return b ? "true" : "false"
        case .list(let items): return items.map(\.display).joined(separator: ",")
        }
    }

    package static func format(_ number: Double) -> String {
        if let integer = Int64(exactly: number) { return String(integer) }
        return String(number)
    }
}
