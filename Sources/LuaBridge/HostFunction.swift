// Swift functions callable from Lua: one C trampoline, one Swift dispatch, closures owned
// by Lua's collector.

import CLua

/// A Swift function exposed to Lua. It reads its arguments from `call`, pushes its
/// results and returns how many it pushed. Whatever it throws becomes a Lua error that
/// carries the calling script's file:line (and that `pcall` can catch).
public typealias LuaHostFunction = (LuaCall) throws -> Int32

/// The boxed closure a Lua function value owns (released by the userdata's `__gc`).
final class HostFunctionBox {
    let name: String
    let body: LuaHostFunction
    init(name: String, body: @escaping LuaHostFunction) {
        self.name = name
        self.body = body
    }
}

enum HostFunctionRegistry {
    static let metatableName = "runbook.hostfunction"

    /// The single Swift entry point behind every registered function.
    static let dispatch: rb_host_function = { L, box in
        guard let L, let box else { return 0 }
        // Borrowed, not retained: the closure userdata on the stack keeps the box alive for
        // the whole call, and skipping the reference counting halves the bridge's cost.
        let function = Unmanaged<HostFunctionBox>.fromOpaque(box)
        do {
            return try function._withUnsafeGuaranteedRef { try $0.body(LuaCall(L: L, box: function)) }
        } catch let error as LuaError {
            // A Lua error passing back through Swift (a host function that called Lua)
            // already carries its location: re-raise it as it was, typed cause included.
            let state = Unmanaged<LuaState>.fromOpaque(rb_control_of(L).pointee.owner).takeUnretainedValue()
            LuaConversion.pushString(L, error.description)
            state.lastHostError = error.hostError
            state.lastHostErrorMessage = error.hostError == nil ? nil : error.description
            return RB_HOST_ERROR
        } catch {
            LuaConversion.pushString(L, scriptLocation(L) + shortened(String(describing: error)))
            // Remember the typed error, so a caller in Swift can get it back.
            let control = Unmanaged<LuaState>.fromOpaque(rb_control_of(L).pointee.owner).takeUnretainedValue()
            control.lastHostError = error
            control.lastHostErrorMessage = LuaConversion.string(L, at: -1)
            return RB_HOST_ERROR
        }
    }

    /// Longer error messages are cut: one that echoes a 70 KB argument is no clearer for it.
    static let maximumMessageBytes = 1000

    /// `text`, or its first `maximumMessageBytes` (whole characters) and how much was cut.
    static func shortened(_ text: String) -> String {
        let count = text.utf8.count
        guard count > maximumMessageBytes else { return text }
        var kept = 0
        var end = text.startIndex
        for character in text {
            let size = character.utf8.count
            if kept + size > maximumMessageBytes { break }
            kept += size
            end = text.index(after: end)
        }
        return text[..<end] + "... (\(count - kept) more bytes)"
    }

    /// "file:line: " of the nearest Lua code up the stack (a primitive may be called
    /// through pcall or another C function, which has no line of its own). The sandbox's
    /// own wrappers (`require`) are skipped: a refused module name points at the script's
    /// line that asked for it, not at "sandbox:19".
    static func scriptLocation(_ L: OpaquePointer) -> String {
        var record = lua_Debug()
        var level: Int32 = 1
        while level < 20, lua_getstack(L, level, &record) != 0 {
            if lua_getinfo(L, "Sl", &record) != 0, record.currentline > 0,
               record.source.map({ String(cString: $0) }) != LuaSandbox.bootstrapChunk {
                let source = withUnsafeBytes(of: record.short_src) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                return "\(source):\(record.currentline): "
            }
            level += 1
        }
        return ""
    }

    /// Frees the closure when Lua collects the function (or closes the state).
    static let release: lua_CFunction = { L in
        guard let L, let slot = rb_host_slot_at(L, 1), let box = slot.pointee.box else { return 0 }
        slot.pointee.box = nil
        Unmanaged<HostFunctionBox>.fromOpaque(box).release()
        return 0
    }

    static func installMetatable(_ L: OpaquePointer) {
        luaL_newmetatable(L, metatableName)
        lua_pushcclosure(L, release, 0)
        lua_setfield(L, -2, "__gc")
        lua_pushboolean(L, 0)
        lua_setfield(L, -2, "__metatable")
        rb_pop(L, 1)
    }

    static func push(_ L: OpaquePointer, name: String, body: @escaping LuaHostFunction) {
        let box = Unmanaged.passRetained(HostFunctionBox(name: name, body: body)).toOpaque()
        rb_push_host_function(L, box, dispatch, metatableName)
    }
}

extension LuaState {
    /// Registers `module.name` (or a global `name` when `module` is nil). The module table
    /// is created on first use. The closure must not capture this state strongly.
    public func register(_ name: String, in module: String? = nil, _ body: @escaping LuaHostFunction) {
        enterHost()
        defer { leaveHost() }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if let module { pushModuleTable(module) } else { rb_pushglobaltable(L) }
        lua_pushstring(L, name)
        HostFunctionRegistry.push(L, name: module.map { "\($0).\(name)" } ?? name, body: body)
        lua_rawset(L, -3)
    }

    /// Sets `module.name` to a value (a constant such as `db.NULL`); the module table is
    /// created on first use, as `register` does.
    public func setField(_ name: String, in module: String, _ value: LuaValue) throws {
        enterHost()
        defer { leaveHost() }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        pushModuleTable(module)
        lua_pushstring(L, name)
        try LuaConversion.push(L, value)
        lua_rawset(L, -3)
    }

    /// Pushes the global table `module`, made on first use (above the globals table, which the
    /// caller's settop pops with it).
    private func pushModuleTable(_ module: String) {
        rb_pushglobaltable(L)
        lua_pushstring(L, module)
        lua_rawget(L, -2)
        guard lua_type(L, -1) != LUA_TTABLE else { return }
        rb_pop(L, 1)
        lua_createtable(L, 0, 8)
        lua_pushstring(L, module)
        lua_pushvalue(L, -2)
        lua_rawset(L, -4)
    }

    /// A Lua function value for a Swift closure, to pass into Lua (as an argument, a field).
    public func function(named name: String, _ body: @escaping LuaHostFunction) -> LuaRef {
        enterHost()
        defer { leaveHost() }
        HostFunctionRegistry.push(L, name: name, body: body)
        return makeRef()
    }
}
