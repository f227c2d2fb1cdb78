// Reviewed plans: `run --dry-run --save-plan FILE` writes what was reviewed; `run
// --plan-file FILE` applies it only while the world is as it was at the review, and takes
// the failure path at the first difference. (The confirmation on a terminal: ConfirmationTests.)

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Reviewed plans and confirmation")
struct ReviewedPlanTests {
    @Test("a saved plan names runbook, arguments and version, and a run held to it applies exactly it")
    func savedPlanIsApplied() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let planFile = sandbox.base + "/reviewed.json"
        let dry = try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--dry-run", "--save-plan", planFile, "--json"])
        #expect(dry.exitCode == 0, "\(dry)")
        #expect(!Files.exists(dir), "a dry-run changes nothing")
        let plan = try JSON.parse(try #require(Files.read(planFile)))
        #expect(plan["format"]?.stringValue == "runbook-plan/1")
        #expect(plan["runbook"]?.stringValue == "demo")
        #expect(plan["engine_version"]?.stringValue == RunbookVersion.current)
        #expect(plan["arguments"]?["count"]?.intValue == 2)
        #expect(plan["arguments"]?["dir"]?.stringValue == dir)
        let planned = try #require(plan["effects"]?.arrayValue)
        #expect(planned.count == dry.events("effect_planned").count && planned.count == 10, "\(planned)")
        #expect(planned.first?["identity"]?["path"]?.stringValue == dir)
        #expect(dry.events("plan_saved").first?["path"]?.stringValue == planFile)

        let real = try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--plan-file", planFile, "--json"])
        #expect(real.exitCode == 0, "\(real)")
        #expect(real.events("run_started").first?["planned_effects"]?.intValue == 10)
        let applied = real.events("effect_applied").map(ReportedEffect.init)
        #expect(applied.count == 10)
        for (plannedEffect, appliedEffect) in zip(planned.map(ReportedEffect.init), applied) {
            #expect(plannedEffect.matches(applied: appliedEffect), "planned \(plannedEffect), applied \(appliedEffect)")
        }
        #expect(Files.read(dir + "/site_2/config.php") == "<?php $plan = 'free';\n")

        // The same plan again: everything is found already done, which is no difference;
        // the run says how much of the plan it needed.
        let again = try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--plan-file", planFile, "--json"])
        #expect(again.exitCode == 0 && again.events("effect_applied").isEmpty, "\(again)")
        #expect(again.events("log").contains { $0["message"]?.stringValue?.contains("needed 0 of the 10 reviewed effects") == true },
                "\(again)")
    }

    @Test("the world changed after the review: the run stops before the first differing effect and undoes the rest")
    func worldChangedSinceReview() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let planFile = sandbox.base + "/reviewed.json"
        try Files.mkdir(dir)
        let dry = try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--dry-run", "--save-plan", planFile])
        #expect(dry.exitCode == 0, "\(dry)")
        #expect(dry.stdout.contains("Plan saved to \(planFile). To apply exactly this plan: "
                                    + "runbook run demo --dir \(dir) --count 2 --plan-file \(planFile)"), "\(dry)")
        // Someone made site_2 since the review: the run finds it there, so its next effect
        // (the lib link) is not the reviewed effect 7 (create site_2).
        try Files.mkdir(dir + "/site_2")

        // A dry-run held to the plan finds the difference without changing anything.
        let check = try expectUnchanged(sandbox, "after a dry-run held to the plan") {
            try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--plan-file", planFile, "--dry-run"])
        }
        #expect(check.exitCode == 1 && check.stderr.contains("effect 7 differs from the reviewed plan"), "\(check)")

        let real = try expectUnchanged(sandbox, "after a run stopped by the reviewed plan") {
            try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--plan-file", planFile, "--json"])
        }
        #expect(real.exitCode == 1, "\(real)")
        #expect(real.stderr.isEmpty, "--json: nothing on stderr\n\(real)")
        let error = try #require(real.events("run_finished").first?["error"]?.stringValue)
        #expect(error.contains("effect 7 differs from the reviewed plan"), "\(error)")
        #expect(error.contains("planned + create directory \(dir)/site_2"), "names what was planned: \(error)")
        #expect(error.contains("now + link \(dir)/site_2/lib"), "names what the run would have done: \(error)")
        // The six effects before it were applied, then undone (on_failure = "undo"); the
        // differing one and everything after it never happened.
        #expect(real.events("effect_applied").count == 6)
        #expect(real.events("effect_undone").count == 6)
        let id = try #require(real.runID)
        #expect(try sandbox.status(of: id) == "undone")

        // In human mode the same stop says what to type next.
        let human = try expectUnchanged(sandbox, "after the second stopped run") {
            try sandbox.runbook(["run", "demo", "--dir", dir, "--count", "2", "--plan-file", planFile])
        }
        #expect(human.exitCode == 1, "\(human)")
        #expect(human.stderr.contains("effect 7 differs from the reviewed plan"), "\(human)")
        #expect(human.stderr.contains("runbook log \(try #require(human.runID)) --failures"), "\(human)")
    }

    @Test("a plan for other arguments, another runbook or no plan at all is refused: exit 2, one line, no run")
    func mismatchedPlansAreRefused() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let planFile = sandbox.base + "/reviewed.json"
        try sandbox.addRunbook("other", """
            return runbook { summary = "other", params = { dir = { type = "path", required = true } },
              run = function(args) fs.mkdir(args.dir) end }
            """)
        try Files.write(sandbox.base + "/not-a-plan.json", "{\"hello\": 1}\n")
        #expect(try sandbox.runbook(["run", "demo", "--dir", dir, "--dry-run", "--save-plan", planFile]).exitCode == 0)
        let runsBefore = sandbox.runIDs()
        let cases: [([String], String)] = [
            (["run", "demo", "--dir", dir, "--count", "4", "--plan-file", planFile], "was made for other arguments"),
            (["run", "other", "--dir", dir, "--plan-file", planFile], "was made for runbook 'demo', not 'other'"),
            (["run", "demo", "--dir", dir, "--plan-file", sandbox.base + "/not-a-plan.json"], "is not a runbook plan"),
            (["run", "demo", "--dir", dir, "--plan-file", sandbox.base + "/missing.json"], "cannot read the plan file"),
            (["run", "demo", "--dir", dir, "--save-plan", planFile], "--save-plan \(planFile) needs --dry-run"),
        ]
        for (arguments, message) in cases {
            let result = try sandbox.runbook(arguments)
            #expect(result.exitCode == 2, "\(arguments)\n\(result)")
            #expect(result.stderrLines.count == 1 && result.stderr.contains(message), "\(arguments)\n\(result)")
            #expect(result.stdout.isEmpty, "\(result)")
        }
        #expect(sandbox.runIDs() == runsBefore, "a refused plan starts no run")
        #expect(!Files.exists(dir), "nothing was touched")
    }

    @Test("secret arguments are masked in the saved plan")
    func secretsAreMaskedInPlans() throws {
        let sandbox = try Sandbox(runbook: "secretive", Fixtures.secretive)
        let planFile = sandbox.base + "/secret-plan.json"
        let secret = "s3cr3t-Pl4n-T0ken"
        let dry = try sandbox.runbook(["run", "secretive", "--dir", sandbox.tree, "--dry-run", "--save-plan", planFile],
                                      environment: ["RUNBOOK_ARG_TOKEN": secret])
        #expect(dry.exitCode == 0, "\(dry)")
        let text = try #require(Files.read(planFile))
        #expect(!text.contains(secret), "the plan holds the secret:\n\(text)")
        #expect(try JSON.parse(text)["arguments"]?["token"]?.stringValue == Redactor.mask)
        let real = try sandbox.runbook(["run", "secretive", "--dir", sandbox.tree, "--plan-file", planFile],
                                       environment: ["RUNBOOK_ARG_TOKEN": secret])
        #expect(real.exitCode == 0, "\(real)")
        #expect(Files.read(sandbox.tree + "/marker") == "token set\n")
        #expect(Files.exists(sandbox.tree + "/cache-" + secret), "the masked identity still matched the real one")
    }

    @Test("--save-plan without --dry-run on a terminal is refused before the question, and writes no plan")
    func savePlanOnATerminalNeedsADryRun() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/demo"
        let planFile = sandbox.base + "/plan.json"
        let run = try sandbox.runbookOnTerminal(["run", "demo", "--dir", dir, "--save-plan", planFile], input: "y\n")
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.stdout.contains("needs --dry-run") && !run.stdout.contains("[y/N]"), "\(run)")
        #expect(!Files.exists(planFile), "no plan is written")
        #expect(!Files.exists(dir), "nothing was touched")
    }

    @Test("a difference met in a finally hook fails a run held to a plan")
    func aDifferenceInAFinallyHookFailsTheRun() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/late"
        let planFile = sandbox.base + "/late.json"
        try sandbox.addRunbook("late", """
            return runbook { summary = "a change in a finally hook", params = { dir = { type = "path", required = true } },
              run = function(args)
                finally(function() fs.write(args.dir .. "/DONE", "done\\n") end)
                step("Make", function() fs.mkdir(args.dir) end)
              end }
            """)
        #expect(try sandbox.runbook(["run", "late", "--dir", dir, "--dry-run", "--save-plan", planFile]).exitCode == 0)
        try Files.mkdir(dir)
        try Files.write(dir + "/DONE", "someone else's\n")   // the world changed since the review
        let run = try sandbox.runbook(["run", "late", "--dir", dir, "--plan-file", planFile])
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stderr.contains("differs from the reviewed plan"), "\(run)")
        #expect(Files.read(dir + "/DONE") == "someone else's\n", "nothing after the difference is applied")
    }
}
