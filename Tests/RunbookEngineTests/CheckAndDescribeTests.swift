// Acceptance 8 (authoring): `runbook check` reports a syntax error with file:line and
// exits non-zero; an unknown global fails with file:line (at load and at run time);
// `runbook describe NAME --json` lists the parameters.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Check and describe")
struct CheckAndDescribeTests {
    static let good = """
        return runbook {
          summary = "Installs a shop",
          doc = "Creates the shop's folders and database rows.",
          params = {
            hostname = { type = "hostname", required = true, doc = "the shop's hostname" },
            email = { type = "email", required = true, doc = "the owner's address" },
            tier = { type = "enum", values = { "free", "paid" }, default = "free", doc = "the plan" },
            sites = { type = "int", default = 1, min = 1, max = 50 },
            password = { type = "string", secret = true, doc = "the admin password" },
          },
          on_failure = "undo",
          run = function(args) end,
        }
        """

    @Test("check reports a syntax error with file and line, exits non-zero, runs nothing")
    func checkReportsSyntaxErrors() throws {
        let sandbox = try Sandbox(runbook: "good", CheckAndDescribeTests.good)
        // Line 4 lacks the comma after the summary line before it.
        try sandbox.addRunbook("broken", """
            -- a comment
            return runbook {
              summary = "Broken"
              run = function(args) fs.mkdir("\(sandbox.tree)/made") end,
            }
            """)
        let file = sandbox.runbooks + "/broken.lua"

        for target in ["broken", file] {
            let result = try sandbox.runbook(["check", target])
            #expect(result.exitCode != 0, "\(result)")
            #expect((result.stdout + result.stderr).contains("broken.lua:4:"), "the error names file:line\n\(result)")
        }
        let all = try sandbox.runbook(["check"])
        #expect(all.exitCode != 0, "one broken runbook fails the whole check\n\(all)")
        #expect(all.stdout.contains("good"), "\(all)")
        let good = try sandbox.runbook(["check", "good"])
        #expect(good.exitCode == 0, "\(good)")
        #expect(!Files.exists(sandbox.tree + "/made"))
        #expect(sandbox.runIDs().isEmpty, "check runs nothing")
    }

    @Test("an unknown global fails with file:line, when loading and when running")
    func unknownGlobalIsAnError() throws {
        let sandbox = try Sandbox(runbook: "atload", """
            local helper = requier("x")
            return runbook { summary = "typo at load", run = function(args) end }
            """)
        try sandbox.addRunbook("atrun", """
            return runbook {
              summary = "typo while running",
              run = function(args)
                step("Create", function() fs.mkdir("\(sandbox.tree)/made") end)
                step("Use a typo", function()
                  fs.write("\(sandbox.tree)/made/x", tostrng(42))
                end)
              end,
            }
            """)

        let check = try sandbox.runbook(["check", "atload"])
        #expect(check.exitCode != 0, "\(check)")
        #expect(check.stdout.contains("atload.lua:1:") && check.stdout.contains("requier"), "\(check)")

        let load = try sandbox.runbook(["run", "atload"])
        #expect(load.exitCode == 2, "a runbook that does not load is a bad invocation\n\(load)")
        #expect(load.stderr.contains("atload.lua:1:") && load.stderr.contains("requier"), "\(load)")

        let run = try sandbox.runbook(["run", "atrun"])
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stderr.contains("atrun.lua:6:") && run.stderr.contains("tostrng"), "\(run)")
        #expect(!Files.exists(sandbox.tree + "/made/x"))
    }

    @Test("every shipped runbook says where it runs: describe prints 'Runs on:', --json runs_on; a runs_on of two lines is refused")
    func describeSaysWhereEachRunbookRuns() throws {
        let sandbox = try Sandbox(runbook: "two_lines", """
            return runbook { summary = "s", runs_on = "here\\nand there", run = function() end }
            """)
        let names = try Posix.list(Repo.runbooks).filter { $0.hasSuffix(".lua") }.map { String($0.dropLast(4)) }.sorted()
        #expect(names.count >= 20)
        for name in names {
            let shown = try sandbox.runbook(["--runbooks", Repo.runbooks, "describe", name])
            #expect(shown.exitCode == 0 && shown.stdoutLines.dropFirst().first?.hasPrefix("Runs on: ") == true, "\(name): \(shown)")
            let json = try JSON.parse(try sandbox.runbook(["--runbooks", Repo.runbooks, "describe", name, "--json"]).stdout)
            #expect((json["runs_on"]?.stringValue ?? "").count > 10, "\(name) says where it runs")
            // docs/runbooks.md's table says the same.
            let row = "| [\(name)](#\(name)) | \(json["runs_on"]?.stringValue ?? "") |"
            #expect((Files.read(Repo.root + "/docs/runbooks.md") ?? "").contains(row + "\n"), "docs/runbooks.md has \(row)")
        }
        let refused = try sandbox.runbook(["describe", "two_lines"])
        #expect(refused.exitCode != 0 && refused.stderr.contains("`runs_on` must be one line of text"), "\(refused)")
    }

    @Test("describe --json lists every parameter with its type, default, limits and docs")
    func describeListsParameters() throws {
        let sandbox = try Sandbox(runbook: "install", CheckAndDescribeTests.good)
        let result = try sandbox.runbook(["describe", "install", "--json"])
        #expect(result.exitCode == 0, "\(result)")
        let description = try JSON.parse(result.stdout)
        #expect(description["name"]?.stringValue == "install")
        #expect(description["summary"]?.stringValue == "Installs a shop")
        #expect(description["on_failure"]?.stringValue == "undo")
        let params = description["params"]?.arrayValue ?? []
        func param(_ name: String) -> JSON? { params.first { $0["name"]?.stringValue == name } }
        #expect(params.count == 5, "\(result)")
        #expect(param("hostname")?["type"]?.stringValue == "hostname")
        #expect(param("hostname")?["required"]?.boolValue == true)
        #expect(param("hostname")?["doc"]?.stringValue == "the shop's hostname")
        #expect(param("email")?["type"]?.stringValue == "email")
        #expect(param("tier")?["values"] == .array([.string("free"), .string("paid")]))
        #expect(param("tier")?["default"]?.stringValue == "free")
        #expect(param("sites")?["min"]?.intValue == 1 && param("sites")?["max"]?.intValue == 50)
        #expect(param("sites")?["default"]?.intValue == 1)
        #expect(param("password")?["secret"]?.boolValue == true)
        #expect(param("password")?["required"]?.boolValue == false)

        let human = try sandbox.runbook(["describe", "install"])
        #expect(human.exitCode == 0)
        for flag in ["--hostname", "--email", "--tier", "--sites", "--password"] {
            #expect(human.stdout.contains(flag), "\(human)")
        }
        let missing = try sandbox.runbook(["describe", "nosuch", "--json"])
        #expect(missing.exitCode == 2, "\(missing)")
    }
}
