// What a Lua module file declares: its sections of docs/api.md, its flat list of functions and
// the values it documents after them. One function registers any module, so a module file
// holds only what is its own; the engine's list of modules is RunbookEngine/Engine.swift.

import LuaBridge
import RunbookRun

package protocol LuaModule {
    /// Its headings and introductions in docs/api.md, shown before its functions: one for
    /// most modules (`fs: filesystem`), none for a global such as `on`.
    static var sections: [APIModule] { get }
    /// Every function, in the order docs/api.md shows them.
    static var primitives: [LuaPrimitive] { get }
    /// Values documented after its functions (`db.NULL`, `context`).
    static var globals: [LuaGlobal] { get }
}

extension LuaModule {
    package static var sections: [APIModule] { [] }
    package static var globals: [LuaGlobal] { [] }

    /// Registers the module's functions and values into `state`; a function that needs the
    /// run finds it in `slot` when it is called (a pure module needs none).
    package static func register(into state: LuaState, slot: SessionSlot = SessionSlot()) {
        state.document(modules: sections)
        state.register(primitives, slot: slot)
        for global in globals {
            state.document(global: global.doc())
            // Setting a field of a table the registration just made cannot fail.
            if let value = global.value, case let (module?, name) = LuaState.split(global.name) {
                try? state.setField(name, in: module, value)
            }
        }
    }
}

/// A value a module documents: one it sets itself (`db.NULL`), or one the engine sets when the
/// run starts (`context`, `settings`).
package struct LuaGlobal {
    /// `db.NULL`, or `context` for a global.
    package let name: String
    /// Set when the module is registered; nil when the engine sets it later.
    package let value: LuaValue?
    package let doc: () -> APIGlobal

    package init(_ name: String, type: String, value: LuaValue? = nil, doc text: String,
                 classes: @autoclosure @escaping () -> [APIClass] = []) {
        self.name = name
        self.value = value
        doc = { APIGlobal(name, type: type, doc: text, classes: classes()) }
    }
}
