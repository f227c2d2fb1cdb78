// `runbook check FILE_OR_NAME...`: loads and validates runbooks, reports static findings
// (RunbookLint) with file:line, applies nothing.

import ArgumentParser
import RunbookEngine
import RunbookSupport

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check runbooks (syntax, declaration, arguments, unknown functions, effects outside steps); changes nothing.")

    @OptionGroup var options: EngineOptions
    @Argument(help: "Runbook names or .lua files (all runbooks when none are given).") var targets: [String] = []

    func run() throws {
        let engine: Engine
        do { engine = try options.engine() } catch { throw exitWith(error) }
        let api = try APIReference.registered()
        let names = targets.isEmpty ? engine.catalog.allNames() : targets
        var failures = 0
        for target in names {
            let report = engine.check(target, api: api)
            report.lines.forEach(printLine)
            if report.errors > 0 { failures += 1 }
        }
        if failures > 0 { throw ExitCode(ExitStatus.failed.rawValue) }
    }
}
