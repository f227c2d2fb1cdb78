// `runbook queue work | rerun ID | list`: the install queue of the internal database
// (RunbookEngine/Queue/QueueWorker.swift).

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookRun
import RunbookSupport

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Work the queue records of this server (the guide's cron_slave_queue).",
        subcommands: [Work.self, Rerun.self, List.self])

    /// What every queue command takes: the engine's options and the queue's connection.
    struct QueueOptions: ParsableArguments {
        @OptionGroup var engine: EngineOptions
        @Option(name: .long, help: "The database connection that holds the queue table.") var connection = "internal"

        func worker() throws -> QueueWorker {
            do {
                let overrides = engine.overrides()
                return try QueueWorker(config: try EngineConfig.resolve(overrides), overrides: overrides, connection: connection)
            } catch { throw exitWith(error) }
        }
    }

    struct Work: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run this server's queued records, oldest first; each ends done or failed with its error.")
        @OptionGroup var queue: QueueOptions
        @Option(name: .long, help: "The handler whose records to work (id or hostname; default settings.this_server).") var handler: String?
        @Option(name: .long, help: "Work at most this many records.") var limit = 100

        func run() throws {
            let worker = try queue.worker()
            let outcomes: [QueueWorker.Outcome]
            do {
                outcomes = try worker.work(handler: try worker.handlerID(handler), limit: max(1, limit), report: printLine)
            } catch { throw exitWith(error) }
            if outcomes.isEmpty { printLine("no queued record for this server") }
            if outcomes.contains(where: { $0.status != "done" }) { throw ExitCode(1) }
        }
    }

    struct Rerun: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one queue record again (the guide's rerun_queue.php), output kept in STATE/queue/ID.log.",
            discussion: "A record a live worker or run works is refused; one left running by a process that died (stuck) is taken.")
        @OptionGroup var queue: QueueOptions
        @Argument(help: "The queue record's id.") var id: Int64

        func run() throws {
            let worker = try queue.worker()
            let outcome: QueueWorker.Outcome
            do { outcome = try worker.rerun(id, report: printLine) } catch { throw exitWith(error) }
            if outcome.status != "done" { throw ExitCode(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest queue records, newest first.")
        @OptionGroup var queue: QueueOptions
        @Option(name: .long, help: "Only records with this status (queued, running, done, failed).") var status: String?
        @Option(name: .long, help: "How many.") var limit = 20
        @Flag(name: .long, help: "Only records left running by a worker or run that died (rerun them with `queue rerun ID`).")
        var stuck = false

        func run() throws {
            let worker = try queue.worker()
            if stuck, let status, status != "running" { throw exitWith(RunbookError.usage("--stuck lists running records: drop --status \(status)")) }
            let records: [QueueWorker.Record]
            do {
                records = stuck ? try worker.stuck(limit: limit) : try worker.records(status: status, handler: nil, limit: limit)
            } catch { throw exitWith(error) }
            if stuck && records.isEmpty { printLine("no stuck queue record: every running one has a live worker or run") }
            for record in records {
                let error = record.error.map { "  " + String(($0.split(separator: "\n").first ?? "").prefix(120)) } ?? ""
                // One row per record, whatever its fields hold (a newline is shown as \n).
                let fields = [String(record.id), record.status, record.runbook, record.args, record.log ?? "-"]
                printLine(fields.map { TerminalText.escape($0) }.joined(separator: "  ") + TerminalText.escape(error))
            }
        }
    }
}
