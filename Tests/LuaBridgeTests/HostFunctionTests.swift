// Swift functions called from Lua: arguments, results, errors with file:line, lifetimes.

import Testing
@testable import LuaBridge

/// An error whose instances are counted, to prove thrown errors are all released.
final class CountedError: Error, CustomStringConvertible {
    nonisolated(unsafe) static var alive = 0
    init() { CountedError.alive += 1 }
    deinit { CountedError.alive -= 1 }
    var description: String { "the disk is on fire" }
}

@Suite(.serialized) struct HostFunctionTests {
    @Test func argumentsAndResults() throws {
        let state = try LuaState()
        state.register("join", in: "text") { call in
            let left = try call.string(1)
            let right = try call.string(2)
            let count = try call.optionalInteger(3) ?? 1
            call.push(String(repeating: left + right, count: Int(count)))
            return 1
        }
        #expect(try state.run("return text.join('a', 'b', 3)", chunkName: "=t") == ["ababab"])
        #expect(try state.run("return text.join('a', 'b')", chunkName: "=t") == ["ab"])
    }

    @Test func wrongArgumentReadsLikeLua() throws {
        let state = try LuaState()
        state.register("symlink", in: "fs") { call in
            _ = try call.string(1)
            _ = try call.string(2)
            return 0
        }
        let error = try #require(throws: LuaError.self) {
            try state.run("\n\nfs.symlink('/a')", chunkName: "@demo.lua")
        }
        #expect(error.message == "bad argument #2 to 'fs.symlink' (string expected, got no value)")
        #expect(error.chunk == "demo.lua")
        #expect(error.line == 3)
        #expect(error.description == "demo.lua:3: bad argument #2 to 'fs.symlink' (string expected, got no value)")
        let nilError = try #require(throws: LuaError.self) { try state.run("fs.symlink('/a', nil)", chunkName: "@demo.lua") }
        #expect(nilError.message == "bad argument #2 to 'fs.symlink' (string expected, got nil)")
        let strict = try #require(throws: LuaError.self) { try state.run("fs.symlink(1, 'b')", chunkName: "@x.lua") }
        #expect(strict.message == "bad argument #1 to 'fs.symlink' (string expected, got number)")
    }

    @Test func swiftErrorIsCatchableByPcall() throws {
        let state = try LuaState()
        state.register("explode") { _ in throw LuaHostFailure("boom") }
        let result = try state.run(
            """
            local ok, err = pcall(explode)
            return ok, err
            """, chunkName: "@catch.lua")
        #expect(result == [false, "catch.lua:1: boom"])
    }

    @Test func uncaughtSwiftErrorSurfacesWithLocationTracebackAndTheTypedError() throws {
        let state = try LuaState()
        state.register("explode") { _ in throw CountedError() }
        let error = try #require(throws: LuaError.self) {
            try state.run("local function inner()\n  explode()\nend\ninner()", chunkName: "@runbooks/demo.lua")
        }
        #expect(error.kind == .runtime)
        #expect(error.chunk == "runbooks/demo.lua")
        #expect(error.line == 2)
        #expect(error.message == "the disk is on fire")
        #expect(error.traceback?.contains("runbooks/demo.lua:4") == true)
        #expect(error.hostError is CountedError)
    }

    @Test func tenThousandErrorsLeakNothing() throws {
        let before = CountedError.alive
        do {
            let state = try LuaState()
            state.register("explode") { _ in throw CountedError() }
            let run = try state.load(
                """
                local caught = 0
                for i = 1, 10000 do
                  local ok, err = pcall(explode)
                  if not ok and err:find('disk is on fire', 1, true) then caught = caught + 1 end
                end
                return caught
                """, chunkName: "@loop.lua")
            _ = try state.run("return 1", chunkName: "=warm")
            let memoryBefore = state.memoryUsed
            #expect(try state.call(run) == [10000])
            _ = try state.run("collectgarbage('count')", chunkName: "=t")
            // Lua's own memory is back near where it started (strings are collected).
            _ = try state.run("return 1", chunkName: "=t")
            #expect(CountedError.alive - before == 0)
            #expect(state.memoryUsed < memoryBefore + 512 * 1024)
        }
        #expect(CountedError.alive == before)
    }

    @Test func registeredClosuresDoNotKeepTheStateAlive() throws {
        final class Probe {
            nonisolated(unsafe) static var freed = 0
            deinit { Probe.freed += 1 }
        }
        weak var weakState: LuaState?
        do {
            let state = try LuaState()
            weakState = state
            let probe = Probe()
            state.register("touch") { [weak state] _ in
                _ = probe
                _ = state?.memoryUsed
                return 0
            }
            _ = try state.run("touch()", chunkName: "=t")
        }
        #expect(weakState == nil)
        #expect(Probe.freed == 1)
    }

    @Test func hostFunctionsCanCallBackIntoLua() throws {
        let state = try LuaState()
        state.register("twice") { [weak state] call in
            let function = try call.function(1)
            guard let state else { return 0 }
            let first = try state.call(function, [1])
            let second = try state.call(function, [2])
            try call.push(first.first ?? .nil)
            try call.push(second.first ?? .nil)
            return 2
        }
        #expect(try state.run("return twice(function(x) return x * 10 end)", chunkName: "=t") == [10, 20])
        // An error in the nested Lua code propagates through the Swift frame as a Swift error.
        let error = try #require(throws: LuaError.self) {
            try state.run("twice(function(x) error('nested ' .. x) end)", chunkName: "@n.lua")
        }
        #expect(error.description.contains("nested 1"))
    }
}
