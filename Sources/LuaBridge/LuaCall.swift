// One call of a host function: typed access to its arguments and a way to push results.

import CLua

/// The arguments and results of one host-function call. Accessors check types strictly
/// and throw errors worded like Lua's ("bad argument #2 to 'fs.symlink' (string
/// expected, got nil)"). Valid only during the call.
public struct LuaCall {
    public let L: OpaquePointer
    /// The called function's box, borrowed: the function value being called keeps it alive.
    let box: Unmanaged<HostFunctionBox>

    /// The function's qualified name, for messages ("fs.symlink").
    public var name: String { box._withUnsafeGuaranteedRef { $0.name } }

    public var argumentCount: Int32 { lua_gettop(L) }

    public func isNil(_ position: Int32) -> Bool { lua_type(L, position) <= LUA_TNIL }

    public func typeName(_ position: Int32) -> String {
        lua_type(L, position) == LUA_TNONE ? "no value" : String(cString: rb_typename_at(L, position))
    }

    func wrongType(_ position: Int32, expected: String) -> LuaArgumentError {
        LuaArgumentError(position: position, function: name, problem: "\(expected) expected, got \(typeName(position))")
    }

    public func argumentError(_ position: Int32, _ problem: String) -> LuaArgumentError {
        LuaArgumentError(position: position, function: name, problem: problem)
    }

    // MARK: Required arguments

    public func string(_ position: Int32) throws -> String {
        guard lua_type(L, position) == LUA_TSTRING else { throw wrongType(position, expected: "string") }
        return LuaConversion.string(L, at: position)
    }

    public func bytes(_ position: Int32) throws -> [UInt8] {
        guard lua_type(L, position) == LUA_TSTRING else { throw wrongType(position, expected: "string") }
        return LuaConversion.bytes(L, at: position)
    }

    /// An integer, or a float with an exact integer value (as Lua's own checks accept).
    public func integer(_ position: Int32) throws -> Int64 {
        guard lua_type(L, position) == LUA_TNUMBER else { throw wrongType(position, expected: "number") }
        var isInteger: Int32 = 0
        let value = rb_tointegerx(L, position, &isInteger)
        guard isInteger != 0 else { throw argumentError(position, "number has no integer representation") }
        return value
    }

    public func number(_ position: Int32) throws -> Double {
        guard lua_type(L, position) == LUA_TNUMBER else { throw wrongType(position, expected: "number") }
        return rb_tonumberx(L, position, nil)
    }

    public func boolean(_ position: Int32) throws -> Bool {
        guard lua_type(L, position) == LUA_TBOOLEAN else { throw wrongType(position, expected: "boolean") }
        return lua_toboolean(L, position) != 0
    }

    public func table(_ position: Int32) throws -> LuaTable {
        guard lua_type(L, position) == LUA_TTABLE else { throw wrongType(position, expected: "table") }
        do {
            return try LuaConversion.table(L, at: position, state: owner, depth: 0)
        } catch let error as LuaConversion.ConversionError {
            throw argumentError(position, error.description)
        }
    }

    /// The array part of a table argument (`{ "a", 1 }`), without reading its other fields:
    /// the parameters of every db.exec.
    public func sequence(_ position: Int32) throws -> [LuaValue] {
        guard lua_type(L, position) == LUA_TTABLE else { throw wrongType(position, expected: "table") }
        guard lua_checkstack(L, 3) != 0 else { throw argumentError(position, "Lua stack exhausted") }
        do {
            return try LuaConversion.arrayPart(L, at: lua_absindex(L, position), state: owner, depth: 0)
        } catch let error as LuaConversion.ConversionError {
            throw argumentError(position, error.description)
        }
    }

    public func function(_ position: Int32) throws -> LuaRef {
        guard lua_type(L, position) == LUA_TFUNCTION, let owner else { throw wrongType(position, expected: "function") }
        lua_pushvalue(L, position)
        return owner.makeRef()
    }

    /// Any value, converted (functions become references).
    public func value(_ position: Int32) throws -> LuaValue {
        do {
            return try LuaConversion.value(L, at: position, state: owner)
        } catch let error as LuaConversion.ConversionError {
            throw argumentError(position, error.description)
        }
    }

    // MARK: Optional arguments (nil or absent gives nil)

    public func optionalString(_ position: Int32) throws -> String? { isNil(position) ? nil : try string(position) }
    public func optionalInteger(_ position: Int32) throws -> Int64? { isNil(position) ? nil : try integer(position) }
    public func optionalNumber(_ position: Int32) throws -> Double? { isNil(position) ? nil : try number(position) }
    public func optionalBoolean(_ position: Int32) throws -> Bool? { isNil(position) ? nil : try boolean(position) }
    public func optionalTable(_ position: Int32) throws -> LuaTable? { isNil(position) ? nil : try table(position) }
    public func optionalSequence(_ position: Int32) throws -> [LuaValue]? { isNil(position) ? nil : try sequence(position) }
    public func optionalFunction(_ position: Int32) throws -> LuaRef? { isNil(position) ? nil : try function(position) }

    // MARK: Results

    public func push(_ value: LuaValue) throws { try LuaConversion.push(L, value) }
    /// Pushes a table of these string keys and values, without making a LuaTable (and
    /// hashing its keys) first: the result of an effect, pushed at every call.
    public func push(fields: [(String, LuaValue)]) throws { try LuaConversion.push(L, fields: fields) }
    public func push(_ text: String) { LuaConversion.pushString(L, text) }
    public func push(bytes: [UInt8]) { LuaConversion.pushBytes(L, bytes) }
    public func push(_ integer: Int64) { lua_pushinteger(L, integer) }
    public func push(_ integer: Int) { lua_pushinteger(L, lua_Integer(integer)) }
    public func push(_ number: Double) { lua_pushnumber(L, number) }
    public func push(_ flag: Bool) { lua_pushboolean(L, flag ? 1 : 0) }
    public func pushNil() { lua_pushnil(L) }
    /// Pushes an argument back unchanged (returning it as it is, without converting).
    public func pushArgument(_ position: Int32) { lua_pushvalue(L, position) }

    /// The state this call runs on (unowned: valid during the call).
    public var owner: LuaState? {
        guard let pointer = rb_control_of(L).pointee.owner else { return nil }
        return Unmanaged<LuaState>.fromOpaque(pointer).takeUnretainedValue()
    }
}
