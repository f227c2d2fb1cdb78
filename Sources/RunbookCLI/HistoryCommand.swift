// `runbook history`: what ran, when, by whom, and how it ended.

import ArgumentParser
import RunbookEngine

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List past runs, newest first.")

    @OptionGroup var options: EngineOptions
    @Option(name: .long, help: "Show at most this many runs.") var limit: Int = 20
    @Flag(name: .long, help: "One JSON object per run.") var json = false

    func run() throws {
        let engine: Engine
        do { engine = try options.engine() } catch { throw exitWith(error) }
        let runs = Array(engine.store.all().prefix(max(0, limit)))
        if json {
            for run in runs { printLine(run.json.serialized) }
            return
        }
        if runs.isEmpty { printLine("no runs yet in \(engine.store.directory)") }
        for run in runs {
            let arguments = (run.arguments.objectValue ?? []).map { "--\($0.0.replacingAll("_", with: "-"))=\(display($0.1))" }
            let duration = run.finished.map { Clock.duration($0 - run.started) } ?? "-"
            printLine([run.id, pad(run.status, 11), pad(run.runbook, 18), String(Clock.iso8601(run.started).prefix(19)),
                       pad(duration, 8), "\(run.user)@\(run.host)", arguments.joined(separator: " ")].joined(separator: "  "))
        }
    }

    func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }

    func display(_ value: JSON) -> String {
        switch value {
        case .string(let s): return s
        case .array(let items): return items.map(display).joined(separator: ",")
        default: return value.serialized
        }
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
