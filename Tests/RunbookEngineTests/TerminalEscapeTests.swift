// A customer's file names reach the operator's terminal escaped: names with OSC/CSI
// sequences, BEL, a newline, C1 controls and bidi overrides go through a real run, its
// error, `runbook log`, `undo` and `history`, and no byte a terminal acts on comes out,
// while each name stays recognisable. The journal keeps the names exactly.

@testable import RunbookEngine
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("world text is escaped for the terminal")
struct TerminalEscapeTests {
    /// Lists a customer's folder, logs and chmods every file, then fails naming the last one.
    static let hostile = """
        return runbook { summary = "touch a customer's files",
          params = { dir = { type = "path", required = true }, tag = { type = "string", default = "" } },
          run = function(args)
            local last
            step("Walk", function()
              for _, name in ipairs(fs.list(args.dir)) do
                log.info("found " .. name)
                -- A name that is not UTF-8 comes back as U+FFFD and is not found: a warning.
                local ok, err = pcall(fs.chmod, args.dir .. "/" .. name, "0600")
                if not ok then log.warn(err) end
                last = name
              end
            end)
            step("Check", function() error("cannot go on after " .. last) end)
          end }
        """

    /// Raw names in the tree, and how the console shows each as a name (an effect's summary:
    /// one line). A log message or an error keeps its lines (a traceback, a command's
    /// output), so there the newline stays and only the other controls are written out.
    static let names: [(raw: String, shown: String)] = [
        ("title\u{1B}]0;pwned\u{07}", "title\\x1b]0;pwned\\x07"),
        ("clear\u{1B}[2J", "clear\\x1b[2J"),
        ("fake\nline", "fake\\nline"),
        ("csi\u{9B}31m", "csi\\x9b31m"),
        ("bidi\u{202E}txt.php", "bidi\\u{202e}txt.php"),
        ("del\u{7F}", "del\\x7f"),
    ]

    /// What a terminal would act on in `bytes`: a C0 control but newline (and tab), DEL, a
    /// C1 control (UTF-8 C2 80..9F), or bytes that are not UTF-8. Nil when clean.
    static func unsafeByte(_ bytes: [UInt8]) -> String? {
        for (index, byte) in bytes.enumerated() {
            if (byte < 0x20 && byte != 0x0a && byte != 0x09) || byte == 0x7f {
                return "byte 0x\(String(byte, radix: 16)) at \(index)"
            }
            if byte == 0xc2, index + 1 < bytes.count, (0x80...0x9f).contains(bytes[index + 1]) {
                return "C1 control U+00\(String(bytes[index + 1], radix: 16)) at \(index)"
            }
        }
        if String(validating: bytes, as: UTF8.self) == nil { return "invalid UTF-8" }
        return nil
    }

    /// Runs `runbook ARGS` and returns what it ended with and its raw stdout and stderr.
    func raw(_ box: Sandbox, _ arguments: [String]) throws -> (result: ChildResult, out: [UInt8], err: [UInt8]) {
        let child = try box.start(arguments)
        let result = child.wait(timeout: 60)
        return (result, try Posix.readFile(child.stdoutPath), try Posix.readFile(child.stderrPath))
    }

    func expectClean(_ what: String, _ output: (result: ChildResult, out: [UInt8], err: [UInt8]),
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(TerminalEscapeTests.unsafeByte(output.out) == nil,
                "\(what) stdout: \(TerminalEscapeTests.unsafeByte(output.out) ?? "")\n\(output.result)", sourceLocation: sourceLocation)
        #expect(TerminalEscapeTests.unsafeByte(output.err) == nil,
                "\(what) stderr: \(TerminalEscapeTests.unsafeByte(output.err) ?? "")\n\(output.result)", sourceLocation: sourceLocation)
    }

    /// A sandbox with the hostile runbook, and a home holding a file under each hostile name.
    static func hostileHome() throws -> (box: Sandbox, dir: String) {
        let box = try Sandbox(runbook: "hostile", hostile)
        let dir = box.tree + "/home"
        try Files.mkdir(dir)
        for name in names { try Files.write(dir + "/" + name.raw, "x") }
        return (box, dir)
    }

    @Test("a run, its log, its undo and history over hostile file names print no terminal controls")
    func hostileNames() throws {
        let (box, dir) = try Self.hostileHome()
        // Not UTF-8 at all: the name reaches Swift as U+FFFD, never as a raw byte.
        let latin1 = dir + "/zz-caf\u{E9}"
        let latin1Bytes = Array(dir.utf8) + Array("/zz-caf".utf8) + [0xe9, 0]
        let descriptor = latin1Bytes.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        #expect(descriptor >= 0, "created \(latin1) as Latin-1")
        close(descriptor)

        let run = try raw(box, ["run", "hostile", "--dir", dir, "--tag", "tag\u{9B}2J"])
        #expect(run.result.exitCode == 1, "the runbook fails on purpose\n\(run.result)")
        expectClean("run", run)
        for name in TerminalEscapeTests.names {
            let inMessage = name.raw.contains("\n") ? name.raw : name.shown
            #expect(run.result.stdout.contains("found " + inMessage), "log line for \(name.shown)\n\(run.result)")
            #expect(run.result.stdout.contains(dir + "/" + name.shown), "effect line for \(name.shown)\n\(run.result)")
        }
        #expect(run.result.stderr.contains("cannot go on after "), "the error line\n\(run.result)")
        let id = try #require(run.result.runID)

        let log = try raw(box, ["log", id])
        #expect(log.result.exitCode == 0, "\(log.result)")
        expectClean("log", log)
        for name in TerminalEscapeTests.names {
            let inMessage = name.raw.contains("\n") ? name.raw : name.shown
            #expect(log.result.stdout.contains("found " + inMessage), "log shows \(name.shown)\n\(log.result)")
        }
        #expect(log.result.stdout.contains("✘ Check failed after"), "\(log.result)")

        // The journal, and `log --json`, keep the exact names: valid JSON that parses back to them.
        let json = try raw(box, ["log", id, "--json"])
        expectClean("log --json", json)
        let messages = json.result.stdoutLines.compactMap { try? JSON.parse($0) }.compactMap { $0["message"]?.stringValue }
        for name in TerminalEscapeTests.names {
            #expect(messages.contains("found " + name.raw), "the journal holds \(name.shown) exactly\n\(messages)")
        }

        let history = try raw(box, ["history"])
        #expect(history.result.exitCode == 0, "\(history.result)")
        expectClean("history", history)
        #expect(history.result.stdout.contains("--tag=tag\\x9b2J"), "\(history.result)")
        let historyJSON = try raw(box, ["history", "--json"])
        expectClean("history --json", historyJSON)
        #expect(try box.history().first?["arguments"]?["tag"]?.stringValue == "tag\u{9B}2J", "the record keeps the value")

        let undo = try raw(box, ["undo", id])
        #expect(undo.result.exitCode == 0, "\(undo.result)")
        expectClean("undo", undo)
        #expect(undo.result.stdout.contains("undone: ") && undo.result.stdout.contains("clear\\x1b[2J"), "\(undo.result)")
        #expect(Posix.lstatInfo(dir + "/" + TerminalEscapeTests.names[1].raw)?.mode == 0o644, "the undo found the file")
    }

    @Test("on a terminal the hostile sequences are shown, not acted on")
    func hostileNamesOnATerminal() throws {
        let (box, dir) = try Self.hostileHome()
        let run = try box.runbookOnTerminal(["run", "hostile", "--dir", dir, "--yes"], environment: ["TERM": "dumb"])
        let id = try #require(box.runIDs().last)
        let log = try box.runbookOnTerminal(["log", id], environment: ["TERM": "dumb"])
        for (what, result) in [("run", run), ("log", log)] {
            let text = result.stdout + result.stderr
            for sequence in ["\u{1B}]", "\u{1B}[2J", "\u{07}", "\u{9B}", "\u{202E}", "\u{7F}"] {
                #expect(!text.contains(sequence), "\(what) printed \(sequence.debugDescription) raw\n\(result)")
            }
            #expect(text.contains("title\\x1b]0;pwned\\x07"), "\(what)\n\(result)")
        }
    }

    @Test("TerminalText: plain text passes unchanged; controls are written out; colour codes only when allowed")
    func escaping() {
        #expect(TerminalText.escape("/usr/home/shop/ä.php") == "/usr/home/shop/ä.php")
        #expect(TerminalText.escape("a\u{1B}[2Jb\u{07}") == "a\\x1b[2Jb\\x07")
        #expect(TerminalText.escape("two\nlines\tx") == "two\\nlines\\tx")
        #expect(TerminalText.escape("two\nlines\tx", keepingLines: true) == "two\nlines\tx")
        #expect(TerminalText.escape("\u{1B}[32mdone\u{1B}[0m", allowingColour: true) == "\u{1B}[32mdone\u{1B}[0m")
        #expect(TerminalText.escape("\u{1B}[32mdone\u{1B}]0;t\u{07}", allowingColour: true) == "\u{1B}[32mdone\\x1b]0;t\\x07")
        #expect(TerminalText.escape("\u{1B}[2J", allowingColour: true) == "\\x1b[2J")
        let line = JSON.object([("message", .string("csi\u{9B}2J \u{202E}"))]).serialized
        let shown = TerminalText.jsonLine(line)
        #expect(!shown.unicodeScalars.contains("\u{9B}") && shown.contains("\\u009b") && shown.contains("\\u202e"))
        #expect((try? JSON.parse(shown)) == (try? JSON.parse(line)), "the same JSON value")
    }
}
