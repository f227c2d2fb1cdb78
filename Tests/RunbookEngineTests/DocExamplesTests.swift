// The examples of README.md's operator section, docs/cli.md and docs/runbook-format.md are
// run for real, in order, and print what the documents show (DocWalkthrough: `console`
// blocks; `...` stands for lines left out). Scratch paths the documents name under /tmp
// are put in the test's own directory.

import RunbookJournal
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("The documents' examples")
struct DocExamplesTests {
    static let project: String = PathName.parent(PathName.parent(PathName.parent(#filePath)))

    /// Walks `document` (or its `section`) in a new sandbox; gives back the sandbox (kept
    /// until the caller is done with it), the walk's home and the number of commands run.
    func walk(_ document: String, section: String? = nil, inProject: Bool = false, scratch: [String],
              folders: [String] = []) throws -> (Sandbox, String, Int) {
        let sandbox = try Sandbox(database: true)
        let home = sandbox.base + "/home"
        try Files.mkdir(home)
        for folder in folders { try Files.mkdir(home + "/" + folder) }
        let text = try Posix.readText(Self.project + "/" + document)
        let blocks = DocWalkthrough.blocks(text, section: section)
        var walk = try DocWalkthrough(home: home, database: try sandbox.db)
        if inProject { walk.workingDirectory = Self.project }
        walk.aliases = scratch.map { ($0, home + "/scratch" + $0) }
        walk.outputAliases = [(shown: "runbooks/", real: Self.project + "/runbooks/")]
        for path in scratch { try Posix.makeDirectories(PathName.parent(home + "/scratch" + path), mode: 0o755) }
        try walk.walk(blocks, document: document)
        let commands = blocks.filter { $0.info == "console" }.flatMap(\.lines).filter { $0.hasPrefix("$ ") }.count
        return (sandbox, home, commands)
    }

    @Test("README.md: an operator's first five minutes, verbatim")
    func readmeOperatorSection() throws {
        let (sandbox, home, commands) = try walk("README.md", section: "An operator's first five minutes", inProject: true,
                                                 scratch: ["/tmp/five"])
        defer { withExtendedLifetime(sandbox) {} }
        #expect(commands >= 7, "the section's commands are run")
        #expect(Files.exists(home + "/scratch/tmp/five/plan.json"), "the reviewed plan was saved")
        #expect(!Files.exists(home + "/scratch/tmp/five/tree/shared"), "the run held to the plan was undone")
    }

    @Test("docs/cli.md: its console examples print what the page shows")
    func cliExamples() throws {
        let (sandbox, home, commands) = try walk("docs/cli.md", scratch: ["/tmp/five", "/tmp/docs-tree", "/tmp/docs-json"])
        defer { withExtendedLifetime(sandbox) {} }
        #expect(commands >= 8, "the page's console examples are run")
        #expect(Files.exists(home + "/scratch/tmp/docs-tree/site_4/config.php"))
        #expect(!Files.exists(home + "/scratch/tmp/five/tree"), "the refused run touched nothing")
    }

    @Test("docs/runbook-format.md: the argument errors and the reserved names print what the page shows")
    func runbookFormatExamples() throws {
        let (sandbox, _, commands) = try walk("docs/runbook-format.md", scratch: [], folders: ["runbooks"])
        defer { withExtendedLifetime(sandbox) {} }
        #expect(commands >= 7, "the page's console examples are run")
    }

    @Test("README.md: the question on a terminal, the plan applied, and the finished bar above the step's end")
    func readmeTerminalRun() throws {
        let sandbox = try Sandbox()
        let five = sandbox.base + "/five"
        try Posix.makeDirectories(five + "/tree", mode: 0o755)
        let document = try Posix.readText(Self.project + "/README.md")
        let block = try #require(DocWalkthrough.blocks(document, section: "An operator's first five minutes")
            .first { $0.lines.first == "$ runbook run demo --dir /tmp/five/tree --count 3" })
        let result = try sandbox.runbookOnTerminal(["run", "demo", "--dir", five + "/tree", "--count", "3"], answer: "y",
                                                   environment: ["TERM": "xterm"]) {}
        #expect(result.exitCode == 0, "\(result)")
        #expect(Files.exists(five + "/tree/site_3/config.php"))
        var screen = ConsoleFlagsTests.screen(result.stdout).joined(separator: "\n").replacingAll(five, with: "/tmp/five")
        // The README's reader has no configuration file; the sandbox gives one.
        screen = screen.replacingAll("config \(sandbox.config)", with: "config none (built-in defaults)")
        let expected = block.lines.dropFirst().joined(separator: "\n")
        for (shown, real) in zip(DocWalkthrough.runIDs(in: expected), DocWalkthrough.runIDs(in: screen)) {
            screen = screen.replacingAll(real, with: shown)
        }
        func normalized(_ text: String) -> String {
            DocWalkthrough.normalize(text).replacing(try! Regex("  ([0-9.]+/s|[0-9]+/min|fast)  "), with: "  RATE  ")
        }
        while screen.hasSuffix("\n") { screen.removeLast() }
        #expect(DocWalkthrough.matches(normalized(screen), normalized(expected)), """
            README.md:\(block.line): the terminal showed something else than the README.
            --- the README
            \(expected)
            --- the terminal
            \(screen)
            """)
    }
}
