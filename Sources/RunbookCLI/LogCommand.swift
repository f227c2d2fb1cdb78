// `runbook log RUN_ID`: reprints a run's log from its journal.

import ArgumentParser
import RunbookEngine

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the log of a run.")

    @OptionGroup var options: EngineOptions
    @Argument(help: "The run id (see `runbook history`).") var runID: String
    @Flag(name: .long, help: "Print the raw JSON Lines.") var json = false

    func run() throws {
        let engine: Engine
        let record: RunRecord
        let records: [JSON]
        do {
            engine = try options.engine()
            record = try engine.store.load(runID)
            records = try JournalReader.records(engine.store.journalPath(runID))
        } catch { throw exitWith(error) }
        if json {
            for entry in records { printLine(entry.serialized) }
            return
        }
        printLine(LogRenderer.header(record))
        for line in LogRenderer.lines(records) { printLine(line) }
        printLine("status: \(record.status)" + (record.error.map { " — \($0)" } ?? ""))
    }
}
