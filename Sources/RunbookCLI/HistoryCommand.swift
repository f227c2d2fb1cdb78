// `runbook history`: what ran, when, by whom, and how it ended.

import ArgumentParser
import RunbookEngine
import RunbookJournal
import RunbookRun
import RunbookSupport

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List past runs, newest first.")

    @OptionGroup var options: EngineOptions
    @Option(name: .long, help: "Show at most this many runs.") var limit: Int = 20
    @Option(name: .long, help: ArgumentHelp("Only runs of this runbook (repeatable).", valueName: "NAME")) var runbook: [String] = []
    @Option(name: .long, help: ArgumentHelp("Only runs with this status (failed, undone, ...; comma-separated or repeated).", valueName: "STATUS")) var status: [String] = []
    @Option(name: .customLong("arg"), help: ArgumentHelp("Only runs whose argument NAME had VALUE (repeatable).", valueName: "NAME=VALUE")) var arguments: [String] = []
    @Option(name: .long, help: ArgumentHelp("Only runs started at or after TIME (2h, 7d ago, 2026-12-02, 2026-12-02T15:30 UTC).", valueName: "TIME")) var since: String?
    @Option(name: .long, help: ArgumentHelp("Only runs started before TIME (same forms as --since).", valueName: "TIME")) var until: String?
    @Flag(name: .long, help: "One JSON object per run.") var json = false

    func run() throws {
        let engine: Engine
        var filter = RunFilter()
        do {
            engine = try options.engine()
            filter.runbooks = runbook
            filter.statuses = try status.flatMap(RunFilter.status)
            filter.arguments = try arguments.map(RunFilter.argument)
            filter.since = try since.map { try RunFilter.time($0, option: "--since") }
            filter.until = try until.map { try RunFilter.time($0, option: "--until") }
        } catch { throw exitWith(error) }
        let all = engine.store.all()
        let runs = Array(all.filter(filter.matches).prefix(max(0, limit)))
        if json {
            for run in runs { printJSONLine(run.json.serialized) }
            return
        }
        if all.isEmpty { printLine("no runs yet in \(engine.store.directory)") }
        else if runs.isEmpty { printLine("no run matches (\(all.count) run\(all.count == 1 ? "" : "s") in all; leave out a filter to see more)") }
        // One row per run: every field from the record escaped, a newline in it included.
        func shown(_ text: String) -> String { TerminalText.escape(text) }
        // BY is as wide as its widest user@host, so ARGUMENTS stands over the arguments.
        let byWidth = runs.map { "\(shown($0.user))@\(shown($0.host))".count }.max() ?? 2
        if !runs.isEmpty {
            printLine([pad("RUN", 22), pad("STATUS", 11), pad("RUNBOOK", 18), pad("STARTED (UTC)", 19), pad("DURATION", 8),
                       pad("BY", byWidth), "ARGUMENTS"].joined(separator: "  "))
        }
        for run in runs {
            let arguments = (run.arguments.objectValue ?? []).map { "--\(shown($0.0.replacingAll("_", with: "-")))=\(shown(display($0.1)))" }
            let duration = run.finished.map { Clock.duration($0 - run.started) } ?? "-"
            printLine([shown(run.id), pad(shown(run.status.rawValue), 11), pad(shown(run.runbook), 18), String(Clock.iso8601(run.started).prefix(19)),
                       pad(duration, 8), pad("\(shown(run.user))@\(shown(run.host))", byWidth), arguments.joined(separator: " ")].joined(separator: "  "))
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
