// Colour on a terminal follows the conventions operators expect: NO_COLOR set to something
// turns it off (an empty NO_COLOR does not: no-color.org), TERM=dumb turns it off, and a
// terminal otherwise gets it.

@testable import RunbookEngine
import RunbookTestKit
import Testing

@Suite("Terminal colour")
struct TerminalColourTests {
    @Test("colour on a terminal unless NO_COLOR is non-empty or TERM is dumb")
    func colourFollowsTheConventions() throws {
        let sandbox = try Sandbox(runbook: "hello", """
            return runbook { summary = "Writes a file", run = function() step("Write", function() fs.write("/hello", "hi") end) end }
            """)
        func escapes(_ environment: [String: String]) throws -> Bool {
            let result = try sandbox.runbookOnTerminal(["--root", sandbox.tree, "run", "hello", "--dry-run"], environment: environment)
            #expect(result.exitCode == 0, "\(result)")
            return result.stdout.contains("\u{1b}[")
        }
        #expect(try escapes(["NO_COLOR": "", "TERM": "xterm"]), "an empty NO_COLOR keeps colour")
        #expect(try !escapes(["NO_COLOR": "1", "TERM": "xterm"]), "NO_COLOR=1: no colour")
        #expect(try !escapes(["NO_COLOR": "", "TERM": "dumb"]), "TERM=dumb: no colour")
    }
}
