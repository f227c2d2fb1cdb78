// A Lua value kept alive in the registry (a function, mostly) so Swift can call it later.

import CLua

/// A reference to a Lua value held in the registry. It does not keep the state alive;
/// once the state is closed the reference is dead and pushing it pushes nil.
public final class LuaRef: Hashable {
    weak var state: LuaState?
    let ref: Int32

    init(state: LuaState, ref: Int32) {
        self.state = state
        self.ref = ref
    }

    deinit {
        if let state, !state.isClosed { luaL_unref(state.thread, rb_registryindex(), ref) }
    }

    func push(_ L: OpaquePointer) {
        if let state, !state.isClosed {
            lua_rawgeti(L, rb_registryindex(), lua_Integer(ref))
        } else {
            lua_pushnil(L)
        }
    }

    public static func == (lhs: LuaRef, rhs: LuaRef) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
