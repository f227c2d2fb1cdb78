// Issue 8, the authors' half: the registered API as data (docs/api.md and the Lua Language
// Server definitions cannot drift from what the engine registers), `runbook new`, and
// `runbook check`'s static findings, all through the real binary where they are commands.

@testable import RunbookEngine
import LuaBridge
import RunbookConfig
import RunbookEngine
import RunbookModules
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Authoring")
struct AuthoringTests {
    static let project: String = PathName.parent(PathName.parent(PathName.parent(#filePath)))

    /// Every function a runbook's state has beyond the bare sandbox, as `name` or `module.name`,
    /// read from Lua itself.
    static func registeredInLua() throws -> Set<String> {
        let lister = """
            local out = {}
            for key, value in pairs(_G) do
              if type(value) == "function" then out[#out + 1] = key
              elseif type(value) == "table" and key ~= "_G" then
                for name, f in pairs(value) do
                  if type(f) == "function" then out[#out + 1] = key .. "." .. name end
                end
              end
            end
            return table.concat(out, "\\n")
            """
        func names(_ state: LuaState) throws -> Set<String> {
            let result = try state.run(lister, chunkName: "=lister")
            return Set((result.first?.stringValue ?? "").split(separator: "\n").map(String.init))
        }
        let engine = Engine(config: try EngineConfig.resolve(EngineOverrides()))
        let full = try names(try engine.makeState(slot: SessionSlot()))
        let bare = try names(try LuaState(sandbox: LuaSandbox()))
        return full.subtracting(bare)
    }

    @Test("every function the engine registers carries its documentation, and only those are documented")
    func everyRegisteredFunctionIsDocumented() throws {
        let reference = try APIReference.registered()
        let documented = Set(reference.functions.map(\.name))
        let registered = try AuthoringTests.registeredInLua()
        #expect(registered.count > 50, "\(registered.sorted())")
        #expect(registered.subtracting(documented).isEmpty,
                "registered without docs (pass doc: to register): \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered: \(documented.subtracting(registered).sorted())")
        for function in reference.functions {
            #expect(!function.text.isEmpty, "\(function.name) has no text")
            for param in function.params {
                #expect(!param.type.isEmpty && param.type != "any" || param.name == "..." || param.name == "default",
                        "\(function.name): parameter \(param.name) has no type")
            }
        }
    }

    @Test("the checked-in docs/api.md is exactly what `runbook api --markdown` generates")
    func apiMarkdownIsGenerated() throws {
        let checkedIn = try Posix.readText(AuthoringTests.project + "/docs/api.md")
        let sandbox = try Sandbox()
        let generated = try sandbox.runbook(["api", "--markdown"])
        #expect(generated.exitCode == 0, "\(generated)")
        #expect(generated.stdout == checkedIn, "docs/api.md is stale: run `runbook api --markdown > docs/api.md`")
        let reference = try APIReference.registered()
        for function in reference.functions {
            #expect(checkedIn.contains("### `\(function.signature)`"), "docs/api.md lacks \(function.signature)")
        }
    }

    @Test("`runbook api --luals` is valid Lua declaring every registered function with its parameters")
    func lualsDefinitions() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.runbook(["api", "--luals"])
        #expect(result.exitCode == 0, "\(result)")
        let text = result.stdout
        #expect(text.hasPrefix("---@meta"))
        // It compiles (a definition file is Lua, never run).
        _ = try LuaState(sandbox: LuaSandbox()).load(text, chunkName: "=runbook.d.lua")

        let registered = try AuthoringTests.registeredInLua()
        let reference = try APIReference.registered()
        for name in registered {
            guard let function = reference.function(name) else {
                Issue.record("\(name) is registered but not in the definitions")
                continue
            }
            let params = function.params.map(\.name).joined(separator: ", ")
            #expect(text.contains("\nfunction \(name)(\(params)) end\n"), "no declaration of \(name)(\(params))")
            for param in function.params {
                let spelled = param.name == "..." ? "..." : param.name + (param.optional ? "?" : "")
                #expect(text.contains("---@param \(spelled) \(param.type)"), "\(name): no ---@param \(spelled) \(param.type)")
            }
        }
        // Every class a type names is declared.
        for shape in reference.classes {
            #expect(text.contains("---@class \(shape.name)\n"), "no ---@class \(shape.name)")
        }
        for global in ["context", "settings"] {
            #expect(text.contains("\n\(global) = {}\n"), "no \(global)")
        }
        for module in ["fs", "db", "log", "cmd", "mount", "net", "service", "rsync", "remote", "mail", "cron", "vcs", "template"] {
            #expect(text.contains("\n\(module) = {}\n"), "no module table \(module)")
        }
    }

    @Test("`runbook new` scaffolds a runbook that passes check, with the definitions and .luarc.json; never overwrites")
    func newScaffoldsACheckedRunbook() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.base + "/authored"
        let made = try sandbox.runbook(["new", "make-folder", "--dir", dir])
        #expect(made.exitCode == 0, "\(made)")
        #expect(made.stdout.contains("created \(dir)/make-folder.lua"), "\(made)")
        let file = dir + "/make-folder.lua"
        let source = try #require(Files.read(file))
        #expect(source.contains("step(") && source.contains("summary =") && source.contains("params ="))

        let check = try sandbox.runbook(["check", file])
        #expect(check.exitCode == 0, "\(check)")
        #expect(check.stdout == "ok      \(file): make-folder, 1 parameter\n", "no errors and no warnings\n\(check)")

        let definitions = try #require(Files.read(dir + "/.runbook/runbook.d.lua"))
        #expect(definitions == (try sandbox.runbook(["api", "--luals"])).stdout, "the definitions are `runbook api --luals`")
        let luarc = try JSON.parse(try #require(Files.read(dir + "/.luarc.json")))
        #expect(luarc["runtime.version"]?.stringValue == "Lua 5.4")
        #expect(luarc["workspace.library"]?.arrayValue?.first?.stringValue == ".runbook", "\(luarc)")

        // The scaffold runs: a dry-run plans the folder, a run makes it.
        let target = sandbox.tree + "/made"
        let plan = try sandbox.runbook(["run", file, "--dir", target, "--dry-run"])
        #expect(plan.exitCode == 0 && plan.stdout.contains("+ create directory \(target)"), "\(plan)")
        let run = try sandbox.runbook(["run", file, "--dir", target])
        #expect(run.exitCode == 0 && Files.exists(target), "\(run)")

        // A second `new` refuses with one line and leaves the file alone.
        try Files.write(file, "-- edited\n" + source)
        let again = try sandbox.runbook(["new", "make-folder", "--dir", dir])
        #expect(again.exitCode == 2, "\(again)")
        #expect(again.stderr == "runbook: \(file) already exists; not overwriting it (choose another name, or remove the file)\n", "\(again)")
        #expect(Files.read(file)?.hasPrefix("-- edited\n") == true)

        let bad = try sandbox.runbook(["new", "Bad Name", "--dir", dir])
        #expect(bad.exitCode == 2 && bad.stderr.hasPrefix("runbook: 'Bad Name' is not a runbook name"), "\(bad)")
        #expect(!Files.exists(dir + "/Bad Name.lua"))
    }

    @Test("check reports unknown functions and globals, undeclared and unused arguments, effects outside steps, keep without cleanup")
    func checkFindings() throws {
        let sandbox = try Sandbox(runbook: "findings", """
            -- every finding runbook check makes
            return runbook {
              summary = "Bad on purpose",
              params = {
                dir = { type = "path", required = true },
                count = { type = "int", default = 1 },
              },
              on_failure = "keep",
              run = function(args)
                fs.mkdir(args.dir)
                local text = "fs.nothing(args.x)" -- inside a string: not code
                step("Write", function()
                  fs.wrtie(args.dir .. "/x", "y")
                  fs.write(args.dri .. "/x", "y")
                  db.query("test", "SELECT 1") -- a read: fine anywhere
                end)
                if args.dir then db.exec("test", "DELETE FROM t") end
              end,
            }
            """)
        let file = sandbox.runbooks + "/findings.lua"
        let result = try sandbox.runbook(["check", "findings"])
        #expect(result.exitCode == 1, "errors fail the check\n\(result)")
        #expect(result.stdout == """
            warning \(file):6: parameter 'count' is declared but never used (args.count)
            warning \(file):8: on_failure is "keep" and there is no cleanup(...): a failed run leaves its changes with no hook to report or repair them
            warning \(file):10: fs.mkdir makes an effect outside any step (wrap it in step("...", function() ... end))
            error   \(file):13: unknown function fs.wrtie (did you mean fs.write?)
            error   \(file):14: args.dri is used but no parameter 'dri' is declared in params (did you mean args.dir?)
            warning \(file):17: db.exec makes an effect outside any step (wrap it in step("...", function() ... end))

            """, "\(result)")

        // Warnings alone: exit 0, printed, and the ok line counts them.
        try sandbox.addRunbook("warned", """
            return runbook {
              summary = "Warned",
              params = { name = { type = "string" } },
              on_failure = "undo",
              run = function(args) step("Nothing", function() end) end,
            }
            """)
        let warned = try sandbox.runbook(["check", "warned"])
        #expect(warned.exitCode == 0, "\(warned)")
        #expect(warned.stdout.hasSuffix("ok      \(sandbox.runbooks)/warned.lua: warned, 1 parameter, 1 warning\n"), "\(warned)")

        // Passing `args` on whole: a helper may read any parameter, so none is "unused".
        try sandbox.addRunbook("passes", """
            local function work(args) return args end
            return runbook {
              summary = "Passes its arguments on",
              params = { name = { type = "string" } },
              on_failure = "undo",
              run = function(args) step("Work", function() work(args) end) end,
            }
            """)
        let passes = try sandbox.runbook(["check", "passes"])
        #expect(passes.stdout == "ok      \(sandbox.runbooks)/passes.lua: passes, 1 parameter\n", "\(passes)")

        // Calls of names that are no global and bound nowhere in the file: typos the run
        // would meet only when it gets there. Locals, parameters and methods are not flagged.
        try sandbox.addRunbook("typos", """
            local function helper(x) return x end
            return runbook {
              summary = "Typos",
              on_failure = "undo",
              run = function(args)
                stpe("Create", function() helper(1) end)
                step("Write", function() fs.write("/tmp/x", tostrng(42)) end)
                local text = string.format("%d", 1); print(text:upper(), context.run_id)
                for _, name in ipairs({}) do print(name) end
              end,
            }
            """)
        let typos = try sandbox.runbook(["check", "typos"])
        #expect(typos.exitCode == 1, "\(typos)")
        #expect(typos.stdout == """
            error   \(sandbox.runbooks)/typos.lua:6: unknown function stpe: not a global of the sandbox, nor defined in this file (did you mean step, type?)
            error   \(sandbox.runbooks)/typos.lua:7: unknown function tostrng: not a global of the sandbox, nor defined in this file (did you mean tostring?)

            """, "\(typos)")

        // A missing summary names the line of the declaration.
        try sandbox.addRunbook("nosummary", "-- no summary\nreturn runbook {\n  run = function(args) end,\n}\n")
        let nosummary = try sandbox.runbook(["check", "nosummary"])
        #expect(nosummary.exitCode == 1, "\(nosummary)")
        #expect(nosummary.stdout == "error   \(sandbox.runbooks)/nosummary.lua:2: the declaration needs a one-line `summary`\n", "\(nosummary)")
        #expect(sandbox.runIDs().isEmpty, "check runs nothing")
    }

    @Test("every shipped runbook passes check with no errors")
    func shippedRunbooksPassCheck() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.runbook(["check"], environment: ["RUNBOOK_HOME": AuthoringTests.project])
        #expect(result.exitCode == 0, "\(result)")
        let shipped = try Posix.list(AuthoringTests.project + "/runbooks").filter { $0.hasSuffix(".lua") }
        for file in shipped {
            #expect(result.stdout.contains("ok      ") && result.stdout.contains("runbooks/\(file): "), "\(file) not ok\n\(result)")
        }
        #expect(!result.stdout.contains("error"), "\(result)")
    }

    @Test("docs/authoring.md: every command of the tutorial prints what the tutorial shows")
    func authoringTutorial() throws {
        let sandbox = try Sandbox(database: true)
        let home = sandbox.base + "/home"
        try Files.mkdir(home)
        let document = try Posix.readText(AuthoringTests.project + "/docs/authoring.md")
        let blocks = DocWalkthrough.blocks(document)
        let commands = blocks.filter { $0.info == "console" }.flatMap(\.lines).filter { $0.hasPrefix("$ ") }
        #expect(commands.count >= 20, "\(commands)")
        var walk = try DocWalkthrough(home: home, database: try sandbox.db)
        try walk.walk(blocks, document: "docs/authoring.md")
        // Where the tutorial ends: the run undone, nothing left behind.
        #expect(try sandbox.db.count("notes") == 0)
        #expect(!Files.exists(home + "/notes"))
        #expect(Files.exists(home + "/runbooks/add-note.lua") && !Files.exists(home + "/runbooks/draft.lua"))
    }

    @Test("README.md's author's first five minutes print what the README shows")
    func readmeAuthorSection() throws {
        let sandbox = try Sandbox(database: true)
        let home = sandbox.base + "/home"
        try Files.mkdir(home)
        let document = try Posix.readText(AuthoringTests.project + "/README.md")
        let blocks = DocWalkthrough.blocks(document, section: "An author's first five minutes")
        #expect(blocks.contains { $0.info == "console" && $0.lines.contains("$ runbook new hello") }, "the section is there")
        var walk = try DocWalkthrough(home: home, database: try sandbox.db)
        try walk.walk(blocks, document: "README.md")
        #expect(!Files.exists(home + "/hello"), "undone")
    }
}
