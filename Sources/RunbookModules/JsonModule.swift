// The `json` module: the engine's own JSON (RunbookSupport/JSON.swift, the one the journal and
// --json output use) for values runbooks keep in text columns (queue.args). It replaced a
// pure-Lua copy in stdlib/json.lua; the text it writes is the same for the values runbooks
// store (sorted keys, the same escapes), so rows written before read back unchanged.
// Also the converters between JSON and Lua values that other modules push results with.

import LuaBridge
import RunbookSupport

package enum JsonModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("json", title: "json: JSON text", doc: """
            JSON for the values a runbook keeps in a text column (`queue.args`). Pure: usable at
            the top level of a file too. A Lua sequence (or an empty table) is an array, any other
            table an object with string keys, written in key order (byte order), so the same value
            always gives the same text. `json.null` stands for JSON `null` inside a table, where
            `nil` cannot; it is the same value as `db.NULL`. Tables nested more than 100 levels
            deep are refused.
            """),
    ] }

    package static var globals: [LuaGlobal] { [
        // json.null: JSON null as a value a table can hold (the null marker, as db.NULL).
        LuaGlobal("json.null", type: "lightuserdata", value: .null, doc: """
            JSON `null` inside a table, where `nil` cannot keep a key or a place in a list:
            `json.encode({ note = json.null })` is `{"note":null}`, and `json.decode` gives it for
            every `null`. The same value as `db.NULL`.
            """),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // json.encode(value) -> text (compact, one line, object keys sorted)
        LuaPrimitive("json.encode", doc: encodeDoc, anywhere: encode),
        // json.decode(text) -> value (null -> json.null)
        LuaPrimitive("json.decode", doc: decodeDoc, anywhere: decode),
    ] }

    // MARK: json.encode

    static var encodeDoc: APIFunction {
        APIFunction(.pure, "value: table|string|number|boolean|lightuserdata|nil  a table, string, number, boolean, `nil` or `json.null`",
            returns: ["string  the JSON text, on one line"],
            doc: """
            Writes a value as compact JSON: `nil` and `json.null` as `null`, integers as integers,
            floats with a fraction (`1.0`, `0.5`), strings with `"`, `\\`, `\\n`, `\\r` and `\\t`
            escaped by name, the other control characters and DEL as `\\u00XX`, the rest of UTF-8
            as it is. Refused, each in one line starting `json.encode:`: NaN and infinities,
            functions, a table with both a sequence and other keys or with keys that are not
            strings, and strings that are not UTF-8; a table that holds itself or is nested more
            than 100 levels deep is refused as every argument is.
            """,
            example: #"db.insert("internal", "queue", { runbook = "install", args = json.encode({ plan = "paid", hostname = name }) })"#)
    }

    static func encode(_ call: LuaCall) throws -> Int32 {
        let value = try call.value(1)
        call.push(try encoded(value, call: call))
        return 1
    }

    // MARK: json.decode

    static var decodeDoc: APIFunction {
        APIFunction(.pure, "text: string  one JSON value",
            returns: ["any  tables for objects and arrays, `json.null` for `null`"],
            doc: """
            Reads one JSON value. Objects and arrays become tables; `null` becomes `json.null`
            (so an array keeps its length and an object its keys); whole numbers become integers,
            others floats. Bad text raises one line naming the byte where it goes wrong:
            `json.decode: invalid JSON at byte 6: unexpected token` (for `{"a": tru}`). Nesting deeper than 100
            levels is refused.
            """,
            example: #"local args = json.decode(job.args); print(args.hostname)"#)
    }

    static func decode(_ call: LuaCall) throws -> Int32 {
        let bytes = try call.bytes(1)
        let parsed: JSON
        do {
            parsed = try JSON.parse(utf8: bytes)
        } catch let failure as JSON.ParseError {
            throw LuaHostFailure("\(call.name): \(failure.description)")
        }
        do {
            try call.push(luaValue(parsed, null: .null))
        } catch {
            throw LuaHostFailure("\(call.name): \(error)")
        }
        return 1
    }

    // MARK: Lua -> JSON text

    /// Why a value cannot be JSON, said as `json.encode: ...`.
    package struct EncodeFailure: Error, CustomStringConvertible {
        package var problem: String
        package var description: String { "json.encode: \(problem)" }
    }

    package static func encoded(_ value: LuaValue, call: LuaCall) throws -> String {
        do {
            return try json(value).serialized
        } catch let failure as EncodeFailure {
            throw LuaHostFailure(failure.description)
        }
    }

    /// The JSON of a Lua value; object keys in byte order (as Lua's `table.sort` orders them).
    package static func json(_ value: LuaValue) throws -> JSON {
        switch value {
        case .nil, .null: return .null
        case .boolean(let flag): return .bool(flag)
        case .integer(let integer): return .int(integer)
        case .number(let number):
            guard number.isFinite else { throw EncodeFailure(problem: "cannot encode \(number)") }
            return .double(number)
        case .string(let bytes): return .string(try text(bytes))
        case .function: throw EncodeFailure(problem: "cannot encode a function")
        case .table(let table):
            if table.fields.isEmpty { return .array(try table.array.map(json)) }
            guard table.array.isEmpty else {
                throw EncodeFailure(problem: "a table with both a sequence and other keys is neither an array nor an object")
            }
            var pairs: [([UInt8], LuaValue)] = []
            pairs.reserveCapacity(table.fields.count)
            for (key, element) in table.fields {
                guard case .string(let name) = key else {
                    throw EncodeFailure(problem: "object keys must be strings, got a \(key.typeName)")
                }
                pairs.append((name, element))
            }
            pairs.sort { $0.0.lexicographicallyPrecedes($1.0) }
            return .object(try pairs.map { (try text($0.0), try json($0.1)) })
        }
    }

    private static func text(_ bytes: [UInt8]) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw EncodeFailure(problem: "a string that is not UTF-8 cannot be JSON")
        }
        return text
    }

    // MARK: JSON -> Lua

    /// A JSON value as a Lua value; JSON null becomes `null` (nil for results and settings,
    /// the null marker for json.decode, which must keep array positions and object keys).
    package static func luaValue(_ json: JSON, null: LuaValue = .nil) -> LuaValue {
        switch json {
        case .null: return null
        case .bool(let b): return .boolean(b)
        case .int(let i): return .integer(i)
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .array(let items): return .table(LuaTable(array: items.map { luaValue($0, null: null) }))
        case .object(let pairs):
            var table = LuaTable()
            for (key, value) in pairs { table[key] = luaValue(value, null: null) }
            return .table(table)
        }
    }

    /// Pushes `json` as a host function's result: an object as a table made straight from its pairs.
    package static func push(_ json: JSON, to call: LuaCall) throws {
        if case .object(let pairs) = json {
            try call.push(fields: pairs.map { ($0.0, luaValue($0.1)) })
        } else {
            try call.push(luaValue(json))
        }
    }
}
