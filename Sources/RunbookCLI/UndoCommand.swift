// `runbook undo RUN_ID [--dry-run] [--force]`: reverse what a failed, interrupted or crashed run applied.

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookRun
import RunbookSupport

struct UndoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "undo", abstract: "Reverse the effects a run applied, newest first.")

    @OptionGroup var options: EngineOptions
    @OptionGroup var console: ConsoleFlags
    @Argument(help: "The run id (see `runbook history`).") var runID: String
    @Flag(name: .customLong("dry-run"), help: "Show what would be undone; change nothing.") var dryRun = false
    @Flag(name: .long, help: "One JSON object per line.") var json = false
    @Flag(name: .long, help: "Undo even though later runs built on this run's changes (undo those first instead).") var force = false
    @Option(name: .customLong("on"), help: ArgumentHelp("Undo a run made on this [hosts.NAME] (with run --on), there.", valueName: "HOST"))
    var on: String?
    @Option(name: .long, help: ArgumentHelp("A [hosts.NAME] that is gone for good: what the run owes only there is recorded as abandoned, and the rest is undone (repeat for more).", valueName: "HOST"))
    var abandon: [String] = []

    func run() throws {
        if let on {
            let config: EngineConfig
            do { config = try EngineConfig.resolve(options.overrides()) } catch { throw exitWith(error, json: json) }
            let words = ["undo", runID] + (dryRun ? ["--dry-run"] : []) + (json ? ["--json"] : []) + (force ? ["--force"] : [])
                + abandon.flatMap { ["--abandon", $0] } + console.forwarded
            let status: Int32
            do { status = try OnHostInvocation.execute(host: on, config: config, words: words, arguments: nil, json: json) } catch {
                throw exitWith(error, json: json)
            }
            if status != 0 { throw ExitCode(status) }
            return
        }
        try UndoCommand.execute(options.overrides(), runID: runID, dryRun: dryRun, json: json, force: force, console: console.console,
                                abandon: abandon)
    }

    /// The command's work, from plain values: also reached without ArgumentParser by
    /// `QuickCommandLine` (start-up time, see docs/performance.md).
    static func execute(_ overrides: EngineOverrides, runID: String, dryRun: Bool, json: Bool, force: Bool = false,
                        console: ConsoleOptions = ConsoleOptions(), abandon: [String] = []) throws {
        let engine: Engine
        do { engine = try EngineOptions.engine(overrides) } catch { throw exitWith(error, json: json) }
        let result = engine.undo(runID, dryRun: dryRun, output: json ? .json : .human, force: force, console: console, abandon: abandon)
        if result.status != .done { throw ExitCode(result.status.rawValue) }
    }
}
