// The examples of README.md's operator section, docs/cli.md and docs/runbook-format.md are
// run for real, in order, and print what the documents show (DocWalkthrough: `console`
// blocks; `...` stands for lines left out). Scratch paths the documents name under /tmp
// are put in the test's own directory; cli.md's test runbooks and configuration files
// (/tmp/docs-rb, /tmp/docs-cfg) come from Fixtures/. What needs a terminal (the
// confirmation question) is run on a pseudo-terminal and compared the same way.

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
              folders: [String] = [], prepare: (_ home: String) throws -> Void = { _ in }) throws -> (Sandbox, String, Int) {
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
        // A runbook under the current directory is shown by its relative path.
        walk.outputAliases += scratch.map { (shown: $0 + "/", real: "scratch" + $0 + "/") }
        for path in scratch { try Posix.makeDirectories(PathName.parent(home + "/scratch" + path), mode: 0o755) }
        try prepare(home)
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

    /// The test runbooks and configuration files cli.md's examples name (`/tmp/docs-rb`, `/tmp/docs-cfg`).
    static let fixtures = project + "/Tests/RunbookEngineTests/Fixtures"

    /// Copies the fixture folder `name` to `directory`.
    static func copyFixtures(_ name: String, to directory: String) throws {
        try Files.mkdir(directory)
        for file in try Posix.list(fixtures + "/" + name) where file.hasSuffix(".lua") || file.hasSuffix(".toml") {
            try Files.write(directory + "/" + file, try Posix.readText(fixtures + "/" + name + "/" + file))
        }
    }

    @Test("docs/cli.md: its console examples print what the page shows")
    func cliExamples() throws {
        let scratch = ["/tmp/five", "/tmp/docs-tree", "/tmp/docs-json", "/tmp/docs-rb", "/tmp/docs-cfg"]
        let (sandbox, home, commands) = try walk("docs/cli.md", scratch: scratch) { home in
            try Self.copyFixtures("docs-rb", to: home + "/scratch/tmp/docs-rb")
            try Self.copyFixtures("docs-cfg", to: home + "/scratch/tmp/docs-cfg")
            // `runbook check draft` checks authoring.md's draft, which its reader saved in ./runbooks.
            let authoring = try Posix.readText(Self.project + "/docs/authoring.md")
            let draft = try #require(DocWalkthrough.blocks(authoring).first { $0.info == "lua file=runbooks/draft.lua" })
            try Files.mkdir(home + "/runbooks")
            try Files.write(home + "/runbooks/draft.lua", draft.lines.joined(separator: "\n") + "\n")
        }
        defer { withExtendedLifetime(sandbox) {} }
        #expect(commands >= 20, "the page's console examples are run")
        #expect(Files.exists(home + "/scratch/tmp/docs-tree/site_4/config.php"))
        #expect(!Files.exists(home + "/scratch/tmp/five/tree"), "the refused run touched nothing")
        #expect(Files.exists(home + "/scratch/tmp/docs-tree/site_1/lib"), "the failed rotate_config was undone")
        #expect(!Files.exists(home + "/scratch/tmp/docs-tree/site_1/config.php.old"), "the failed rotate_config was undone")
    }

    @Test("docs/cli.md: the confirmation on a terminal shows every effect, asks, and applies what it showed")
    func cliTerminalConfirmation() throws {
        let sandbox = try Sandbox()
        let five = sandbox.base + "/docs-five"
        let document = try Posix.readText(Self.project + "/docs/cli.md")
        let block = try #require(DocWalkthrough.blocks(document, section: "`runbook run`")
            .first { $0.lines.first == "$ runbook run demo --dir /tmp/docs-five --count 2" })
        let result = try sandbox.runbookOnTerminal(["run", "demo", "--dir", five, "--count", "2"], answer: "y",
                                                   environment: ["TERM": "xterm"]) {}
        #expect(result.exitCode == 0, "\(result)")
        #expect(Files.exists(five + "/site_2/config.php"), "the answer y applied the plan")
        var screen = ConsoleFlagsTests.screen(result.stdout).joined(separator: "\n").replacingAll(five, with: "/tmp/docs-five")
        // The page's reader has no configuration file; the sandbox gives one.
        screen = screen.replacingAll("config \(sandbox.config)", with: "config none (built-in defaults)")
        let expected = block.lines.dropFirst().joined(separator: "\n")
        for (shown, real) in zip(DocWalkthrough.runIDs(in: expected), DocWalkthrough.runIDs(in: screen)) {
            screen = screen.replacingAll(real, with: shown)
        }
        while screen.hasSuffix("\n") { screen.removeLast() }
        #expect(DocWalkthrough.matches(DocWalkthrough.normalize(screen), DocWalkthrough.normalize(expected)), """
            docs/cli.md:\(block.line): the terminal showed something else than the page.
            --- the page
            \(expected)
            --- the terminal
            \(screen)
            """)
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
