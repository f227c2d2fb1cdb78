// One Lua state: owns the lua_State and its control block, and closes both.

import CLua

/// Limits on a script: instructions executed and wall-clock seconds, both optional.
public struct LuaBudget: Sendable {
    public var instructions: Int64?
    public var seconds: Double?
    public init(instructions: Int64? = nil, seconds: Double? = nil) {
        self.instructions = instructions
        self.seconds = seconds
    }
}

/// A handle a signal handler may use: requesting an interrupt is one store to memory.
public struct LuaInterruptHandle: @unchecked Sendable {
    let control: UnsafeMutablePointer<rb_control>
    /// Asks the script to stop at its next hook: async-signal-safe.
    public func request() { rb_request_interrupt(control) }
}

/// Owns one `lua_State`. Functions registered on it hold no reference to it, so dropping
/// the last reference closes the state and frees every registered closure.
public final class LuaState {
    public let L: OpaquePointer
    let control: UnsafeMutablePointer<rb_control>
    private(set) var isClosed = false
    /// The last Swift error a host function threw, so a failed call can hand it back typed.
    var lastHostError: (any Error)?
    var lastHostErrorMessage: String?
    /// Whatever the program embedding Lua keeps with this state, untouched by the bridge
    /// (runbook: the collector of the registered functions' docs, while `runbook api` reads them).
    public var hostData: AnyObject?

    /// Creates a sandboxed state (see `LuaSandbox`).
    public init(sandbox: LuaSandbox = LuaSandbox()) throws {
        control = UnsafeMutablePointer<rb_control>.allocate(capacity: 1)
        control.initialize(to: rb_control())
        control.pointee.memory_limit = sandbox.memoryLimit
        guard let L = rb_newstate(control) else {
            control.deallocate()
            throw LuaError(kind: .memory, message: "cannot create a Lua state: out of memory")
        }
        self.L = L
        control.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
        HostFunctionRegistry.installMetatable(L)
        try sandbox.install(on: self)
    }

    deinit { close() }

    /// Closes the state now; later calls fail. Registered closures are released here.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        lua_close(L)
        control.deallocate()
    }

    // MARK: Budget and interrupt

    public func setBudget(_ budget: LuaBudget) {
        control.pointee.instruction_limit = budget.instructions ?? 0
        control.pointee.instructions = 0
        control.pointee.deadline = budget.seconds.map { rb_monotonic_now() + $0 } ?? 0
    }

    public var interruptHandle: LuaInterruptHandle { LuaInterruptHandle(control: control) }

    /// True once an interrupt was requested (even if no hook has seen it yet).
    public var isInterruptRequested: Bool {
        control.pointee.interrupt_requested != 0 || control.pointee.stop_reason == Int32(RB_STOP_INTERRUPT)
    }

    /// Lets code run again after an interrupt or an exhausted budget (cleanup hooks).
    public func clearStop() {
        rb_clear_stop(L, control)
        control.pointee.deadline = 0
        control.pointee.instruction_limit = 0
    }

    public var memoryUsed: Int { Int(control.pointee.memory_used) }

    // MARK: Globals

    /// Reads a global without the strict-globals check.
    public func global(_ name: String) throws -> LuaValue {
        enterHost()
        defer { leaveHost() }
        rb_pushglobaltable(L)
        lua_pushstring(L, name)
        lua_rawget(L, -2)
        defer { rb_pop(L, 2) }
        return try LuaConversion.value(L, at: -1, state: self)
    }

    /// Declares (or replaces) a global; the only way to add one once the sandbox is strict.
    public func setGlobal(_ name: String, _ value: LuaValue) throws {
        enterHost()
        defer { leaveHost() }
        rb_pushglobaltable(L)
        lua_pushstring(L, name)
        try LuaConversion.push(L, value)
        lua_rawset(L, -3)
        rb_pop(L, 1)
    }

    // MARK: Loading and calling

    /// Compiles a text chunk (never bytecode) into a function.
    public func load(_ source: String, chunkName: String) throws -> LuaRef {
        enterHost()
        defer { leaveHost() }
        let status = source.utf8.withContiguousStorageIfAvailable { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                rb_loadbuffer(L, chars.baseAddress, chars.count, chunkName)
            }
        } ?? {
            let bytes = Array(source.utf8)
            return bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { rb_loadbuffer(L, $0.baseAddress, $0.count, chunkName) }
            }
        }()
        if status != LUA_OK {
            let text = LuaConversion.errorText(L, at: -1)
            rb_pop(L, 1)
            throw LuaError.parse(text, kind: status == LUA_ERRMEM ? .memory : .syntax)
        }
        return makeRef()
    }

    /// Loads and runs a chunk; returns what it returned.
    @discardableResult
    public func run(_ source: String, chunkName: String, arguments: [LuaValue] = []) throws -> [LuaValue] {
        let function = try load(source, chunkName: chunkName)
        return try call(function, arguments)
    }

    /// Calls a Lua function in protected mode with a traceback; a Lua error becomes a `LuaError`.
    @discardableResult
    public func call(_ function: LuaRef, _ arguments: [LuaValue] = []) throws -> [LuaValue] {
        guard !isClosed else { throw LuaError(kind: .runtime, message: "the Lua state is closed") }
        enterHost()
        defer { leaveHost() }
        let base = lua_gettop(L)
        function.push(L)
        for argument in arguments { try LuaConversion.push(L, argument) }
        try protectedCall(arguments: Int32(arguments.count), results: LUA_MULTRET)
        let top = lua_gettop(L)
        defer { lua_settop(L, base) }
        var results: [LuaValue] = []
        if top > base {
            for index in (base + 1)...top { results.append(try LuaConversion.value(L, at: index, state: self)) }
        }
        return results
    }

    /// The one protected-call entry point: function and arguments are on the stack.
    /// On success the results replace them; on failure the stack is restored and a
    /// `LuaError` with location and traceback is thrown.
    public func protectedCall(arguments: Int32, results: Int32) throws {
        let functionIndex = lua_gettop(L) - arguments
        rb_push_traceback_handler(L)
        rb_insert(L, functionIndex)
        lastHostError = nil
        lastHostErrorMessage = nil
        // Script code runs under the memory limit even when a host function called it.
        let savedHostDepth = control.pointee.in_host
        control.pointee.in_host = 0
        let status = rb_pcall(L, arguments, results, functionIndex)
        control.pointee.in_host = savedHostDepth
        rb_remove(L, functionIndex)
        if status == LUA_OK { return }
        let text = LuaConversion.errorText(L, at: -1)
        rb_pop(L, 1)
        lua_getfield(L, rb_registryindex(), "runbook.traceback")
        let traceback = lua_type(L, -1) == LUA_TSTRING ? LuaConversion.errorText(L, at: -1) : nil
        rb_pop(L, 1)
        lua_pushnil(L)
        lua_setfield(L, rb_registryindex(), "runbook.traceback")
        var error = LuaError.parse(text, kind: kind(of: status))
        error.traceback = traceback
        if let message = lastHostErrorMessage, message == text { error.hostError = lastHostError }
        lastHostError = nil
        lastHostErrorMessage = nil
        throw error
    }

    private func kind(of status: Int32) -> LuaError.Kind {
        switch status {
        case LUA_ERRMEM: return .memory
        case LUA_ERRERR: return .messageHandler
        default:
            switch control.pointee.stop_reason {
            case Int32(RB_STOP_INTERRUPT): return .interrupted
            case Int32(RB_STOP_INSTRUCTIONS): return .instructionBudget
            case Int32(RB_STOP_TIME): return .timeBudget
            default: return .runtime
            }
        }
    }

    /// Marks Swift code that pushes onto the Lua stack: allocations there must not fail
    /// (a failure would raise across the Swift frame), so the memory limit is lifted.
    func enterHost() { control.pointee.in_host += 1 }
    func leaveHost() { control.pointee.in_host -= 1 }

    /// Pops the value on top of the stack into a registry reference.
    func makeRef() -> LuaRef {
        LuaRef(state: self, ref: luaL_ref(L, rb_registryindex()))
    }
}
