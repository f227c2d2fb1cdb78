// `runbook check FILE_OR_NAME...`: loads and validates runbooks, applies nothing.

import ArgumentParser
import RunbookEngine

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Check runbooks' syntax and declarations; changes nothing.")

    @OptionGroup var options: EngineOptions
    @Argument(help: "Runbook names or .lua files (all runbooks when none are given).") var targets: [String] = []

    func run() throws {
        let engine: Engine
        do { engine = try options.engine() } catch { throw exitWith(error) }
        let names = targets.isEmpty ? engine.catalog.allNames() : targets
        var failures = 0
        for target in names {
            do {
                let declaration = try engine.declaration(target)
                printLine("ok      \(declaration.file): \(declaration.name), \(declaration.parameters.count) parameter\(declaration.parameters.count == 1 ? "" : "s")")
            } catch {
                failures += 1
                printLine("error   \(error)")
            }
        }
        if failures > 0 { throw ExitCode(ExitStatus.failed.rawValue) }
    }
}
