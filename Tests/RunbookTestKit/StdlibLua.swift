// A sandboxed Lua state whose `require` finds the repository's stdlib/.

import LuaBridge
import Testing
import RunbookEngine

/// A sandboxed Lua state whose `require` finds the repository's stdlib/.
package final class StdlibLua {
    package let state: LuaState

    package init() throws { state = try LuaState(sandbox: LuaSandbox(modulePaths: [Repo.stdlib])) }

    /// Runs a chunk that returns one string.
    package func string(_ code: String) throws -> String {
        let result = try state.run(code, chunkName: "=test")
        guard let text = result.first?.stringValue else { throw TestSetupError("the chunk returned \(result), not a string") }
        return text
    }

    /// The error a chunk raises (nil when it does not fail).
    package func error(_ code: String) -> String? {
        do {
            _ = try state.run(code, chunkName: "=test")
            return nil
        } catch let error as LuaError {
            return error.message
        } catch {
            return "\(error)"
        }
    }
}
