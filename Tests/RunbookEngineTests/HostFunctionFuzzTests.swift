// Every host function, called with hostile arguments: NaN, the infinities, huge and negative
// numbers, empty, huge and NUL-holding strings, tables nested past the limit, tables that hold
// themselves, functions. Each call returns or raises one line of Lua error; none may trap the
// process (Swift's traps are SIGILL and SIGTRAP, a stack overflow SIGSEGV). The functions come
// from the API registry, so a new one is fuzzed without touching this file. One dry-run per
// module in a child process under --root, so a trap names its module and its last call.

@testable import RunbookEngine
import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite struct HostFunctionFuzzTests {
    /// The values each argument takes in turn, built fresh in Lua for every call (a host
    /// function may keep or change a table). `OPTIONS` is every option name the API documents.
    static let pool = """
        local BIG = string.rep("a", 70000)
        local function deep(n) local t = {} local c = t for _ = 1, n do c[1] = {} c = c[1] end return t end
        local function cyclic() local t = { "x" } t.self = t t[2] = t return t end
        local function shared(n) local t = { "leaf" } for _ = 1, n do t = { t, t, t, t } end return t end
        -- Built once: it is expensive to make, and no host function changes a table it is given.
        -- (A table shared past the conversion's limit is tried once, in ReliabilityInputTests:
        -- walking to that limit takes a while, every time.)
        local DEEP = deep(50000)
        local NUMBERS = { 0/0, math.huge, -math.huge, math.maxinteger, math.mininteger, 1e308, -1e308, -1, 2^63, 0.5, -0.0 }
        local function numbered(x)
          local t = {}
          for _, name in ipairs(OPTIONS) do t[name] = x end
          t.read_only = true
          return t
        end
        local POOL = {
          function() return nil end, function() return true end, function() return false end,
          function() return 0 end, function() return 0/0 end, function() return math.huge end, function() return -math.huge end,
          function() return math.maxinteger end, function() return math.mininteger end, function() return -1e308 end,
          function() return -1 end, function() return 2^63 end, function() return 1.5 end,
          function() return "" end, function() return "x" end, function() return "x\\0y" end, function() return BIG end,
          function() return "../../../../etc/passwd" end, function() return "/" end, function() return "0755" end,
          function() return "127.0.0.1" end, function() return "http://127.0.0.1:1/" end, function() return "{{#a}}{{/a}}" end,
          function() return "nan" end, function() return "-1" end,
          function() return {} end, function() return { "x" } end, function() return { "/" } end, function() return { "", "\\0" } end,
          function() return { 0/0, math.huge } end, function() return { BIG } end,
          function() return deep(200) end, function() return DEEP end, function() return cyclic() end,
          function() return shared(3) end, function() return setmetatable({}, { __index = function() error("trap") end }) end,
          function() return function() end end, function() return function() error("from a function argument") end end,
          function() return coroutine.create(function() end) end,
        }
        for _, x in ipairs(NUMBERS) do POOL[#POOL + 1] = function() return numbered(x) end end
        for _, x in ipairs(NUMBERS) do POOL[#POOL + 1] = function() return { x, x } end end
        """

    /// Calls each function of `FUNCTIONS` ({name, arity, plausible arguments}) with one
    /// argument from the pool at a time (the others nil, then plausible: a bad number must be
    /// reached past the checks of the other arguments), and with seeded random tuples. Prints `CALL name`
    /// before a call, `BAD name: why` for an error that is not one line, `DONE n` at the end.
    static let driver = """
        local seed = SEED
        local function random(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n + 1 end
        local function lookup(name)
          local module, field = name:match("^([%w_]+)%.([%w_]+)$")
          if module then return rawget(_G, module)[field] end
          return rawget(_G, name)
        end
        local function try(name, f, args, n)
          print("CALL " .. name)
          local ok, err = pcall(f, table.unpack(args, 1, n))
          if not ok then
            if type(err) ~= "string" then print("BAD " .. name .. ": error object is a " .. type(err))
            elseif err == "" or err:find("\\n") then print("BAD " .. name .. ": not one line: " .. err:sub(1, 300):gsub("\\n", "\\\\n"))
            elseif #err > 2000 then print("BAD " .. name .. ": an error of " .. #err .. " bytes") end
          end
        end
        local calls = 0
        step("Fuzz", function()
          for _, entry in ipairs(FUNCTIONS) do
            local name, arity, plausible = entry[1], entry[2], entry[3]
            local f = lookup(name)
            if type(f) ~= "function" then print("BAD " .. name .. ": not registered") else
              for position = 1, arity do
                for _, make in ipairs(POOL) do
                  for _, filler in ipairs({ false, true }) do
                    local args = filler and plausible() or {}
                    args[position] = make()
                    try(name, f, args, arity)
                    calls = calls + 1
                  end
                end
              end
              for _ = 1, 12 do
                local args = {}
                for i = 1, arity do args[i] = POOL[random(#POOL)]() end
                try(name, f, args, arity)
                calls = calls + 1
              end
            end
          end
        end)
        print("DONE " .. calls)
        """

    /// The functions the engine registers, by module (globals under ""), with how many
    /// arguments to give each (varargs: three); and every option name of every table type.
    static func registry() throws -> (modules: [(String, [String])], options: [String]) {
        let reference = try APIReference.registered()
        var modules: [(String, [String])] = []
        for function in reference.functions where !endsTheRun.contains(function.name) {
            let module = function.module ?? ""
            var plausible: [String] = []
            for param in function.params { plausible += Array(repeating: plausibleValue(param.type), count: param.name == "..." ? 3 : 1) }
            let entry = "{ \"\(function.name)\", \(plausible.count), function() return { \(plausible.joined(separator: ", ")) } end }"
            if let index = modules.firstIndex(where: { $0.0 == module }) { modules[index].1.append(entry) }
            else { modules.append((module, [entry])) }
        }
        var options: Set<String> = []
        for function in reference.functions { for table in function.classes { for field in table.fields { options.insert(field.name) } } }
        for global in reference.globals { for table in global.classes { for field in table.fields { options.insert(field.name) } } }
        return (modules, options.sorted())
    }

    /// Functions whose refusal ends the run by design, even when it is caught (a lock not
    /// taken, runbook-format.md "Errors a runbook cannot catch"): fuzzed one call per run.
    static let endsTheRun: Set<String> = ["lock"]

    @Test func functionsThatEndTheRunRefuseHostileArgumentsInOneLine() throws {
        let sandbox = try Sandbox()
        for argument in ["\"\"", "string.rep(\"x\", 201)", "0/0", "-math.huge", "{}", "nil", "function() end", "\"a\\0b\""] {
            try sandbox.addRunbook("fuzz_lock", """
                return runbook {
                  summary = "lock with a hostile name",
                  run = function()
                    pcall(lock, \(argument))
                    fs.write("/after", "the run went on")
                  end,
                }
                """)
            let result = try sandbox.runbook(["--root", sandbox.tree, "run", "fuzz_lock"])
            #expect(result.signal == nil, "lock(\(argument)) ended by a signal\n\(result)")
            if result.exitCode != 0 {
                #expect(result.stderrLines.filter { $0.hasPrefix("run ") && $0.contains("failed") }.count == 1, "lock(\(argument))\n\(result)")
                #expect(!Files.exists(sandbox.tree + "/after"), "lock(\(argument)) was refused but the run went on")
            }
        }
    }

    /// A Lua value of the documented type that gets past the type checks: argv `{ "true" }`
    /// runs a real program, so a bad timeout reaches the process runner.
    static func plausibleValue(_ type: String) -> String {
        if type.hasSuffix("[]") { return "{ \"true\" }" }
        if type.hasPrefix("string") { return "\"x\"" }
        if type.hasPrefix("integer") || type.hasPrefix("number") { return "1" }
        if type.hasPrefix("boolean") { return "true" }
        if type.hasPrefix("fun") { return "function() end" }
        if type.hasPrefix("any") { return "\"x\"" }
        return "{}"
    }

    static func luaList(_ names: [String]) -> String { "{ " + names.map { "\"\($0)\"" }.joined(separator: ", ") + " }" }

    @Test func everyHostFunctionSurvivesHostileArguments() throws {
        let sandbox = try Sandbox()
        // Something to find under --root, so path functions get past "no such file".
        try Files.write(sandbox.tree + "/x", "{{#a}}{{/a}}\n")
        try Files.mkdir(sandbox.tree + "/d")
        let (modules, options) = try Self.registry()
        #expect(modules.count >= 10 && modules.contains { $0.0 == "cmd" }, "the registry lists the modules: \(modules.map(\.0))")
        let seed = ReliabilityInputTests.seed
        var functions = 0, calls = 0
        let started = Clock.monotonic()
        for (module, entries) in modules {
            let name = "fuzz_" + (module.isEmpty ? "globals" : module)
            let list = "{\n" + entries.joined(separator: ",\n") + "\n}"
            try sandbox.addRunbook(name, """
                local OPTIONS = \(Self.luaList(options))
                local FUNCTIONS = \(list)
                local SEED = \(seed % 1_000_000)
                \(Self.pool)
                return runbook {
                  summary = "Calls every function of \(module.isEmpty ? "the globals" : module) with hostile arguments",
                  run = function()
                \(Self.driver)
                  end,
                }
                """)
            let result = try sandbox.runbook(["--root", sandbox.tree, "run", name, "--dry-run"], timeout: 120)
            let lines = result.stdout.split(separator: "\n").map { String($0).trimmed }
            let lastCall = lines.last { $0.hasPrefix("CALL ") } ?? "before the first call"
            #expect(result.signal == nil && result.exitCode != nil,
                    "\(name) was ended by signal \(result.signal ?? 0) at \(lastCall) (seed \(seed))\n\(result.stderr.suffix(2000))")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"), "\(name): a trap at \(lastCall)")
            let done = lines.first { $0.hasPrefix("DONE ") }
            #expect(done != nil, "\(name) did not finish its calls (last: \(lastCall))\n\(result.stderr.suffix(2000))")
            for bad in lines.filter({ $0.hasPrefix("BAD ") }).prefix(10) { Issue.record("\(name): \(bad) (seed \(seed))") }
            functions += entries.count
            calls += done.flatMap { Int($0.dropFirst(5)) } ?? 0
        }
        let seconds = Clock.monotonic() - started
        Reliability.report("input host functions", [("modules", modules.count), ("functions", functions), ("calls", calls)],
                           note: "seed \(seed), \(Int(seconds)) s")
    }
}
