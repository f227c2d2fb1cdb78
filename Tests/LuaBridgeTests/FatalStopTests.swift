// A stop the host means (stopFatally, an interrupt, a budget) cannot be caught by the
// script: pcall, xpcall and its handler, coroutine.resume and a tail-called return all give
// it back. And host functions called from a coroutine call back into Lua on its thread.

import Testing
@testable import LuaBridge

struct NoLockForYou: Error, CustomStringConvertible {
    var description: String { "lock 'x' is held by another run" }
}

@Suite struct FatalStopTests {
    /// A state with `take_lock()`, which stops the script fatally, and `touch()`, which
    /// counts the host calls that ran.
    final class Fixture {
        let state: LuaState
        var touched = 0
        init() throws {
            state = try LuaState()
            state.register("take_lock") { [unowned state] _ in
                let error = NoLockForYou()
                state.stopFatally(error)
                throw error
            }
            state.register("touch") { [unowned self] _ in
                self.touched += 1
                return 0
            }
        }
    }

    static let catchers = [
        "pcall(take_lock)",
        "pcall(pcall, take_lock)",
        "xpcall(take_lock, function(e) touch() return e end)",
        "coroutine.resume(coroutine.create(function() take_lock() end))",
        "coroutine.wrap(function() pcall(take_lock) touch() end)()",
        "pcall(coroutine.wrap(function() take_lock() end))",
        "load('return pcall(take_lock)')()",
    ]

    @Test("a fatal stop is raised again wherever the script catches it", arguments: catchers)
    func fatalStopCannotBeCaught(catcher: String) throws {
        let fixture = try Fixture()
        let error = try #require(throws: LuaError.self) {
            try fixture.state.run("\(catcher)\ntouch()\nreturn 'went on'", chunkName: "@sly.lua")
        }
        #expect(error.message == "lock 'x' is held by another run", "\(error)")
        #expect(error.chunk == "sly.lua")
        #expect(error.hostError is NoLockForYou, "the typed error comes back")
        #expect(fixture.touched == 0, "no host function ran after the stop")
    }

    @Test("a run function that returns the caught stop by a tail call still fails")
    func tailCalledPcallStillFails() throws {
        let fixture = try Fixture()
        let error = try #require(throws: LuaError.self) { try fixture.state.run("return pcall(take_lock)", chunkName: "@tail.lua") }
        #expect(error.hostError is NoLockForYou)
    }

    @Test("after clearStop the state runs again (cleanup hooks)")
    func clearStopLetsCodeRun() throws {
        let fixture = try Fixture()
        _ = try? fixture.state.run("pcall(take_lock) touch()", chunkName: "=t")
        fixture.state.clearStop()
        #expect(try fixture.state.run("touch() return pcall(error, 'ordinary', 0)", chunkName: "=t") == [false, "ordinary"])
        #expect(fixture.touched == 1)
    }

    @Test("an exhausted budget stops an endless xpcall handler")
    func budgetStopsAnEndlessHandler() throws {
        let state = try LuaState()
        state.setBudget(LuaBudget(seconds: 0.2))
        let error = try #require(throws: LuaError.self) {
            try state.run("xpcall(function() while true do end end, function() while true do end end)", chunkName: "@h.lua")
        }
        #expect(error.kind == .timeBudget)
        #expect(error.description == "h.lua:1: time budget exhausted")
    }

    @Test("an exhausted budget stops an endless __close handler of a coroutine")
    func budgetStopsAnEndlessCloseInACoroutine() throws {
        let state = try LuaState()
        state.setBudget(LuaBudget(seconds: 0.2))
        let error = try #require(throws: LuaError.self) {
            try state.run("""
                local endless = setmetatable({}, { __close = function() while true do end end })
                coroutine.wrap(function() local x <close> = endless while true do end end)()
                """, chunkName: "@c.lua")
        }
        #expect(error.kind == .timeBudget)
    }

    @Test("coroutines still yield, return and fail as in plain Lua")
    func coroutinesBehaveAsInLua() throws {
        let state = try LuaState()
        let result = try state.run("""
            local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
            local _, first = coroutine.resume(co, 1)
            local _, second = coroutine.resume(co, 5)
            local ok, problem = coroutine.resume(coroutine.create(function() error({ code = 7 }) end))
            local wrapped = pcall(coroutine.wrap(function() error("boom", 0) end))
            local bad = select(2, pcall(coroutine.create, 42))
            return first, second, coroutine.status(co), ok, problem.code, wrapped, bad
            """, chunkName: "=co")
        #expect(result == [2, 10, "dead", false, 7, false, "bad argument #1 to 'create' (function expected, got number)"])
    }

    @Test("a __gc metamethod is refused: a finalizer runs where no stop reaches it")
    func finalizersAreRefused() throws {
        let state = try LuaState()
        let error = try #require(throws: LuaError.self) {
            try state.run("setmetatable({}, { __gc = function() while true do end end })", chunkName: "@gc.lua")
        }
        #expect(error.description == "gc.lua:1: a __gc metamethod is not allowed in a runbook (a finalizer cannot be interrupted)")
        #expect(try state.run("return getmetatable(setmetatable({}, { __index = { a = 1 } })).__index.a", chunkName: "=t") == [1])
    }

    @Test("a host function called in a coroutine calls back into Lua on the coroutine's thread")
    func callbacksRunInTheCoroutine() throws {
        let state = try LuaState()
        state.register("call_twice") { [unowned state] call in
            let function = try call.function(1)
            let first = try state.call(function, [1])
            let second = try state.call(function, [2])
            try call.push(first.first ?? .nil)
            try call.push(second.first ?? .nil)
            return 2
        }
        let result = try state.run("""
            local co = coroutine.create(function(base)
              local a, b = call_twice(function(n) return base + n end)
              local more = coroutine.yield(a + b)
              return more * 10
            end)
            local _, sum = coroutine.resume(co, 100)
            local _, last = coroutine.resume(co, 7)
            return sum, last, coroutine.status(co)
            """, chunkName: "=co")
        #expect(result == [203, 70, "dead"])
    }
}
