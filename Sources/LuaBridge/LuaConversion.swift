// Converting between Lua stack values and `LuaValue`, strictly and without raising.

import CLua

enum LuaConversion {
    /// Deeper tables are refused: a runbook's data is a few levels deep, and every level
    /// is a Swift frame here and in whatever walks the value later.
    static let maximumDepth = 100
    /// Values one conversion may produce: a table that holds itself (or one table shared
    /// many times over) would otherwise expand without end.
    static let maximumValues = 1_000_000

    struct ConversionError: Error, CustomStringConvertible {
        var description: String
    }

    /// One conversion's walk: the tables on the path from the root (to name a cycle as one)
    /// and how many more values it may produce.
    struct Walk {
        var path: Set<UnsafeRawPointer> = []
        var remaining = LuaConversion.maximumValues

        mutating func count() throws {
            remaining -= 1
            guard remaining >= 0 else {
                throw ConversionError(description: "table holds more than \(LuaConversion.maximumValues) values")
            }
        }
    }

    // MARK: Lua -> Swift

    /// The elements 1, 2, ... of the table at `index` (absolute), up to the first nil: the
    /// array part of its LuaTable. The caller has checked the type and the stack.
    static func arrayPart(_ L: OpaquePointer, at index: Int32, state: LuaState?, depth: Int) throws -> [LuaValue] {
        var walk = Walk()
        return try arrayPart(L, at: index, state: state, depth: depth, walk: &walk)
    }

    static func arrayPart(_ L: OpaquePointer, at index: Int32, state: LuaState?, depth: Int, walk: inout Walk) throws -> [LuaValue] {
        let length = Int(lua_rawlen(L, index))
        guard length > 0 else { return [] }
        var array: [LuaValue] = []
        // The length a script claims is not memory it has: reserve no more than may be filled.
        array.reserveCapacity(min(length, walk.remaining))
        for position in 1...length {
            lua_rawgeti(L, index, lua_Integer(position))
            defer { rb_pop(L, 1) }
            let element = try value(L, at: -1, state: state, depth: depth + 1, walk: &walk)
            // A hole ends the array part; the rest are ordinary fields.
            if element.isNil { break }
            array.append(element)
        }
        return array
    }

    /// Reads the value at `index` (never pops, never raises, never calls metamethods).
    static func value(_ L: OpaquePointer, at index: Int32, state: LuaState?, depth: Int = 0) throws -> LuaValue {
        var walk = Walk()
        return try value(L, at: index, state: state, depth: depth, walk: &walk)
    }

    static func value(_ L: OpaquePointer, at index: Int32, state: LuaState?, depth: Int, walk: inout Walk) throws -> LuaValue {
        let index = lua_absindex(L, index)
        try walk.count()
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if rb_isinteger(L, index) != 0 { return .integer(rb_tointegerx(L, index, nil)) }
            return .number(rb_tonumberx(L, index, nil))
        case LUA_TSTRING: return .string(bytes(L, at: index))
        case LUA_TTABLE: return .table(try table(L, at: index, state: state, depth: depth, walk: &walk))
        case LUA_TLIGHTUSERDATA where lua_touserdata(L, index) == nil: return .null
        case LUA_TFUNCTION:
            guard let state else { throw ConversionError(description: "a function cannot be converted here") }
            lua_pushvalue(L, index)
            return .function(state.makeRef())
        default:
            throw ConversionError(description: "a \(String(cString: rb_typename_at(L, index))) value cannot be converted")
        }
    }

    /// The bytes of the string at `index`; the caller has checked it is a string
    /// (so `lua_tolstring` converts nothing in place).
    static func bytes(_ L: OpaquePointer, at index: Int32) -> [UInt8] {
        var length = 0
        guard let pointer = rb_tolstring(L, index, &length) else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    static func string(_ L: OpaquePointer, at index: Int32) -> String {
        var length = 0
        guard let pointer = rb_tolstring(L, index, &length) else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    static func table(_ L: OpaquePointer, at index: Int32, state: LuaState?, depth: Int) throws -> LuaTable {
        var walk = Walk()
        return try table(L, at: lua_absindex(L, index), state: state, depth: depth, walk: &walk)
    }

    static func table(_ L: OpaquePointer, at index: Int32, state: LuaState?, depth: Int, walk: inout Walk) throws -> LuaTable {
        guard depth < maximumDepth else {
            throw ConversionError(description: "table nested more than \(maximumDepth) levels deep")
        }
        guard let identity = lua_topointer(L, index) else { throw ConversionError(description: "a table without an address") }
        guard walk.path.insert(identity).inserted else { throw ConversionError(description: "table holds itself (a cycle)") }
        defer { walk.path.remove(identity) }
        guard lua_checkstack(L, 3) != 0 else { throw ConversionError(description: "Lua stack exhausted") }
        var table = LuaTable()
        table.array = try arrayPart(L, at: index, state: state, depth: depth, walk: &walk)
        let arrayCount = Int64(table.array.count)
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            let key: LuaValue
            switch lua_type(L, -2) {
            case LUA_TSTRING: key = .string(bytes(L, at: -2))
            case LUA_TNUMBER:
                if rb_isinteger(L, -2) != 0 {
                    let integer = rb_tointegerx(L, -2, nil)
                    if integer >= 1 && integer <= arrayCount {
                        rb_pop(L, 1)
                        continue
                    }
                    key = .integer(integer)
                } else {
                    key = .number(rb_tonumberx(L, -2, nil))
                }
            case LUA_TBOOLEAN: key = .boolean(lua_toboolean(L, -2) != 0)
            default:
                rb_pop(L, 2)
                throw ConversionError(description: "a table key of type \(String(cString: rb_typename_at(L, -2))) cannot be converted")
            }
            do {
                table.fields[key] = try value(L, at: -1, state: state, depth: depth + 1, walk: &walk)
            } catch {
                rb_pop(L, 2)
                throw error
            }
            rb_pop(L, 1)
        }
        return table
    }

    /// The text of an error value, without calling any metamethod.
    static func errorText(_ L: OpaquePointer, at index: Int32) -> String {
        switch lua_type(L, index) {
        case LUA_TSTRING: return string(L, at: index)
        case LUA_TNIL: return "nil"
        case LUA_TNUMBER:
            if rb_isinteger(L, index) != 0 { return String(rb_tointegerx(L, index, nil)) }
            return String(rb_tonumberx(L, index, nil))
        default: return "(error object is a \(String(cString: rb_typename_at(L, index))) value)"
        }
    }

    // MARK: Swift -> Lua

    /// Pushes one value. The caller runs as host code (no memory limit), so pushes don't raise.
    static func push(_ L: OpaquePointer, _ value: LuaValue, depth: Int = 0) throws {
        guard lua_checkstack(L, 3) != 0 else { throw ConversionError(description: "Lua stack exhausted") }
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .number(let d): lua_pushnumber(L, d)
        case .string(let bytes): pushBytes(L, bytes)
        case .function(let ref): ref.push(L)
        case .null: lua_pushlightuserdata(L, nil)
        case .table(let table):
            guard depth < maximumDepth else {
                throw ConversionError(description: "table nested more than \(maximumDepth) levels deep")
            }
            lua_createtable(L, Int32(clamping: table.array.count), Int32(clamping: table.fields.count))
            for (offset, element) in table.array.enumerated() {
                try push(L, element, depth: depth + 1)
                lua_rawseti(L, -2, lua_Integer(offset + 1))
            }
            for (key, element) in table.fields {
                if case .number(let d) = key, d.isNaN { continue }
                try push(L, key, depth: depth + 1)
                try push(L, element, depth: depth + 1)
                lua_rawset(L, -3)
            }
        }
    }

    /// Pushes a table with string keys; a nil value leaves its key out.
    static func push(_ L: OpaquePointer, fields: [(String, LuaValue)]) throws {
        guard lua_checkstack(L, 3) != 0 else { throw ConversionError(description: "Lua stack exhausted") }
        lua_createtable(L, 0, Int32(clamping: fields.count))
        for (key, value) in fields where !value.isNil {
            pushString(L, key)
            try push(L, value, depth: 1)
            lua_rawset(L, -3)
        }
    }

    static func pushBytes(_ L: OpaquePointer, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    static func pushString(_ L: OpaquePointer, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }
}
