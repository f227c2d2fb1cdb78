// `runbook new NAME`: a runbook that passes `runbook check` — one argument, one step, a
// summary and a comment per part — plus what an editor needs to complete and type-check
// it: the Lua Language Server definitions and a .luarc.json pointing at them.

import RunbookConfig
import RunbookSupport

public enum RunbookScaffold {
    /// Where the definitions go, relative to the runbooks directory.
    public static let definitionsPath = ".runbook/runbook.d.lua"

    /// Writes DIRECTORY/NAME.lua (never over an existing file), the definitions (always:
    /// they are generated) and .luarc.json (when there is none). Returns what it did, one
    /// line each. Errors are `RunbookError.usage` lines naming the file.
    public static func create(name: String, in directory: String, stdlibDirs: [String]) throws -> [String] {
        guard RunbookCatalog.isValidName(name) else {
            throw RunbookError.usage("'\(name)' is not a runbook name: use lower case letters, digits, - and _ (like add-site)")
        }
        let file = directory + "/" + name + ".lua"
        let exists = RunbookError.usage("\(file) already exists; not overwriting it (choose another name, or remove the file)")
        if Posix.lstatInfo(file) != nil { throw exists }
        var lines: [String] = []
        do {
            try Posix.makeDirectories(directory + "/" + PathName.parent(definitionsPath))
            // O_EXCL: a file created since the check above is not overwritten either.
            try Posix.writeFile(file, Array(runbook(named: name).utf8), flags: O_EXCL)
            lines.append("created \(file)")
            let definitions = directory + "/" + definitionsPath
            try Posix.writeFile(definitions, Array(try APIReference.registered().luals().utf8))
            lines.append("wrote   \(definitions) (the Lua API, for the Lua language server)")
            let luarc = directory + "/.luarc.json"
            if Posix.lstatInfo(luarc) == nil {
                try Posix.writeFile(luarc, Array(self.luarc(stdlibDirs: stdlibDirs).utf8))
                lines.append("created \(luarc) (points the language server at it; open \(directory) in your editor)")
            }
        } catch let error as SystemError where error.code == EEXIST {
            throw exists
        } catch let error as RunbookError {
            throw error
        } catch {
            throw RunbookError.usage("cannot write in \(directory): \(error)")
        }
        lines.append("next:   runbook check \(file)   then   runbook run \(file) --dir /tmp/\(name)-test --dry-run")
        return lines
    }

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
