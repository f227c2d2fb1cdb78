// The console follows what operators expect of a command-line tool: --color auto|always|
// never, -q/--quiet (errors and the final line), -v/--verbose (log.debug and each effect's
// kind), a header row in `runbook history`, and a progress bar that stays in sight while
// lines print under a loop.

import RunbookJournal
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("Console: colour, quiet, verbose, history header, progress bar")
struct ConsoleFlagsTests {
    static let chatty = """
        return runbook { summary = "writes files and talks", params = { fail = { type = "bool", default = false } },
          run = function(args)
            step("Write", function()
              log.debug("the debug detail")
              log.info("an info line")
              fs.write("/one", "1")
              fs.write("/two", "2")
              if args.fail then error("it broke") end
            end)
          end }
        """

    @Test("--color always colours a pipe, never keeps a terminal plain; a bad value is one line, exit 2")
    func colourChoice() throws {
        let sandbox = try Sandbox(runbook: "chatty", Self.chatty)
        let options = ["--root", sandbox.tree, "run", "chatty", "--dry-run"]
        let piped = try sandbox.runbook(options + ["--color", "always"])
        #expect(piped.exitCode == 0 && piped.stdout.contains("\u{1b}[32m+"), "always: colour into a pipe\n\(piped)")
        let plain = try sandbox.runbook(options)
        #expect(plain.exitCode == 0 && !plain.stdout.contains("\u{1b}["), "auto: none into a pipe\n\(plain)")
        let never = try sandbox.runbookOnTerminal(options + ["--color", "never"], environment: ["NO_COLOR": "", "TERM": "xterm"])
        #expect(never.exitCode == 0 && !never.stdout.contains("\u{1b}["), "never: none on a terminal\n\(never)")
        let auto = try sandbox.runbookOnTerminal(options + ["--color", "auto"], environment: ["NO_COLOR": "", "TERM": "xterm"])
        #expect(auto.exitCode == 0 && auto.stdout.contains("\u{1b}[32m+"), "auto: colour on a terminal\n\(auto)")
        let bad = try sandbox.runbook(options + ["--color", "sometimes"])
        #expect(bad.exitCode == 2 && bad.stderrLines.count == 1 && bad.stderr.contains("--color must be auto, always or never"),
                "\(bad)")
        #expect(sandbox.runIDs().count == 4, "a bad --color starts no run")
    }

    @Test("-q prints errors and the final line only; -v adds log.debug and each effect's kind; undo takes both")
    func quietAndVerbose() throws {
        let sandbox = try Sandbox(runbook: "chatty", Self.chatty)
        let base = ["--root", sandbox.tree, "run", "chatty"]
        let normal = try sandbox.runbook(base + ["--dry-run"])
        #expect(normal.stdout.contains("an info line") && !normal.stdout.contains("the debug detail"), "\(normal)")
        let verbose = try sandbox.runbook(base + ["--dry-run", "-v"])
        #expect(verbose.stdout.contains("debug: the debug detail") && verbose.stdout.contains("+ write /one (1 bytes)  [fs.write]"),
                "\(verbose)")

        let quiet = try sandbox.runbook(base + ["-q"])
        #expect(quiet.exitCode == 0, "\(quiet)")
        #expect(quiet.stdoutLines.count == 1 && quiet.stdout.hasPrefix("done in "), "only the final line\n\(quiet)")
        #expect(Files.read(sandbox.tree + "/two") == "2", "a quiet run still does everything")

        let failing = try sandbox.runbook(base + ["--quiet", "--fail"])
        #expect(failing.exitCode == 1, "\(failing)")
        #expect(!failing.stdout.contains("an info line") && !failing.stdout.contains("+ write"), "\(failing)")
        #expect(failing.stdout.contains("✘ Write") && failing.stderr.contains("it broke"), "errors still show\n\(failing)")

        let both = try sandbox.runbook(base + ["-q", "-v"])
        #expect(both.exitCode == 2 && both.stderr.contains("do not go together"), "\(both)")

        let id = try #require(quiet.stdout.split(separator: " ").last.map { String($0.dropLast(2)) })
        let undo = try sandbox.runbook(["undo", id, "-q"])
        #expect(undo.exitCode == 0 && undo.stdoutLines == ["undone: 2 effects reversed"], "\(undo)")
    }

    @Test("runbook history has a header row over its columns")
    func historyHeader() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.runbook(["run", "demo", "--dir", sandbox.tree + "/d", "--count", "1"])
        let history = try sandbox.runbook(["history"])
        let lines = history.stdoutLines
        #expect(lines.count == 2, "\(history)")
        let header = try #require(lines.first)
        #expect(header.hasPrefix("RUN ") && header.contains("STATUS") && header.contains("ARGUMENTS"), "\(history)")
        // Each title stands over its column.
        let row = lines[1]
        for (title, value) in [("STATUS", "succeeded"), ("RUNBOOK", "demo"), ("BY", "@")] {
            let column = try #require(header.range(of: title)).lowerBound.utf16Offset(in: header)
            let start = try #require(row.range(of: value)).lowerBound.utf16Offset(in: row)
            #expect(title == "BY" ? row.utf16.count > column : column == start, "\(title) over its column\n\(history)")
        }
        #expect(row.hasPrefix(try #require(run.runID)))
        let none = try sandbox.runbook(["history", "--runbook", "nonesuch"])
        #expect(none.stdoutLines.count == 1 && !none.stdout.contains("STATUS"), "no header over no rows\n\(none)")
    }

    @Test("the bar of a running loop is drawn again under each line printed; the finished bar stays above the step's end")
    func barStaysVisible() throws {
        let sandbox = try Sandbox(runbook: "loop", """
            return runbook { summary = "a loop that writes", params = { n = { type = "int", default = 6 } },
              run = function(args)
                step("Write them", function()
                  for i = 1, args.n do
                    local x = 0
                    for j = 1, 3000000 do x = x + j % 7 end
                    fs.write("/f" .. i .. "a", tostring(x))
                    fs.write("/f" .. i .. "b", tostring(x))
                    progress(i, args.n)
                  end
                end)
              end }
            """)
        let result = try sandbox.runbookOnTerminal(["--root", sandbox.tree, "run", "loop", "--yes"], environment: ["TERM": "xterm"])
        #expect(result.exitCode == 0, "\(result)")
        // What the terminal shows at the end: a line is cleared by ESC[2K and rewritten after CR.
        let screen = ConsoleFlagsTests.screen(result.stdout)
        let finished = try #require(screen.firstIndex { $0.hasPrefix("✔ Write them") }, "\(screen)")
        #expect(finished > 0 && screen[finished - 1].contains("6/6") && screen[finished - 1].contains("in 0:"),
                "the finished bar stays above the step's end\n\(screen.joined(separator: "\n"))")
        // While the loop ran, each effect line was followed by the bar again (in the same
        // write), also between two effects with no progress call between them.
        // Split by scalars: on a terminal "\r\n" is one Character, which "\n" does not split.
        let segments = result.stdout.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        let effectLines = segments.indices.filter { segments[$0].contains("+ write /f") && segments[$0].contains("a (")
                                                      && !segments[$0].contains("/f1a") }
        #expect(effectLines.count == 5, "\(result)")
        for index in effectLines {
            #expect(segments[index + 1].contains("█") || segments[index + 1].contains("░"),
                    "the bar is drawn again after \(segments[index])")
        }
        let never = try sandbox.runbookOnTerminal(["--root", sandbox.tree, "run", "loop", "--yes", "--n", "2"],
                                                   environment: ["TERM": "dumb"])
        #expect(never.exitCode == 0 && !never.stdout.contains("█"), "TERM=dumb: no bar\n\(never)")
    }

    /// The lines a terminal shows after `output`: CR moves to the line's start (what follows
    /// overwrites), ESC[2K clears the line, LF goes to the next (the only controls a run
    /// writes besides colour).
    static func screen(_ output: String) -> [String] {
        var lines: [String] = []
        var current: [Unicode.Scalar] = []
        var column = 0
        var rest = Substring(output).unicodeScalars
        while let next = rest.first {
            if rest.starts(with: "\u{1b}[2K".unicodeScalars) {
                current = Array(repeating: " ", count: column)
                rest = rest.dropFirst(4)
                continue
            }
            rest = rest.dropFirst()
            switch next {
            case "\n":
                lines.append(String(String.UnicodeScalarView(current)))
                current = []
                column = 0
            case "\r": column = 0
            default:
                if column < current.count { current[column] = next } else { current.append(next) }
                column += 1
            }
        }
        if !current.isEmpty { lines.append(String(String.UnicodeScalarView(current))) }
        return lines
    }
}
