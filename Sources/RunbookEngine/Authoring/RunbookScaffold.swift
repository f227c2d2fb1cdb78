// `runbook new NAME`: a runbook that passes `runbook check` — one argument, one step, a
// summary and a comment per part — plus what an editor needs to complete and type-check
// it: the Lua Language Server definitions and a .luarc.json pointing at them.

public enum RunbookScaffold {
    /// Where the definitions go, relative to the runbooks directory.
    public static let definitionsPath = ".runbook/runbook.d.lua"

    public static func runbook(named name: String) -> String {
        """
        -- \(name): what this runbook does, in the words of the operations guide.
        -- Check it:  runbook check \(name)
        -- Plan it:   runbook run \(name) --dir /tmp/\(name)-test --dry-run
        -- The Lua API: docs/api.md, and \(definitionsPath) for your editor.
        return runbook {
          -- One line, shown by `runbook list` and `runbook describe`.
          summary = "Create a folder (replace with what \(name) does)",

          -- Longer help for `runbook describe \(name)`.
          doc = [[
            Creates DIR. Replace this with the procedure the runbook carries out.
          ]],

          -- The arguments: `--dir DIR` on the command line, `args.dir` in `run`.
          -- Types: string, int, number, bool, enum, path, hostname, email, ip.
          params = {
            dir = { type = "path", required = true, doc = "the folder to create" },
          },

          -- If a step fails, reverse every change made so far. ("keep" leaves them: then
          -- register a cleanup hook that says what to repair.)
          on_failure = "undo",

          -- The work: one step per step of the procedure. Every change goes through fs.*,
          -- db.* and the other modules, so a dry-run shows it and undo reverses it.
          run = function(args)
            step("Create the folder", function()
              fs.mkdir(args.dir)
            end)
          end,
        }

        """
    }

    /// The Lua language server's settings: Lua 5.4, the libraries the sandbox refuses
    /// switched off, the definitions and the stdlib directories as libraries.
    public static func luarc(stdlibDirs: [String]) -> String {
        let library = ([".runbook"] + stdlibDirs).map { directory -> String in
            var text = ""
            JSON.writeString(directory, to: &text)
            return text
        }.joined(separator: ", ")
        return """
            {
              "runtime.version": "Lua 5.4",
              "runtime.builtin": { "io": "disable", "os": "disable", "debug": "disable", "package": "disable" },
              "workspace.library": [\(library)],
              "workspace.checkThirdParty": false
            }

            """
    }
}
