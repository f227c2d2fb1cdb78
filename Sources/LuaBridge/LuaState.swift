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
    /// The error `stopFatally` stopped the script with, handed back typed by every call
    /// the stop ends.
    private var fatalError: (any Error)?
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

    /// Lets code run again after an interrupt, an exhausted budget or a fatal stop (cleanup hooks).
    public func clearStop() {
        rb_clear_stop(L, control)
        control.pointee.deadline = 0
        control.pointee.instruction_limit = 0
        fatalError = nil
    }

    /// True once the script is stopped (interrupt, budget or `stopFatally`) until `clearStop`.
    public var isStopped: Bool { control.pointee.stop_reason != Int32(RB_STOP_NONE) }

    /// Stops the script for good because of `error`, which the calling host function then
    /// throws: a `pcall` that catches it gets it back at its next instruction (and every
    /// later host call raises it), so the script cannot go on, in a coroutine or an xpcall
    /// handler either, and every `call` it ends throws it, typed. For failures the host must
    /// end the run on (a lock not taken, a journal that cannot be written).
    public func stopFatally(_ error: any Error) {
        guard !isStopped else { return }
        fatalError = error
        enterHost()
        defer { leaveHost() }
        // Worded as the host function's own error will be (HostFunctionRegistry.dispatch).
        LuaConversion.pushString(thread, HostFunctionRegistry.scriptLocation(thread) + String(describing: error))
        rb_stop_fatally(thread, L, control)
    }

    /// The thread Lua code runs on now: the coroutine whose host function is running, or the
    /// main thread. Calls back into Lua and stack work from Swift happen there: the main
    /// thread is suspended in `coroutine.resume` while a coroutine runs.
    var thread: OpaquePointer { control.pointee.running ?? L }

    public var memoryUsed: Int { Int(control.pointee.memory_used) }

    // MARK: Globals

    /// Reads a global without the strict-globals check.
    public func global(_ name: String) throws -> LuaValue {
        enterHost()
        defer { leaveHost() }
        let L = thread
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
        let L = thread
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
        let L = thread
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
        let L = thread
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
        let L = thread
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
        if status == LUA_OK && !isStopped { return }
        // A stopped script that returned anyway (a `return pcall(...)` tail call leaves no
        // instruction to raise the stop at) ends with the stop's error all the same.
        let text = status == LUA_OK ? "" : LuaConversion.errorText(L, at: -1)
        lua_settop(L, functionIndex - 1)
        lua_getfield(L, rb_registryindex(), "runbook.traceback")
        let traceback = lua_type(L, -1) == LUA_TSTRING ? LuaConversion.errorText(L, at: -1) : nil
        rb_pop(L, 1)
        lua_pushnil(L)
        lua_setfield(L, rb_registryindex(), "runbook.traceback")
        var error = LuaError.parse(stopError ?? text, kind: kind(of: status))
        error.traceback = traceback
        if let message = lastHostErrorMessage, message == text { error.hostError = lastHostError }
        if control.pointee.stop_reason == Int32(RB_STOP_FATAL) { error.hostError = fatalError }
        lastHostError = nil
        lastHostErrorMessage = nil
        throw error
    }

    /// The error a stopped script was stopped with, whatever the script made of it since
    /// (an xpcall handler's result, a coroutine's "cannot resume dead coroutine").
    private var stopError: String? {
        guard isStopped else { return nil }
        let L = thread
        defer { rb_pop(L, 1) }
        guard lua_getfield(L, rb_registryindex(), RB_STOP_ERROR) == LUA_TSTRING else { return nil }
        return LuaConversion.errorText(L, at: -1)
    }

    private func kind(of status: Int32) -> LuaError.Kind {
        switch status {
        case _ where isStopped: return stopKind
        case LUA_ERRMEM: return .memory
        case LUA_ERRERR: return .messageHandler
        default: return .runtime
        }
    }

    private var stopKind: LuaError.Kind {
        switch control.pointee.stop_reason {
        case Int32(RB_STOP_INTERRUPT): return .interrupted
        case Int32(RB_STOP_INSTRUCTIONS): return .instructionBudget
        case Int32(RB_STOP_TIME): return .timeBudget
        default: return .runtime
        }
    }

    /// Marks Swift code that pushes onto the Lua stack: allocations there must not fail
    /// (a failure would raise across the Swift frame), so the memory limit is lifted.
    func enterHost() { control.pointee.in_host += 1 }
    func leaveHost() { control.pointee.in_host -= 1 }

    /// Pops the value on top of the stack into a registry reference.
    func makeRef() -> LuaRef {
        LuaRef(state: self, ref: luaL_ref(thread, rb_registryindex()))
    }
}
