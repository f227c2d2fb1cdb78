// A Lua thread of its own for one branch of `parallel`: the branch's function runs on it,
// so branches that take turns (ParallelGate.swift) never share a Lua stack. What a system
// thread must keep of the Lua state when it hands it to another — the Lua thread running
// and how deep in host code it is — is `LuaState.ExecutionState`.

import CLua

public final class LuaThread {
    let L: OpaquePointer
    /// Keeps the thread from the garbage collector while the branch needs it.
    private let anchor: LuaRef

    init(L: OpaquePointer, anchor: LuaRef) {
        self.L = L
        self.anchor = anchor
    }
}

extension LuaState {
    /// Where Lua code runs for the system thread holding the state now.
    public struct ExecutionState {
        fileprivate var running: OpaquePointer?
        fileprivate var hostDepth: Int32
    }

    public var executionState: ExecutionState {
        get { ExecutionState(running: control.pointee.running, hostDepth: control.pointee.in_host) }
        set {
            control.pointee.running = newValue.running
            control.pointee.in_host = newValue.hostDepth
        }
    }

    /// A new Lua thread (it shares the globals and inherits the hooks: budgets and stops).
    public func newThread() -> LuaThread {
        enterHost()
        defer { leaveHost() }
        let L = lua_newthread(thread)!
        return LuaThread(L: L, anchor: makeRef())
    }

    /// Calls `function` on `thread`, as `call` does on the running one.
    public func call(_ function: LuaRef, _ arguments: [LuaValue], on thread: LuaThread) throws -> [LuaValue] {
        let outer = control.pointee.running
        control.pointee.running = thread.L
        defer { control.pointee.running = outer }
        return try call(function, arguments)
    }
}
