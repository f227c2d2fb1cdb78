// The Lua API as data: what the engine's modules register, read by registering them into
// a throw-away state with a doc collector attached. docs/api.md (`runbook api --markdown`),
// the Lua Language Server definitions (`runbook api --luals`) and `runbook check` all
// come from here, so none can list a function the engine does not have.

import LuaBridge
import RunbookCore
import RunbookModules

public struct APIReference: Sendable {
    public var modules: [APIModule]
    public var functions: [APIFunction]
    public var globals: [APIGlobal]
    /// Everything in registration order, for the generated page.
    package var order: [Item]

    package enum Item: Sendable {
        case module(String)
        case function(String)
        case global(String)
    }

    /// The API the engine registers today.
    public static func registered() throws -> APIReference {
        let state = try LuaState(sandbox: LuaSandbox())
        let collector = APICollector()
        state.hostData = collector
        Engine.registerModules(into: state, slot: SessionSlot())
        state.hostData = nil
        var reference = APIReference(modules: [], functions: [], globals: [], order: [])
        for entry in collector.entries {
            switch entry {
            case .module(let module):
                reference.modules.append(module)
                reference.order.append(.module(module.name))
            case .function(let function):
                reference.functions.append(function)
                reference.order.append(.function(function.name))
            case .global(let global):
                reference.globals.append(global)
                reference.order.append(.global(global.name))
            }
        }
        return reference
    }

    public func function(_ name: String) -> APIFunction? { functions.first { $0.name == name } }

    /// Names of the module tables (`fs`, `db`, `log`, ...).
    public var moduleNames: [String] {
        var names: [String] = []
        for function in functions {
            if let module = function.module, !names.contains(module) { names.append(module) }
        }
        return names
    }

    /// Every table shape, declaration classes first.
    package var classes: [APIClass] {
        var all: [APIClass] = []
        for global in globals { all += global.classes }
        for function in functions { all += function.classes }
        var seen = Set<String>()
        return all.filter { seen.insert($0.name).inserted }
    }

    /// The start of docs/api.md, before the first module.
    package static let introduction = """
        # Lua API reference

        The functions the engine registers in a runbook's Lua state. This page is generated from
        the registrations themselves (`Sources/RunbookModules/`, one Swift file per Lua
        module, each function registered with its documentation) by `runbook api --markdown`;
        a test fails when it differs from what the engine registers. Do not edit it by hand:
        change the module's registration and run `runbook api --markdown > docs/api.md`.
        Editors get the same API as Lua Language Server definitions from `runbook api --luals`
        (see [authoring.md](authoring.md#editor-support)).

        For the file format, parameters and the sandbox see [runbook-format.md](runbook-format.md);
        for dry-run, the journal and undo see [dry-run-and-undo.md](dry-run-and-undo.md).

        Conventions:

        - Arguments are checked strictly: a number is not accepted where a string is expected.
          A wrong argument raises `bad argument #N to 'NAME' (...)`, for example
          `bad argument #1 to 'fs.mkdir' (string expected, got number)`.
        - Every error raised by a function carries the runbook's file and line
          (`/tmp/docs-rb/argerr.lua:8: path '/tmp/../../etc/passwd' escapes the root`). It fails
          the run unless the runbook catches it with `pcall` — except a lock that cannot be taken,
          a journal that cannot record an effect and an interrupt, which end the run whatever
          the runbook catches ([runbook-format.md](runbook-format.md#errors-a-runbook-cannot-catch)).
        - Except `runbook`, `settings` and `template.render`, everything here (`context` included) may
          only be used while the runbook runs — inside `run`, `locks`, hooks and the functions
          they call — not at the top level of the file.
        - An *effect* function changes something. In a real run it journals its intent, applies the
          change, and prints a line with a sign (`+` create, `~` change, `-` remove, `!` cannot be
          undone). In a dry-run it records the change in the plan instead and changes nothing.
          When the world is already as asked it makes no effect, prints `= ... (already so)` and
          returns `false` (or `0`). Call effects inside a `step` (`runbook check` warns otherwise).
        - A *read* function is real in both modes; in a dry-run, `fs` reads also see the changes
          planned earlier in the run.
        - Each function below says which it is: *Effect*, *Read*, *Run* (the run's own
          vocabulary) or *Pure* (computes a value, touches nothing).
        """
}
