// `runbook new NAME`: scaffolds DIR/NAME.lua (a runbook that passes `check`) with the Lua
// Language Server definitions and a .luarc.json beside it, so editors complete and
// type-check the runbook API. Never overwrites a runbook.

import ArgumentParser
import RunbookEngine

struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Create a new runbook that passes `runbook check`, with editor support (Lua Language Server) beside it.")

    @OptionGroup var options: EngineOptions
    @Argument(help: "The runbook's name: lower case letters, digits, - and _.") var name: String
    @Option(name: .long, help: "The directory to create it in (default: runbooks).") var dir = "runbooks"

    func run() throws {
        guard RunbookCatalog.isValidName(name) else {
            throw exitWith(RunbookError.usage("'\(name)' is not a runbook name: use lower case letters, digits, - and _ (like add-site)"))
        }
        let engine: Engine
        do { engine = try options.engine() } catch { throw exitWith(error) }
        let directory = dir.hasSuffix("/") && dir.count > 1 ? String(dir.dropLast()) : dir
        let file = directory + "/" + name + ".lua"
        if Posix.lstatInfo(file) != nil {
            throw exitWith(RunbookError.usage("\(file) already exists; not overwriting it (choose another name, or remove the file)"))
        }
        do {
            try Posix.makeDirectories(directory + "/" + PathName.parent(RunbookScaffold.definitionsPath))
            try Posix.writeFile(file, Array(RunbookScaffold.runbook(named: name).utf8))
            printLine("created \(file)")
            // Generated: rewritten every time, so it follows the engine after an upgrade.
            let definitions = directory + "/" + RunbookScaffold.definitionsPath
            try Posix.writeFile(definitions, Array(try APIReference.registered().luals().utf8))
            printLine("wrote   \(definitions) (the Lua API, for the Lua language server)")
            let luarc = directory + "/.luarc.json"
            if Posix.lstatInfo(luarc) == nil {
                try Posix.writeFile(luarc, Array(RunbookScaffold.luarc(stdlibDirs: engine.config.stdlibDirs).utf8))
                printLine("created \(luarc) (points the language server at it; open \(directory) in your editor)")
            }
        } catch let error as RunbookError {
            throw exitWith(error)
        } catch {
            throw exitWith(RunbookError.usage("cannot write in \(directory): \(error)"))
        }
        printLine("next:   runbook check \(file)   then   runbook run \(file) --dir /tmp/\(name)-test --dry-run")
    }
}
