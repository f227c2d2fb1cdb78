// Acceptance 5: bad arguments touch nothing. Each bad invocation exits 2 with one line on
// stderr naming the argument, creates no run folder in the state dir and no file.

@testable import RunbookEngine
import RunbookTestKit
import Testing

struct BadInvocation: CustomTestStringConvertible, Sendable {
    var label: String
    var arguments: [String]
    /// What the one stderr line must name.
    var names: String
    var environment: [String: String] = [:]
    var testDescription: String { label }
}

let argumentsRunbook = """
    return runbook {
      summary = "Creates a site from typed arguments",
      params = {
        dir      = { type = "path", required = true, doc = "where to create it" },
        hostname = { type = "hostname", required = true, doc = "the shop's hostname" },
        email    = { type = "email", default = "ops@example.com" },
        ip       = { type = "ip", default = "127.0.0.1" },
        count    = { type = "int", default = 1, min = 1, max = 10 },
        tier     = { type = "enum", values = { "free", "paid" }, default = "free" },
        ssl      = { type = "bool", default = false },
        token    = { type = "string", secret = true },
      },
      run = function(args)
        step("Create", function()
          fs.mkdir(args.dir .. "/site")
          fs.write(args.dir .. "/site/hostname", args.hostname .. "\\n")
        end)
      end,
    }
    """

@Suite("Argument validation")
struct ArgumentTests {
    static let good = ["--hostname", "shop.example.com"]

    static let badInvocations: [BadInvocation] = [
        BadInvocation(label: "int: wrong type", arguments: good + ["--count", "three"], names: "--count"),
        BadInvocation(label: "int: out of range (high)", arguments: good + ["--count", "11"], names: "--count"),
        BadInvocation(label: "int: out of range (low)", arguments: good + ["--count", "0"], names: "--count"),
        BadInvocation(label: "unknown argument", arguments: good + ["--colour", "blue"], names: "--colour"),
        BadInvocation(label: "misspelt argument", arguments: ["--hostnme", "shop.example.com"], names: "--hostnme"),
        BadInvocation(label: "missing required", arguments: [], names: "--hostname"),
        BadInvocation(label: "bad enum", arguments: good + ["--tier", "gold"], names: "--tier"),
        BadInvocation(label: "bad bool", arguments: good + ["--ssl", "maybe"], names: "--ssl"),
        BadInvocation(label: "bad hostname", arguments: ["--hostname", "shop..example.com"], names: "--hostname"),
        BadInvocation(label: "hostname with a space", arguments: ["--hostname", "shop example.com"], names: "--hostname"),
        BadInvocation(label: "bad email", arguments: good + ["--email", "ops.example.com"], names: "--email"),
        BadInvocation(label: "bad ip", arguments: good + ["--ip", "300.1.2.3"], names: "--ip"),
        BadInvocation(label: "path with ..", arguments: good + ["--dir", "/tmp/../etc"], names: "--dir"),
        BadInvocation(label: "value missing", arguments: good + ["--count"], names: "--count"),
        BadInvocation(label: "given twice", arguments: good + ["--tier", "free", "--tier", "paid"], names: "--tier"),
        BadInvocation(label: "bad value from the environment", arguments: good, names: "--count",
                      environment: ["RUNBOOK_ARG_COUNT": "many"]),
        BadInvocation(label: "secret on the command line", arguments: good + ["--token", "s3cr3t-on-argv"], names: "--token"),
    ]

    @Test("a bad invocation exits 2, names the argument in one line, touches nothing", arguments: badInvocations)
    func badArgumentsTouchNothing(_ bad: BadInvocation) throws {
        let sandbox = try Sandbox(runbook: "site", argumentsRunbook)
        let target = sandbox.tree + "/target"
        // Every case but "missing --dir" gets a valid --dir, so only the bad argument is wrong.
        let dir = bad.arguments.contains("--dir") ? [] : ["--dir", target]

        let result = try expectUnchanged(sandbox, bad.label) {
            try sandbox.runbook(["run", "site"] + dir + bad.arguments, environment: bad.environment)
        }
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderrLines.count == 1, "one line on stderr\n\(result)")
        #expect(result.stderr.contains(bad.names), "stderr names \(bad.names)\n\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(sandbox.runIDs().isEmpty, "no run folder was created: \(sandbox.runIDs())")
        if bad.label.hasPrefix("secret") { #expect(!result.stderr.contains("s3cr3t-on-argv")) }
    }

    @Test("the same runbook with good arguments does run (the cases above fail for their argument)")
    func goodArgumentsRun() throws {
        let sandbox = try Sandbox(runbook: "site", argumentsRunbook)
        let result = try sandbox.runbook(["run", "site", "--dir", sandbox.tree + "/target", "--count", "10", "--tier", "paid",
                                          "--ssl", "--email", "a@b.example", "--ip", "::1"] + ArgumentTests.good,
                                         environment: ["RUNBOOK_ARG_TOKEN": "from-the-environment"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(Files.read(sandbox.tree + "/target/site/hostname") == "shop.example.com\n")
        #expect(sandbox.runIDs().count == 1)
    }

    @Test("--json: a bad invocation is one run_finished event with exit 2, and touches nothing")
    func badArgumentsWithJSON() throws {
        let sandbox = try Sandbox(runbook: "site", argumentsRunbook)
        let result = try sandbox.runbook(["run", "site", "--dir", sandbox.tree + "/x", "--json", "--hostname", "-bad-"])
        #expect(result.exitCode == 2, "\(result)")
        let events = result.events
        #expect(events.count == 1 && events.first?["event"]?.stringValue == "run_finished", "\(result)")
        #expect(events.first?["error"]?.stringValue?.contains("--hostname") == true, "\(result)")
        #expect(sandbox.runIDs().isEmpty)
        #expect(!Files.exists(sandbox.tree + "/x"))
    }

    @Test("a relative path argument is the path from the current directory, resolved before the run starts")
    func relativePathsAreResolved() throws {
        let sandbox = try Sandbox(runbook: "site", argumentsRunbook)
        try Files.mkdir(sandbox.tree + "/here")
        // `cd TREE/here && runbook run site --dir sites ...`
        let child = try ChildProcess(executable: "/bin/sh",
                                     arguments: ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", sandbox.tree + "/here",
                                                 try RunbookBinary.require()] + sandbox.engineOptions
                                         + scripted(["run", "site", "--dir", "sites", "--hostname", "shop.example.com"]),
                                     environment: sandbox.environment([:]), stdoutPath: sandbox.base + "/out/rel.stdout",
                                     stderrPath: sandbox.base + "/out/rel.stderr")
        let result = child.wait(timeout: 30)
        #expect(result.exitCode == 0, "\(result)")
        #expect(Files.exists(sandbox.tree + "/here/sites"), "the relative --dir is under the current directory\n\(result)")
    }

    @Test("an unknown runbook is a bad invocation too")
    func unknownRunbook() throws {
        let sandbox = try Sandbox(runbook: "site", argumentsRunbook)
        let result = try sandbox.runbook(["run", "sitee", "--dir", sandbox.tree])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("did you mean site"), "\(result)")
        #expect(sandbox.runIDs().isEmpty)
    }
}
