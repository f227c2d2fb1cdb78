// The sandbox: an allow-list of libraries and globals, text-only loading, strict globals
// and a `require` confined to configured directories.

import CLua

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a new state is sandboxed.
public struct LuaSandbox: Sendable {
    /// Directories `require` may load modules from (`name.sub` -> `dir/name/sub.lua`).
    public var modulePaths: [String]
    /// Bytes of memory scripts may hold; 0 for no limit.
    public var memoryLimit: Int
    /// Refuse reading or assigning globals that were not declared by the host.
    public var strictGlobals: Bool

    public init(modulePaths: [String] = [], memoryLimit: Int = 512 << 20, strictGlobals: Bool = true) {
        self.modulePaths = modulePaths
        self.memoryLimit = memoryLimit
        self.strictGlobals = strictGlobals
    }

    /// Base-library globals that stay; everything else the base library defines is removed
    /// (dofile, loadfile, print, warn ...); the bootstrap narrows `collectgarbage` and `load`.
    static let allowedBaseGlobals: Set<String> = [
        "_G", "_VERSION", "assert", "collectgarbage", "error", "getmetatable", "ipairs", "load", "next", "pairs", "pcall",
        "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type",
        "xpcall",
    ]

    func install(on state: LuaState) throws {
        let L = state.L
        state.enterHost()
        openLibraries(L)
        state.leaveHost()
        let paths = modulePaths
        let finder = state.function(named: "require") { call in
            let name = try call.string(1)
            let module = try ModuleFinder(paths: paths).find(name)
            call.push(module.source)
            call.push("@" + module.displayPath)
            return 2
        }
        // Does nothing itself: once the script is stopped, the trampoline raises the stop's
        // error instead of calling any host function (shim.h, rb_trampoline).
        let raiseStop = state.function(named: "raise_stop") { _ in 0 }
        try state.run(Self.bootstrap, chunkName: Self.bootstrapChunk,
                      arguments: [.function(finder), .boolean(strictGlobals), .function(raiseStop)])
    }

    private func openLibraries(_ L: OpaquePointer) {
        let libraries: [(String, lua_CFunction)] = [
            ("_G", luaopen_base), ("string", luaopen_string), ("table", luaopen_table),
            ("math", luaopen_math), ("utf8", luaopen_utf8), ("coroutine", luaopen_coroutine),
        ]
        for (name, open) in libraries {
            luaL_requiref(L, name, open, 1)
            rb_pop(L, 1)
        }
        // Remove every base global that is not on the allow-list.
        rb_pushglobaltable(L)
        var remove: [String] = []
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, lua_type(L, -1) == LUA_TFUNCTION || lua_type(L, -1) == LUA_TSTRING {
                let key = LuaConversion.string(L, at: -2)
                let isLibrary = ["string", "table", "math", "utf8", "coroutine"].contains(key)
                if !isLibrary && !Self.allowedBaseGlobals.contains(key) { remove.append(key) }
            }
            rb_pop(L, 1)
        }
        for key in remove {
            lua_pushstring(L, key)
            lua_pushnil(L)
            lua_rawset(L, -3)
        }
        // string.dump would hand out bytecode.
        lua_getfield(L, -1, "string")
        lua_pushnil(L)
        lua_setfield(L, -2, "dump")
        rb_pop(L, 2)
    }

    /// The chunk name of the code below (error locations skip its frames).
    static let bootstrapChunk = "=sandbox"

    /// Runs once per state with the module finder and the strictness flag. Everything it
    /// keeps is in upvalues, so scripts cannot reach the raw `load` or the finder.
    static let bootstrap = """
        local find_module, strict, raise_stop = ...
        local rawload, error, type, pcall, setmetatable, tostring = load, error, type, pcall, setmetatable, tostring
        local rawget = rawget
        local G = _G

        -- A stopped script (interrupted, out of budget, or a failure the host ends the run
        -- on) must not go on by catching the stop's error: every way to catch an error
        -- raises it again as it returns, through raise_stop.
        local function settle(...)
          raise_stop()
          return ...
        end
        local function safe_pcall(f, ...)
          return settle(pcall(f, ...))
        end

        -- The handler runs once the stack has unwound, from here: Lua runs an xpcall handler
        -- with hooks off when the error came from one (an interrupt), where an endless
        -- handler could not be stopped. Without the debug library a handler cannot see the
        -- difference. Like xpcall, the handler's first result is the error value.
        local function handle(handler, ok, ...)
          raise_stop()
          if ok then return ok, ... end
          local _, value = pcall(handler, (...))
          raise_stop()
          return false, value
        end
        local function safe_xpcall(f, handler, ...)
          if type(handler) ~= "function" then
            error("bad argument #2 to 'xpcall' (function expected, got " .. type(handler) .. ")", 2)
          end
          return handle(handler, pcall(f, ...))
        end

        local rawresume, rawclose = coroutine.resume, coroutine.close
        local function safe_resume(co, ...) return settle(rawresume(co, ...)) end
        local function safe_close(co) return settle(rawclose(co)) end

        -- A coroutine's body runs inside a pcall of its own: a stop raised in a coroutine
        -- leaves its thread with hooks off unless a pcall there catches it first, and the
        -- __close handlers that run when it is closed could then never be stopped.
        local rawcreate, rawwrap = coroutine.create, coroutine.wrap
        local function rethrow(ok, ...)
          if ok then return ... end
          error((...), 0)
        end
        local function guarded(f, name)
          if type(f) ~= "function" then
            error("bad argument #1 to '" .. name .. "' (function expected, got " .. type(f) .. ")", 3)
          end
          return function(...) return rethrow(pcall(f, ...)) end
        end
        local function safe_create(f) return rawcreate(guarded(f, "create")) end
        local function safe_wrap(f) return rawwrap(guarded(f, "wrap")) end

        -- Finalizers run with hooks off: an endless __gc could not be interrupted.
        local rawsetmetatable = setmetatable
        local function safe_setmetatable(t, mt)
          if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
            error("a __gc metamethod is not allowed in a runbook (a finalizer cannot be interrupted)", 2)
          end
          -- Not a tail call: setmetatable's own errors name the script's line, not this one.
          local ok, result = pcall(rawsetmetatable, t, mt)
          if not ok then error(result, 2) end
          return result
        end

        -- Text chunks only: a bytecode string is refused by the loader.
        local function load(chunk, name, mode, env)
          if env ~= nil then return rawload(chunk, name, "t", env) end
          return rawload(chunk, name, "t")
        end

        local loaded, loading = {}, {}
        local function require(name)
          if type(name) ~= "string" then
            error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 2)
          end
          local cached = loaded[name]
          if cached ~= nil then return cached end
          if loading[name] then error("module '" .. name .. "' requires itself", 2) end
          local source, chunkname = find_module(name)
          local chunk, err = rawload(source, chunkname, "t")
          if not chunk then error(err, 0) end
          loading[name] = true
          local ok, result = pcall(chunk, name)
          loading[name] = nil
          if not ok then error(result, 0) end
          if result == nil then result = true end
          loaded[name] = result
          return result
        end

        -- Only the memory count: collection control would let a script fight the limits.
        local rawcollect = collectgarbage
        local function collectgarbage(option)
          if option == nil or option == "count" then return rawcollect("count") end
          error("collectgarbage('" .. tostring(option) .. "') is not allowed in a runbook", 2)
        end

        rawset(G, "load", load)
        rawset(G, "require", require)
        rawset(G, "pcall", safe_pcall)
        rawset(G, "xpcall", safe_xpcall)
        rawset(G, "setmetatable", safe_setmetatable)
        coroutine.resume, coroutine.close = safe_resume, safe_close
        coroutine.create, coroutine.wrap = safe_create, safe_wrap
        rawset(G, "collectgarbage", collectgarbage)
        getmetatable("").__metatable = false

        if strict then
          setmetatable(G, {
            __index = function(_, key)
              error("undeclared global '" .. tostring(key) .. "' (declare it with 'local')", 2)
            end,
            __newindex = function(_, key)
              error("assignment to undeclared global '" .. tostring(key) .. "' (declare it with 'local')", 2)
            end,
            __metatable = false,
          })
        end
        """
}

/// Resolves `require` names to files under the allowed directories only.
struct ModuleFinder {
    let paths: [String]

    struct Module {
        var source: String
        var displayPath: String
    }

    func find(_ name: String) throws -> Module {
        guard Self.isValid(name) else {
            throw LuaHostFailure("module name '\(name)' is not allowed (use names like 'platform.nginx', no paths)")
        }
        let relative = name.split(separator: ".").joined(separator: "/") + ".lua"
        for directory in paths {
            let path = directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
            if let bytes = readWholeFile(path) {
                return Module(source: String(decoding: bytes, as: UTF8.self), displayPath: path)
            }
        }
        let searched = paths.isEmpty ? "(no module directories are configured)" : paths.joined(separator: ", ")
        throw LuaHostFailure("module '\(name)' not found in \(searched)")
    }

    static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200 else { return false }
        for part in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard let first = part.utf8.first, !(48...57).contains(first) else { return false }
            for byte in part.utf8 {
                let ok = (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                if !ok { return false }
            }
        }
        return true
    }
}

/// Reads a regular file whole; nil when it is missing or not a regular file.
func readWholeFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    var result: [UInt8] = []
    result.reserveCapacity(Int(info.st_size))
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        result.append(contentsOf: buffer[0..<count])
    }
    return result
}
