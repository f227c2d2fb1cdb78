// The sandbox refuses everything outside its allow-list, and budgets stop runaway scripts.

import Testing
@testable import LuaBridge

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SandboxTests {
    func failure(_ source: String, sandbox: LuaSandbox = LuaSandbox()) throws -> LuaError {
        let state = try LuaState(sandbox: sandbox)
        return try #require(throws: LuaError.self) { try state.run(source, chunkName: "@evil.lua") }
    }

    @Test func dangerousLibrariesAreAbsent() throws {
        for source in ["os.execute('true')", "io.open('/etc/passwd')", "debug.getinfo(1)", "dofile('/etc/passwd')",
                       "loadfile('/etc/passwd')", "package.loadlib('x', 'y')", "io.popen('id')", "print('x')"] {
            let error = try failure(source)
            #expect(error.message.contains("undeclared global"), "\(source): \(error)")
        }
    }

    @Test func bytecodeIsRefused() throws {
        // string.dump is gone, so build a binary chunk by hand: the signature is enough.
        let error = try failure("string.dump(function() end)")
        #expect(error.message.contains("field 'dump'") || error.message.contains("nil value"))
        let state = try LuaState()
        let result = try state.run("return load('\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10')", chunkName: "=t")
        #expect(result.first == .nil)
        #expect(result.dropFirst().first?.stringValue?.contains("binary chunk") == true)
        // Even asking for binary mode explicitly is overridden.
        let forced = try state.run("return load('\\27Lua', 'x', 'b')", chunkName: "=t")
        #expect(forced.first == .nil)
        // And the host loader refuses it too.
        #expect(throws: LuaError.self) { try state.load("\u{1B}Lua\u{54}\u{00}", chunkName: "=bin") }
    }

    @Test func textLoadStillWorks() throws {
        let state = try LuaState()
        #expect(try state.run("return load('return 1 + 1')()", chunkName: "=t") == [2])
    }

    @Test func unknownGlobalsAreErrors() throws {
        let read = try failure("local x = undefined_thing")
        #expect(read.message == "undeclared global 'undefined_thing' (declare it with 'local')")
        #expect(read.line == 1)
        let write = try failure("\nnew_global = 1")
        #expect(write.message.contains("assignment to undeclared global 'new_global'"))
        #expect(write.line == 2)
    }

    @Test func theGlobalTableCannotBeUnlocked() throws {
        let error = try failure("setmetatable(_G, nil)")
        #expect(error.message.contains("protected metatable"))
        let state = try LuaState()
        #expect(try state.run("return getmetatable(_G)", chunkName: "=t") == [false])
        #expect(try state.run("return getmetatable('')", chunkName: "=t") == [false])
    }

    @Test func collectgarbageIsRestricted() throws {
        let error = try failure("collectgarbage('stop')")
        #expect(error.message.contains("not allowed"))
        let state = try LuaState()
        #expect(try state.run("return type(collectgarbage('count'))", chunkName: "=t") == ["number"])
    }

    @Test func allowedLibrariesWork() throws {
        let state = try LuaState()
        let result = try state.run(
            """
            local co = coroutine.wrap(function() coroutine.yield(1) end)
            return string.format('%05d', 42), table.concat({'a','b'}, ','), math.max(1, 9), utf8.len('héé'), co()
            """, chunkName: "=t")
        #expect(result == ["00042", "a,b", 9, 3, 1])
    }

    @Test func infiniteLoopIsStoppedByTheInstructionBudget() throws {
        let state = try LuaState()
        state.setBudget(LuaBudget(instructions: 5_000_000))
        let error = try #require(throws: LuaError.self) { try state.run("while true do end", chunkName: "@spin.lua") }
        #expect(error.kind == .instructionBudget)
        #expect(error.chunk == "spin.lua")
    }

    @Test func catchingTheBudgetErrorDoesNotHelp() throws {
        let state = try LuaState()
        state.setBudget(LuaBudget(seconds: 0.2))
        let error = try #require(throws: LuaError.self) {
            try state.run("while true do pcall(function() while true do end end) end", chunkName: "@sly.lua")
        }
        #expect(error.kind == .timeBudget)
        // After clearing the stop, the state is usable again (for cleanup hooks).
        state.clearStop()
        #expect(try state.run("return 'cleanup ran'", chunkName: "=t") == ["cleanup ran"])
    }

    @Test func interruptFlagStopsAScript() throws {
        let state = try LuaState()
        let handle = state.interruptHandle
        state.register("request_stop") { _ in
            handle.request()
            return 0
        }
        let error = try #require(throws: LuaError.self) {
            try state.run("request_stop()\nlocal i = 0\nwhile true do i = i + 1 end", chunkName: "@int.lua")
        }
        #expect(error.kind == .interrupted)
        #expect(error.message == "interrupted")
    }

    @Test func hugeAllocationsHitTheMemoryLimit() throws {
        let state = try LuaState(sandbox: LuaSandbox(memoryLimit: 16 << 20))
        let error = try #require(throws: LuaError.self) {
            try state.run("local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end", chunkName: "@hog.lua")
        }
        #expect(error.kind == .memory)
        #expect(try state.run("return 1", chunkName: "=t") == [1])
    }

    @Test func requireLoadsOnlyFromConfiguredDirectories() throws {
        var template = Array("/tmp/luabridge-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { _ = try? removeTree(directory) }
        mkdir(directory + "/platform", 0o755)
        try writeFile(directory + "/platform/nginx.lua", "local M = {} function M.port() return 8080 end return M")
        try writeFile(directory + "/util.lua", "return { twice = function(x) return 2 * x end }")
        let state = try LuaState(sandbox: LuaSandbox(modulePaths: [directory]))
        let result = try state.run(
            "local n = require('platform.nginx'); local u = require('util'); return n.port(), u.twice(21), require('util') == u",
            chunkName: "=t")
        #expect(result == [8080, 42, true])
        for name in ["../etc/passwd", "/etc/passwd", "platform/nginx", "missing"] {
            let error = try #require(throws: LuaError.self) { try state.run("require('\(name)')", chunkName: "@r.lua") }
            #expect(error.message.contains("not allowed") || error.message.contains("not found"), "\(name): \(error)")
        }
    }

    @Test func syntaxErrorsNameFileAndLine() throws {
        let state = try LuaState()
        let error = try #require(throws: LuaError.self) { try state.load("local x = \n\n)", chunkName: "@broken.lua") }
        #expect(error.kind == .syntax)
        #expect(error.chunk == "broken.lua")
        #expect(error.line == 3)
    }
}

func writeFile(_ path: String, _ text: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { throw LuaHostFailure("cannot write \(path)") }
    defer { close(descriptor) }
    _ = text.utf8CString.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count - 1) }
}

func removeTree(_ path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name == "." || name == ".." { continue }
                try removeTree(path + "/" + name)
            }
            closedir(dir)
        }
        rmdir(path)
    } else {
        unlink(path)
    }
}
