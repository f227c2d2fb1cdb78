// Found by the reliability campaign (docs/reliability.md, SIGTERM after every effect): an
// interrupt requested while a host function runs must stop the script as that function
// returns. The count hook alone let up to 1,000 more instructions run, enough for a
// runbook's remaining effects: a SIGTERM'd install could apply them and end "succeeded".

import Testing
@testable import LuaBridge

@Suite struct InterruptPromptnessTests {
    /// How many times `effect()` ran.
    final class Counter: @unchecked Sendable { var count = 0 }

    /// A state with `request_stop()` (asks for an interrupt, as SIGTERM does) and `effect()`.
    static func stateCountingEffects() throws -> (LuaState, Counter) {
        let state = try LuaState()
        let handle = state.interruptHandle
        let effects = Counter()
        state.register("request_stop") { _ in
            handle.request()
            return 0
        }
        state.register("effect") { _ in
            effects.count += 1
            return 0
        }
        return (state, effects)
    }

    @Test func noHostFunctionRunsAfterAnInterruptIsRequested() throws {
        let (state, effects) = try Self.stateCountingEffects()
        let error = try #require(throws: LuaError.self) {
            try state.run("request_stop()\neffect()\neffect()\nreturn 'finished'", chunkName: "@int.lua")
        }
        #expect(error.kind == .interrupted)
        #expect(error.message == "interrupted")
        #expect(effects.count == 0, "a host function ran after the interrupt was requested")
    }

    @Test func pcallCannotSwallowAnInterruptRaisedAsAHostFunctionReturns() throws {
        let (state, effects) = try Self.stateCountingEffects()
        let error = try #require(throws: LuaError.self) {
            try state.run("for i = 1, 3 do pcall(request_stop) end\npcall(effect)\neffect()", chunkName: "@int.lua")
        }
        #expect(error.kind == .interrupted)
        #expect(effects.count == 0)
        // Cleanup code may run once the stop is cleared.
        state.clearStop()
        _ = try state.run("effect()", chunkName: "=cleanup")
        #expect(effects.count == 1)
    }
}
