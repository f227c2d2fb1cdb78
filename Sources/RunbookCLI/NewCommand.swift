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
    @Option(name: .long, help: "The directory to create it in.") var dir = "runbooks"

    func run() throws {
        let engine: Engine
        do { engine = try options.engine() } catch { throw exitWith(error) }
        let directory = dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        do {
            try RunbookScaffold.create(name: name, in: directory, stdlibDirs: engine.config.stdlibDirs).forEach(printLine)
        } catch {
            throw exitWith(error)
        }
    }
}
