// `runbook log RUN_ID`: reprints a run's log from its journal: all of it, one step
// (--step), only what went wrong (--failures), or as it is written (--follow).

import ArgumentParser
import RunbookEngine
import RunbookJournal
import RunbookRun
import RunbookSupport

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the log of a run.")

    @OptionGroup var options: EngineOptions
    @Argument(help: "The run id (see `runbook history`).") var runID: String
    @Option(name: .long, help: ArgumentHelp("Only this step (its full name, or one level of a nested step).", valueName: "NAME")) var step: String?
    @Flag(name: .long, help: "Only failed steps and effects, errors and warnings.") var failures = false
    @Flag(name: .long, help: "Keep printing new records of a run in progress until it ends.") var follow = false
    @Flag(name: .long, help: "Print the raw JSON Lines.") var json = false

    func run() throws {
        let engine: Engine
        let record: RunRecord
        let records: [JSON]
        do {
            engine = try options.engine()
            record = try engine.store.load(runID)
            records = try JournalReader.records(engine.store.journalPath(runID))
            if let step, !follow, !LogRenderer.steps(records).contains(where: { LogFilter(step: step).isAsked($0) }) {
                let steps = LogRenderer.steps(records)
                throw RunbookError.usage("run \(runID) has no step '\(step)' (its steps: "
                                         + (steps.isEmpty ? "none" : steps.map { "'\($0)'" }.joined(separator: ", ")) + ")")
            }
        } catch { throw exitWith(error) }
        let filter = LogFilter(step: step, failuresOnly: failures)
        if follow {
            LogFollower(store: engine.store, runID: runID, filter: filter, json: json).run(header: record)
            return
        }
        if json {
            var jsonFilter = filter
            for entry in records where jsonFilter.include(entry) { printJSONLine(entry.serialized) }
            return
        }
        printLine(LogRenderer.header(record))
        let lines = LogRenderer.lines(records, filter: filter)
        for line in lines { printLine(line) }
        if failures && lines.filter({ !$0.contains("finished: ") }).isEmpty { printLine("(no failure recorded)") }
        printLine("status: \(record.status)" + (record.error.map { " — \($0)" } ?? ""))
        if let hint = LogCommand.nextStep(record, records) { printLine(hint) }
    }

    /// What to type next when the run left applied effects behind.
    static func nextStep(_ record: RunRecord, _ records: [JSON]) -> String? {
        guard [RunStatus.failed, .interrupted, .crashed, .undoCrashed, .partlyUndone].contains(record.status), !record.dryRun else { return nil }
        // Counted as `runbook undo` counts them (an intent without an outcome may have happened).
        let left = UndoProcess.stillApplied(records)
        guard left > 0 else { return nil }
        return "\(left) effect\(left == 1 ? " is" : "s are") still applied. Reverse: runbook undo \(record.id)"
            + "   (first see what it would do: runbook undo \(record.id) --dry-run)"
    }
}
