// Campaign 3 of issue 7 (docs/reliability.md): hostile input. Generated arguments for every
// declared parameter type — hostnames with ../, NUL bytes, 10 MB strings, SQL and shell
// metacharacters, Unicode confusables and controls, negative and huge numbers — are refused
// in one clean line naming the argument (exit 2, nothing created), or accepted and stored
// literally; never a trap, never a path outside --root. Then runbooks that try to leave the
// sandbox, end to end through `runbook run`: each stopped with a clear error and nothing
// done. (The Lua-level refusals are in Tests/LuaBridgeTests/SandboxTests.swift; these go
// through the engine and the command.) Inputs come from a seeded generator: a failure names
// its seed and case, RUNBOOK_RELIABILITY_SEED=N replays it.

@testable import RunbookEngine
import Foundation
import RunbookConfig
import RunbookSupport
import RunbookTestKit
import Testing

/// A small deterministic generator (SplitMix64): the same seed gives the same inputs.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Hostile argument text, built from pieces an attacker or a slip of the keyboard gives.
enum HostileInput {
    static let pieces: [String] = [
        // paths and traversal
        "../", "..", "/..", "./", "//", "/etc/passwd", "..\\..\\", "%2e%2e%2f", "~root", "/proc/self/environ",
        // NUL and controls (C0, DEL, C1 including the 8-bit CSI, line and paragraph separators)
        "\0", "\n", "\r", "\t", "\u{1b}[31m", "\u{1b}]0;title\u{07}", "\u{7f}", "\u{85}", "\u{9b}31m", "\u{2028}", "\u{2029}",
        // bidi overrides and invisible characters
        "\u{202e}", "\u{2066}", "\u{200b}", "\u{feff}", "\u{00ad}",
        // confusables: Cyrillic a and o, Kelvin sign, long s, dotted capital I, fullwidth letters and dot
        "\u{0430}", "\u{043e}", "\u{212a}", "\u{017f}", "\u{0130}", "\u{ff33}\u{ff28}\u{ff2f}\u{ff30}", "\u{ff0e}", "\u{3002}",
        // combining marks, emoji, a lone high plane character
        "e\u{0301}", "\u{1f600}", "\u{10ffff}",
        // SQL
        "' OR '1'='1", "'; DROP TABLE installs; --", "\\'", "\"", "`", "/*", "*/", "%", "_",
        // shell
        "; rm -rf /", "$(id)", "`id`", "|", "&&", ">", "<", "*", "?", "[", "{a,b}", "$HOME", "\\",
        // numbers
        "-1", "0", "-0", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e309", "-1e309", "nan",
        "inf", "0x10", "1_000", " 42 ", "\u{0664}\u{0662}", "\u{ff14}\u{ff12}", "4\u{00a0}2", "+7", "1.5", "1e-400",
        // ordinary parts, so that some values are nearly valid
        "shop", "example", "com", ".", "-", "@", ",", "a", "127.0.0.1", "::1", "::ffff:1.2.3.4", "1.2.3", "256.1.1.1",
        "xn--", "paid", "free", "true", "yes", "",
    ]

    /// One value: 1 to 6 pieces; now and then a long one.
    static func value(_ generator: inout SeededGenerator) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 1...6, using: &generator) { text += pieces.randomElement(using: &generator)! }
        switch Int.random(in: 0..<40, using: &generator) {
        case 0: text += String(repeating: "a", count: 4097)
        case 1: text = String(repeating: "a.", count: 200) + "com"
        case 2: text = String(repeating: "\u{1f600}", count: 1100)
        default: break
        }
        return text
    }

    /// Characters that would break "one line" on a terminal or let a value restyle it.
    static func breaksTheLine(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            let v = scalar.value
            return (v < 0x20 && v != 0x09) || (0x7f...0x9f).contains(v) || v == 0x2028 || v == 0x2029
                || (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v)
        }
    }
}

@Suite(.serialized) struct ReliabilityInputTests {
    static var seed: UInt64 { Posix.environment("RUNBOOK_RELIABILITY_SEED").flatMap { UInt64($0) } ?? 7 }

    /// A parameter of each declared type (and a list), as a runbook would declare them.
    static let specs: [ParameterSpec] = {
        func spec(_ name: String, _ type: ParameterType, min: Double? = nil, max: Double? = nil, values: [String] = [],
                  list: Bool = false, secret: Bool = false) -> ParameterSpec {
            ParameterSpec(name: name, type: type, required: false, defaultValue: nil, doc: "", secret: secret, min: min, max: max,
                          values: values, list: list)
        }
        return [spec("text", .string), spec("count", .int, min: -5, max: 1_000_000), spec("ratio", .number), spec("flag", .bool),
                spec("tier", .enum, values: ["free", "paid"]), spec("target", .path), spec("host", .hostname),
                spec("hosts", .hostname, list: true), spec("mail", .email), spec("address", .ip), spec("token", .string, secret: true)]
    }()

    /// What an accepted value must be: the input itself, or its one canonical form.
    static func checkAccepted(_ value: ArgumentValue, _ raw: String, _ spec: ParameterSpec) -> String? {
        func scalar(_ value: ArgumentValue, _ raw: String) -> String? {
            switch (spec.type, value) {
            case (.string, .string(let s)), (.enum, .string(let s)), (.path, .string(let s)), (.email, .string(let s)):
                // A relative path is stored as the path from the current directory.
                let expected = spec.type == .path && !raw.hasPrefix("/") ? PathName.normalize(Posix.currentDirectory + "/" + raw) ?? raw : raw
                if s != expected { return "stored '\(s)' for '\(raw)'" }
                if spec.type == .enum && !spec.values.contains(s) { return "not one of the values" }
                if spec.type == .path && (s.split(separator: "/").contains("..") || HostileInput.breaksTheLine(s)) { return "a path with .. or controls" }
                if spec.type == .email && !s.unicodeScalars.allSatisfy(\.isASCII) { return "a non-ASCII email accepted" }
                return nil
            case (.hostname, .string(let s)):
                if !raw.unicodeScalars.allSatisfy(\.isASCII) { return "a hostname typed with non-ASCII characters accepted as '\(s)'" }
                return s == raw.lowercased() && ArgumentValidator.isHostname(s) ? nil : "hostname '\(s)' for '\(raw)'"
            case (.ip, .string(let s)):
                return ArgumentValidator.normalizedIP(s) == s ? nil : "address '\(s)' is not canonical"
            case (.int, .int(let i)):
                if let min = spec.min, Double(i) < min { return "below min" }
                if let max = spec.max, Double(i) > max { return "above max" }
                // The integer the text denotes, blanks and line breaks around it ignored.
                return Int64(raw.trimmingCharacters(in: .whitespacesAndNewlines)) == i ? nil : "int \(i) for '\(raw)'"
            case (.number, .number(let d)):
                return d.isFinite ? nil : "a number that is not finite"
            case (.bool, .bool):
                return nil
            default:
                return "value \(value) of the wrong kind"
            }
        }
        if spec.list {
            guard case .list(let items) = value else { return "not a list" }
            let parts = raw.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed }
            guard parts.count == items.count else { return "list of \(items.count) for \(parts.count) parts" }
            return zip(items, parts).lazy.compactMap { scalar($0, $1) }.first
        }
        return scalar(value, raw)
    }

    /// The validator, in process, on generated values for every type: a value is refused with
    /// one clean line naming the flag (a secret never echoed), or accepted as itself.
    @Test func generatedArgumentsAreRefusedCleanlyOrStoredLiterally() throws {
        var generator = SeededGenerator(state: Self.seed)
        let perType = Reliability.full ? 20_000 : 1_500
        var tried = 0, refused = 0, accepted = 0, failures = 0
        var values: [String] = ["", String(repeating: "x", count: 10 << 20), String(repeating: "../", count: 100_000),
                                "shop.example.com", "shop.exampl\u{212a}.com", "SHOP.EXAMPLE.COM", "a@exampl\u{212a}.com"]
        for _ in 0..<perType { values.append(HostileInput.value(&generator)) }
        for spec in Self.specs {
            for raw in values {
                tried += 1
                var problem: String?
                do {
                    let value = try ArgumentValidator.validate(raw, for: spec)
                    accepted += 1
                    problem = Self.checkAccepted(value, raw, spec)
                } catch let error as RunbookError {
                    refused += 1
                    let line = error.description
                    if !line.hasPrefix("argument \(spec.flag): ") { problem = "the refusal does not name \(spec.flag): \(line)" }
                    else if HostileInput.breaksTheLine(line) { problem = "the refusal is not one clean line: \(ArgumentValidator.quoted(line))" }
                    else if line.utf8.count > 400 { problem = "the refusal is \(line.utf8.count) bytes long" }
                    else if spec.secret && raw.count >= 4 && line.contains(raw) { problem = "the refusal shows the secret" }
                }
                if let problem {
                    failures += 1
                    if failures <= 20 {
                        Issue.record("\(spec.flag) \(ArgumentValidator.quoted(raw)) (\(raw.utf8.count) bytes, seed \(Self.seed)): \(problem)")
                    }
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(tried) inputs were mishandled")
        #expect(refused > 0 && accepted > 0, "the inputs exercise both outcomes (\(refused) refused, \(accepted) accepted)")
        Reliability.report("input validator", [("types", Self.specs.count), ("inputs", tried), ("refused", refused),
                                               ("accepted", accepted), ("failures", failures)], note: "seed \(Self.seed)")
    }

    /// Pieces of a configuration file, well and badly formed.
    static let configPieces: [String] = [
        "[settings]\n", "[databases.internal]\n", "[a.b.c]\n", "[[x]]\n", "[", "]", "[settings.servers.\"d2\"]\n", "['q.k']\n",
        "key = ", "root = ", "a.b = ", "\"quoted key\" = ", "= ", "x=1\n", "\n", "# comment\n", " ", "\t", "\r",
        "\"text\"", "'literal'", "\"unterminated", "'open", "\"esc \\n \\t \\\\ \\\" \\q\"", "[1, 2, 3]", "[\n1,\n2\n]", "[[[[", "]]]]", ",",
        "true", "false", "yes", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "0x7fffffffffffffff",
        "0o777", "1_000", "1e309", "nan", "-inf", "3.14", "0x", "\u{0}", "\u{1b}[31m", "\u{9b}", "\u{2028}", "\u{202e}", "\u{212a}",
        "\u{1f600}", "../../etc/passwd", "password_file = \"/etc/shadow\"", "socket = \"\"",
    ]

    /// The configuration parser on generated files: a table, or one ParseError naming the
    /// file and a line of it, on one line; never a trap (arrays nested 100,000 deep too).
    @Test func generatedConfigurationsParseOrFailOnALine() throws {
        var generator = SeededGenerator(state: Self.seed &+ 2)
        let files = Reliability.full ? 20_000 : 2_000
        var texts = ["a = " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n",
                     "a = " + String(repeating: "[", count: 100_000) + "\n", String(repeating: "x", count: 10 << 20),
                     String(repeating: "[t]\nk = 1\n", count: 10_000)]
        for _ in 0..<files {
            var text = ""
            for _ in 0..<Int.random(in: 1...12, using: &generator) { text += Self.configPieces.randomElement(using: &generator)! }
            texts.append(text)
        }
        var parsed = 0, refused = 0, failures = 0
        for text in texts {
            // Counted in bytes: "\r\n" is one Character to Swift, but a line end to TOML.
            let lines = text.utf8.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            var problem: String?
            do {
                _ = try TOMLReader.parse(text, file: "generated.toml")
                parsed += 1
            } catch let error as TOMLReader.ParseError {
                refused += 1
                let line = error.description
                if !line.hasPrefix("generated.toml:\(error.line): ") || error.line < 1 || error.line > lines { problem = "the error's place: \(error.line) of \(lines)" }
                else if HostileInput.breaksTheLine(line) { problem = "the error is not one clean line: \(ArgumentValidator.quoted(line))" }
                else if line.utf8.count > 400 { problem = "the error is \(line.utf8.count) bytes long" }
            } catch {
                problem = "an error of another kind: \(error)"
            }
            if let problem {
                failures += 1
                if failures <= 10 { Issue.record("\(ArgumentValidator.quoted(text)) (\(text.utf8.count) bytes, seed \(Self.seed)): \(problem)") }
            }
        }
        #expect(failures == 0)
        #expect(parsed > 0 && refused > 0, "both outcomes (\(parsed) parsed, \(refused) refused)")
        Reliability.report("input config", [("files", texts.count), ("parsed", parsed), ("refused", refused), ("failures", failures)],
                           note: "seed \(Self.seed)")
    }

    static let storeRunbook = """
        -- Stores every argument it is given, and writes to the path it is given.
        local NAMES = { "text", "count", "ratio", "flag", "tier", "host", "hosts", "mail", "address" }
        return runbook {
          summary = "Stores its arguments",
          params = {
            text = { type = "string" }, count = { type = "int", min = -5, max = 1000000 }, ratio = { type = "number" },
            flag = { type = "bool" }, tier = { type = "enum", values = { "free", "paid" } }, target = { type = "path" },
            host = { type = "hostname" }, hosts = { type = "hostname", list = true }, mail = { type = "email" },
            address = { type = "ip" }, token = { type = "string", secret = true },
          },
          run = function(args)
            step("Store", function()
              for _, name in ipairs(NAMES) do
                local value = args[name]
                if type(value) == "table" then value = table.concat(value, ",") end
                if value ~= nil then fs.write("/stored/" .. name, tostring(value)) end
              end
              if args.target then fs.write(args.target, "written through --target\\n") end
            end)
          end,
        }
        """

    /// Every file below `path` but those below the folders in `skipping` (relative names).
    static func files(_ path: String, skipping: Set<String>) -> Set<String> {
        Set(Files.allFiles(path).map { String($0.dropFirst(path.count + 1)) }.filter { file in
            !skipping.contains { file == $0 || file.hasPrefix($0 + "/") }
        })
    }

    /// The same, end to end: `runbook --root TREE run store --NAME VALUE` with generated values
    /// (argv, or the environment for the secret): exit 2 with one line on stderr naming the flag
    /// and no run folder; or a run whose stored value is the input; never a signal; nothing
    /// written outside TREE.
    @Test func generatedArgumentsThroughTheCommand() throws {
        let sandbox = try Sandbox(runbook: "store", Self.storeRunbook)
        let outside = Self.files(sandbox.base, skipping: ["tree", "state", "out"])
        // A symlink inside the root that points out of it: --target through it must not land.
        try Files.mkdir(sandbox.tree + "/stored")
        _ = symlink(sandbox.base + "/outside", sandbox.tree + "/escape")
        try Files.mkdir(sandbox.base + "/outside")

        var generator = SeededGenerator(state: Self.seed &+ 1)
        let cases = Reliability.full ? 1_500 : 120
        var refused = 0, ran = 0, failedRuns = 0, failures = 0
        let names = ["text", "count", "ratio", "flag", "tier", "target", "host", "hosts", "mail", "address", "token"]
        for index in 0..<cases {
            let name = names[index % names.count]
            var raw = HostileInput.value(&generator)
            if name == "target", index % 3 == 0 { raw = ["/escape/x", "/../../etc/x", "//escape//y", "/stored/../../z"][index / 3 % 4] }
            // argv cannot hold a NUL; the kernel caps one argument at 128 KiB.
            raw = raw.replacingOccurrences(of: "\0", with: "")
            if raw.utf8.count > 100_000 { raw = String(raw.prefix(50_000)) }
            let what = "case \(index) --\(name) \(ArgumentValidator.quoted(raw)) (seed \(Self.seed))"
            var arguments = ["--root", sandbox.tree, "run", "store"]
            var environment: [String: String] = [:]
            if name == "token" { environment["RUNBOOK_ARG_TOKEN"] = raw } else { arguments += ["--" + name, raw] }
            let runsBefore = sandbox.runIDs().count
            let result = try sandbox.runbook(arguments, environment: environment)
            var problem: String?
            if result.signal != nil || result.exitCode == nil {
                problem = "ended by signal \(result.signal ?? 0)"
            } else if result.stderr.contains("Fatal error") || result.stderr.contains("Stack dump") || result.stderr.contains("stack traceback") {
                problem = "a trap or a traceback"
            } else if result.exitCode == 2 {
                refused += 1
                if result.stderrLines.count != 1 || !result.stderr.contains("--" + name) { problem = "the refusal is not one line naming --\(name)" }
                else if HostileInput.breaksTheLine(result.stderrLines[0]) { problem = "the refusal line carries control characters" }
                else if sandbox.runIDs().count != runsBefore { problem = "a refused run left a run folder" }
            } else if result.exitCode == 0 {
                ran += 1
                if name != "target", name != "token" {
                    let stored = Files.read(sandbox.tree + "/stored/" + name)
                    let expected: String?
                    switch name {
                    case "host": expected = raw.lowercased()
                    case "hosts": expected = raw.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed.lowercased() }
                        .joined(separator: ",")
                    case "text", "tier", "mail": expected = raw
                    default: expected = nil   // numbers, bools and addresses in their canonical form
                    }
                    if stored == nil || (expected != nil && stored != expected) { problem = "stored \(stored.map(ArgumentValidator.quoted) ?? "nothing")" }
                }
            } else {
                // A run that fails (exit 1): --target naming a folder, or a path escaping the
                // root through the symlink; one clear error, the run recorded.
                failedRuns += 1
                if result.stderr.isEmpty { problem = "exit \(result.exitCode ?? -1) without a word" }
            }
            let escaped = Self.files(sandbox.base, skipping: ["tree", "state", "out"]).subtracting(outside)
            if !escaped.isEmpty { problem = "files outside --root: \(escaped.sorted().prefix(3))" }
            if let problem {
                failures += 1
                if failures <= 10 { Issue.record("\(what): \(problem)\n\(result)") }
            }
            try? Posix.removeTree(sandbox.tree + "/stored")
            try Files.mkdir(sandbox.tree + "/stored")
        }
        #expect(failures == 0)
        #expect(refused > 0 && ran > 0)
        Reliability.report("input command", [("inputs", cases), ("refused", refused), ("ran", ran), ("failed_runs", failedRuns),
                                             ("failures", failures)], note: "seed \(Self.seed)")
    }

    /// Escapes a runbook might try, each with what the error must say. Each also tries to
    /// create /tmp/runbook-escaped-PID: it must not exist afterwards.
    static let escapes: [(name: String, body: String, says: String)] = [
        ("os.execute", "os.execute('touch MARK')", "os"),
        ("io.popen", "io.popen('touch MARK')", "io"),
        ("io.open", "io.open('MARK', 'w')", "io"),
        ("string.dump", "load(string.dump(function() end))()", "dump"),
        ("binary chunk", "local f, e = load('\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10'); assert(f, e)", "binary chunk"),
        ("binary mode forced", "local f, e = load('\\27Lua', 'x', 'b'); assert(f, e)", "binary"),
        ("debug", "debug.sethook(function() end, '', 1)", "debug"),
        ("package.loadlib", "package.loadlib('/lib/x86_64-linux-gnu/libc.so.6', 'system')", "package"),
        ("require outside", "require('../../../../etc/passwd')", "'../../../../etc/passwd' is not allowed"),
        ("require absolute", "require('/etc/passwd')", "'/etc/passwd' is not allowed"),
        ("dofile", "dofile('/etc/passwd')", "dofile"),
        ("setmetatable(_G)", "setmetatable(_G, nil); os = nil", "protected metatable"),
        ("string metatable", "getmetatable('').__index = { x = 1 }", "index"),
        ("rawget a hidden library", "local lib = rawget(_G, 'io') or rawget(_G, 'os') or rawget(_G, 'debug'); lib.open('MARK', 'w')",
         "nil value"),
        ("collectgarbage stop", "collectgarbage('stop')", "not allowed"),
        ("collectgarbage tuning", "collectgarbage('setpause', 1000)", "not allowed"),
        ("deep recursion", "local function f(n) return 1 + f(n + 1) end f(1)", "stack overflow"),
        ("deep coroutine nesting", "local function f() return coroutine.wrap(f)() end f()", "overflow"),
        ("huge string", "local s = string.rep('x', 1 << 40)", "too large"),
        ("huge table", "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end", "not enough memory"),
        ("a table nested 200,000 deep into a host function",
         "local t = {} local c = t for i = 1, 200000 do c[1] = {} c = c[1] end template.render('{{a}}', { a = t })", "nested more than"),
        ("a cyclic table into a host function", "local t = {} t.self = t template.render('{{a}}', t)", "a cycle"),
        ("a table shared past the conversion's limit",
         "local t = { 'x' } for i = 1, 40 do t = { t, t, t, t } end template.render('{{a}}', { a = t })", "more than 1000000 values"),
        ("a template nested 50,000 sections deep",
         "template.render(string.rep('{{#a}}', 50000) .. string.rep('{{/a}}', 50000), { a = true })", "sections nested more than 100 deep"),
        ("a NaN timeout", "cmd.run({ 'true' }, { read_only = true, timeout = 0/0 })",
         "bad argument #2 to 'cmd.run' (timeout must be a number between 0.001 and 604800 seconds, got nan)"),
        ("an infinite max_body", "http.get('http://127.0.0.1:1/', { max_body = -math.huge })", "max_body must be an integer"),
        ("error object whose __tostring fails", "error(setmetatable({}, { __tostring = function() error('nested') end }))",
         "error object"),
    ]

    /// JSON nested past the parser's limit (a journal line, a plan file) is one clear error.
    @Test func deeplyNestedJSONIsRefusedNotATrap() throws {
        for text in [String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)] {
            #expect(throws: JSON.ParseError.self) { _ = try JSON.parse(text) }
            do { _ = try JSON.parse(text) } catch { #expect("\(error)".contains("nested more than 200 levels deep"), "\(error)") }
        }
        let deepest = String(repeating: "[", count: 199) + String(repeating: "]", count: 199)
        #expect(try JSON.parse(deepest).arrayValue != nil, "199 levels are fine")
    }

    @Test func sandboxEscapesAreStoppedWithAClearError() throws {
        let sandbox = try Sandbox()
        let mark = "/tmp/runbook-escaped-\(getpid())"
        defer { try? Posix.removeTree(mark) }
        var stopped = 0
        for (index, escape) in Self.escapes.enumerated() {
            let name = "escape\(index)"
            try sandbox.addRunbook(name, """
                return runbook {
                  summary = "Tries to leave the sandbox: \(escape.name)",
                  run = function()
                    step("Escape", function()
                      \(escape.body.replacingOccurrences(of: "MARK", with: mark))
                    end)
                  end,
                }
                """)
            let started = Clock.monotonic()
            let result = try sandbox.runbook(["--root", sandbox.tree, "run", name], timeout: 120)
            let seconds = Clock.monotonic() - started
            let first = result.stderrLines.first { !$0.isEmpty } ?? ""
            #expect(result.signal == nil && result.exitCode == 1, "\(escape.name): exit 1, not a trap\n\(result)")
            // Where the error has a place, it is the runbook's line (a memory error and an
            // error object have none).
            if !["huge table", "error object whose __tostring fails"].contains(escape.name) {
                #expect(first.contains(name + ".lua:"), "\(escape.name): the error names the runbook's line\n\(result)")
            }
            #expect(result.stderr.lowercased().contains(escape.says.lowercased()), "\(escape.name): the error says '\(escape.says)'\n\(result)")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"), "\(escape.name)\n\(result)")
            #expect(!Files.exists(mark), "\(escape.name): it escaped")
            #expect(seconds < 60, "\(escape.name): stopped in \(Int(seconds)) s")
            if result.exitCode == 1 && !Files.exists(mark) { stopped += 1 }
        }
        // print and log.info show a table that deep as "table" (they used to say "nil").
        try sandbox.addRunbook("deepprint", """
            return runbook {
              summary = "Prints a deep table",
              run = function()
                step("Print", function()
                  local t = {} local c = t for i = 1, 200000 do c[1] = {} c = c[1] end
                  print("deep:", t)
                end)
              end,
            }
            """)
        let printed = try sandbox.runbook(["--root", sandbox.tree, "run", "deepprint"], timeout: 120)
        #expect(printed.exitCode == 0 && printed.stdout.contains("deep: table"), "\(printed)")
        Reliability.report("input sandbox", [("escapes", Self.escapes.count), ("stopped", stopped)])
    }
}
