// Every kind of value survives Swift -> Lua -> Swift unchanged.

import Testing
@testable import LuaBridge

@Suite struct ConversionTests {
    /// Passes a value through a Lua identity function and returns what came back.
    func roundTrip(_ value: LuaValue) throws -> LuaValue {
        let state = try LuaState()
        let identity = try state.load("return ...", chunkName: "=identity")
        return try state.call(identity, [value]).first ?? .nil
    }

    @Test func scalarsRoundTrip() throws {
        let values: [LuaValue] = [
            .nil, true, false, 0, 42, .integer(Int64.min), .integer(Int64.max), 3.25, .number(-0.5),
            .number(Double.infinity), "", "plain", "ünïcødé 🚀",
        ]
        for value in values { #expect(try roundTrip(value) == value) }
    }

    @Test func integersAndFloatsStayDistinct() throws {
        let state = try LuaState()
        let results = try state.run("return 1, 1.0, 2^53, 7 // 2, 7 / 2", chunkName: "=t")
        #expect(results == [.integer(1), .number(1.0), .number(9007199254740992), .integer(3), .number(3.5)])
    }

    @Test func stringsAreBytesNotOnlyUTF8() throws {
        let binary: [UInt8] = [0, 1, 0xff, 0xfe, 0x80, 0x00, 65]
        #expect(try roundTrip(.string(binary)) == .string(binary))
        let state = try LuaState()
        let length = try state.run("return #select(1, ...)", chunkName: "=t", arguments: [.string(binary)])
        #expect(length == [.integer(7)])
    }

    @Test func nestedTablesRoundTrip() throws {
        let value: LuaValue = [
            "name": "shop",
            "sites": ["a.example.com", "b.example.com"],
            "limits": ["cpu": 2, "ratio": 0.5, "deep": ["deeper": [1, 2, [3, ["x": true]]]]],
            "empty": .table(LuaTable()),
        ]
        #expect(try roundTrip(value) == value)
    }

    @Test func mixedTablesKeepArrayAndFields() throws {
        let state = try LuaState()
        let result = try state.run("return { 'a', 'b', [4] = 'hole', x = 1, [2.5] = 'f', [true] = 'yes' }", chunkName: "=t")
        var expected = LuaTable(array: ["a", "b"])
        expected.fields = [.integer(4): "hole", "x": 1, .number(2.5): "f", .boolean(true): "yes"]
        #expect(result == [.table(expected)])
        #expect(try roundTrip(.table(expected)) == .table(expected))
    }

    @Test func cyclicTableIsRefusedNotCrashed() throws {
        let state = try LuaState()
        #expect(throws: (any Error).self) { try state.run("local t = {}; t.self = t; return t", chunkName: "=t") }
    }

    @Test func functionsBecomeCallableReferences() throws {
        let state = try LuaState()
        let result = try state.run("return function(a, b) return a + b end", chunkName: "=t")
        guard case .function(let add) = result.first else {
            Issue.record("expected a function, got \(result)")
            return
        }
        #expect(try state.call(add, [2, 40]) == [42])
    }

    @Test func globalsCanBeDeclaredByTheHost() throws {
        let state = try LuaState()
        try state.setGlobal("config", ["root": "/tmp/x", "count": 3])
        #expect(try state.run("return config.root, config.count", chunkName: "=t") == ["/tmp/x", 3])
        #expect(try state.global("config") == ["root": "/tmp/x", "count": 3])
    }
}
