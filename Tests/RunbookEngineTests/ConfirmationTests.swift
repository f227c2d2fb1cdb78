// The confirmation of a real run: on a terminal it shows the plan (every effect line under
// its step, the Plan: line) and, on "y", applies exactly that plan, held to it as a
// --plan-file run is; off a terminal it is refused unless --yes or a reviewed plan says
// to go ahead. Driven through a pseudo-terminal (TerminalSupport.swift).

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Confirmation of a real run")
struct ConfirmationTests {
    /// An effect line as a run's console prints it: two blanks, the sign, the summary.
    static func isEffectLine(_ line: String) -> Bool {
        ["  + ", "  ~ ", "  - ", "  ! "].contains { line.hasPrefix($0) }
    }

    /// The lines before the question (the plan shown) and after it (the run).
    static func split(_ result: ChildResult) throws -> (shown: [String], run: [String]) {
        let lines = result.terminalLines
        let question = try #require(lines.firstIndex { $0.contains("[y/N]") }, "the question is asked\n\(result)")
        return (Array(lines[..<question]), Array(lines[(question + 1)...]))
    }

    @Test("on a terminal the question shows every planned effect under its step, and y applies exactly those")
    func yesAppliesWhatWasShown() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let result = try sandbox.runbookOnTerminal(["run", "demo", "--dir", dir, "--count", "2"], answer: "y",
                                                   environment: ["TERM": "dumb"]) {
            #expect(!Files.exists(dir), "nothing is changed while the question waits")
        }
        #expect(result.exitCode == 0, "\(result)")
        let (shown, run) = try Self.split(result)
        #expect(shown.contains("▶ Create the shared codebase") && shown.contains("▶ Create the sites"), "\(result)")
        #expect(shown.contains("  + create directory \(dir)/site_2"), "\(result)")
        #expect(shown.contains("Plan: 10 to create, 0 to change, 0 to remove, 0 cannot be undone."), "\(result)")
        let planned = shown.filter(Self.isEffectLine)
        let applied = run.filter(Self.isEffectLine)
        #expect(planned.count == 10, "\(planned)")
        #expect(applied == planned, "the run applied what the question showed\n\(result)")
        #expect(run.contains { $0.contains("held to the plan shown above (10 effects") }, "\(result)")
        #expect(run.contains("  config \(sandbox.config), root /"), "the header names the config and the root\n\(result)")
        #expect(Files.read(dir + "/site_2/config.php") == "<?php $plan = 'free';\n")
    }

    @Test("n changes nothing and says so")
    func noChangesNothing() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let result = try expectUnchanged(sandbox, "after answering n") {
            try sandbox.runbookOnTerminal(["run", "demo", "--dir", dir, "--count", "2"], answer: "n", environment: ["TERM": "dumb"]) {}
        }
        #expect(result.exitCode == 1, "\(result)")
        let (shown, run) = try Self.split(result)
        #expect(shown.filter(Self.isEffectLine).count == 10, "\(result)")
        #expect(run.contains { $0.contains("Not applied: nothing was changed") }, "\(result)")
        #expect(!run.contains(where: Self.isEffectLine), "no effect after the answer\n\(result)")
        #expect(try sandbox.history().allSatisfy { $0["status"]?.stringValue == "planned" }, "only the plan's dry-run is recorded")
    }

    @Test("a long plan shows its first 40 effects and counts the rest")
    func longPlansAreCut() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let result = try sandbox.runbookOnTerminal(["run", "demo", "--dir", dir, "--count", "30"], answer: "n",
                                                   environment: ["TERM": "dumb"]) {}
        let (shown, _) = try Self.split(result)
        let limit = 40  // limit, as docs/cli.md says
        #expect(shown.filter(Self.isEffectLine).count == limit, "\(result)")
        let planLine = try #require(shown.first { $0.hasPrefix("Plan: ") }, "\(result)")
        let total = try #require(Int(planLine.dropFirst(6).prefix { $0 != " " }), "\(planLine)")
        let planID = try #require(sandbox.runIDs().first)
        #expect(shown.contains("  … and \(total - limit) more effects (every effect: runbook log \(planID))"), "\(result)")
        #expect(!Files.exists(dir))
    }

    @Test("the world changed while the question waited: the run stops before the first differing effect")
    func worldChangedWhileAsked() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        try Files.mkdir(dir)
        var atTheQuestion: TreeFingerprint?
        let result = try sandbox.runbookOnTerminal(["run", "demo", "--dir", dir, "--count", "2"], answer: "y",
                                                   environment: ["TERM": "dumb"]) {
            // Someone makes site_2 while the operator reads the plan.
            try Files.mkdir(dir + "/site_2")
            atTheQuestion = TreeFingerprint(sandbox.tree)
        }
        #expect(result.exitCode == 1, "\(result)")
        let (_, run) = try Self.split(result)
        let stop = try #require(run.first { $0.contains("differs from the reviewed plan") }, "one line names the difference\n\(result)")
        #expect(stop.contains("planned + create directory \(dir)/site_2"), "\(stop)")
        #expect(stop.contains("now + link \(dir)/site_2/lib"), "\(stop)")
        #expect(stop.contains("run it again to see the new plan"), "\(stop)")
        #expect(!Files.exists(dir + "/site_2/lib") && !Files.exists(dir + "/site_2/config.php"),
                "nothing from the differing effect on is applied")
        // What came before it was undone (the demo says on_failure = "undo").
        expectSameTree(try #require(atTheQuestion), TreeFingerprint(sandbox.tree), "after the stopped run")
    }

    @Test("the question never shows a secret, and the run held to the shown plan still applies it")
    func secretsStayMaskedInTheQuestion() throws {
        let sandbox = try Sandbox(runbook: "secretive", Fixtures.secretive)
        let secret = "s3cr3t-Sh0wn-T0ken"
        let result = try sandbox.runbookOnTerminal(["run", "secretive", "--dir", sandbox.tree], answer: "y",
                                                   environment: ["TERM": "dumb", "RUNBOOK_ARG_TOKEN": secret]) {}
        #expect(result.exitCode == 0, "\(result)")
        #expect(!result.stdout.contains(secret), "\(result)")
        let (shown, _) = try Self.split(result)
        #expect(shown.contains("  + create directory \(sandbox.tree)/cache-\(Redactor.mask)"), "\(result)")
        #expect(Files.exists(sandbox.tree + "/cache-" + secret), "the masked identity still matched the real one")
    }

    @Test("stdout into a pipe (| tee run.log): the plan and the question go to the terminal on stderr")
    func questionOnStderrWhenStdoutIsPiped() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let log = sandbox.base + "/run.log"
        let result = try sandbox.runbookOnTerminal(["run", "demo", "--dir", dir, "--count", "1"], answer: "y",
                                                   environment: ["TERM": "dumb"], stdoutTo: log) {}
        #expect(result.exitCode == 0, "\(result)")
        let (shown, _) = try Self.split(result)
        #expect(shown.contains("  + create directory \(dir)/site_1"), "the plan is on the terminal\n\(result)")
        let written = try #require(Files.read(log))
        #expect(!written.contains("[y/N]") && !written.contains("Plan of dry-run"), "the log has the run only:\n\(written)")
        #expect(written.contains("held to the plan shown above (7 effects"), "\(written)")
        #expect(Files.exists(dir + "/site_1/lib"))
    }

    @Test("off a terminal a real run without --yes is refused before it touches anything; with --yes it is applied")
    func offATerminalNeedsYes() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        for json in [false, true] {
            let words = ["run", "demo", "--dir", dir, "--count", "1"] + (json ? ["--json"] : [])
            let refused = try sandbox.startAsTyped(words).wait(timeout: 30)
            #expect(refused.exitCode == 2, "\(refused)")
            let line = json ? (refused.events("run_finished").first?["error"]?.stringValue ?? "") : refused.stderr
            #expect(line.contains("add --yes to apply without a question") && line.contains("--plan-file FILE"), "\(refused)")
            if json {
                #expect(refused.stderr.isEmpty && refused.stdoutLines.count == 1, "--json: one event and nothing else\n\(refused)")
            } else {
                #expect(refused.stderrLines.count == 1 && refused.stdout.isEmpty, "one line\n\(refused)")
            }
        }
        // A mistake in the command line is reported first: fixing it is the next step anyway.
        let typo = try sandbox.startAsTyped(["run", "demo", "--dir", dir, "--cuont", "1"]).wait(timeout: 30)
        #expect(typo.exitCode == 2 && typo.stderrLines.count == 1, "\(typo)")
        #expect(typo.stderr.contains("--cuont") && typo.stderr.contains("runbook describe demo") && !typo.stderr.contains("--yes"),
                "\(typo)")
        #expect(sandbox.runIDs().isEmpty, "a refused run records nothing, not even a plan")
        #expect(!Files.exists(dir), "nothing was touched")

        let applied = try sandbox.startAsTyped(["run", "demo", "--dir", dir, "--count", "1", "--yes"]).wait(timeout: 30)
        #expect(applied.exitCode == 0 && !applied.stdout.contains("[y/N]"), "\(applied)")
        #expect(applied.stdoutLines.contains("  config \(sandbox.config), root /"), "\(applied)")
        #expect(Files.exists(dir + "/site_1/lib"))
        // A dry-run needs no consent.
        let planned = try sandbox.startAsTyped(["run", "demo", "--dir", dir + "2", "--dry-run"]).wait(timeout: 30)
        #expect(planned.exitCode == 0 && !Files.exists(dir + "2"), "\(planned)")
    }

    @Test("the run header names the config file in effect, also one from RUNBOOK_CONFIG, and its root")
    func headerNamesConfigAndRoot() throws {
        let sandbox = try Sandbox()
        let other = sandbox.base + "/exported.toml"
        try Files.write(other, "root = \"\(sandbox.tree)\"\n")
        // No --config: an exported RUNBOOK_CONFIG is what redirects the run.
        let result = try ChildProcess(executable: try RunbookBinary.require(),
                                      arguments: ["--state-dir", sandbox.state, "--runbooks", sandbox.runbooks,
                                                  "run", "demo", "--dir", "/demo", "--count", "1", "--dry-run"],
                                      environment: sandbox.environment(["RUNBOOK_CONFIG": other]),
                                      stdoutPath: sandbox.base + "/out/header.stdout", stderrPath: sandbox.base + "/out/header.stderr")
            .wait(timeout: 30)
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdoutLines.dropFirst().first == "  config \(other), root \(sandbox.tree)", "the second line\n\(result)")
    }
}
