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
