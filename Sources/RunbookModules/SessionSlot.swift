// Where primitives find the current run: empty while a runbook is only being loaded or
// checked, so effects there are refused.

import LuaBridge
import RunbookRun

public final class SessionSlot {
    public var session: RunSession?
    public init() {}

    package func require(_ primitive: String) throws -> RunSession {
        guard let session else {
            throw LuaHostFailure("\(primitive) may only be called while the runbook runs (inside run = function ...)")
        }
        return session
    }
}

/// Reads a file mode given as an octal string ("0755") or a number (already octal-valued,
/// e.g. tonumber("755", 8)). Lua has no octal literals: 0755 in Lua is decimal 755.
package func fileMode(_ value: LuaValue, call: LuaCall, position: Int32) throws -> UInt32? {
    switch value {
    case .nil: return nil
    case .string:
        let text = value.stringValue ?? ""
        guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
            throw call.argumentError(position, "mode '\(text)' is not an octal mode like \"0755\"")
        }
        return mode
    case .integer(let number):
        guard number >= 0 && number <= 0o7777 else { throw call.argumentError(position, "mode \(number) is out of range (use a string like \"0755\")") }
        return UInt32(number)
    default:
        throw call.argumentError(position, "mode must be a string like \"0755\"")
    }
}
