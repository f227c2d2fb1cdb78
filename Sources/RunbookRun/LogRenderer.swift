// Renders journal records as the human log `runbook log` prints. The journal holds the
// world's text exactly (file names, errors, messages); each line shows it escaped for the
// terminal (TerminalText): one line per name, no escape sequence a terminal would act on.

import RunbookJournal
import RunbookSupport

public struct LogRenderer {
    public static func header(_ record: RunRecord) -> String {
        func shown(_ text: String) -> String { TerminalText.escape(text) }
        return "run \(record.id)  \(shown(record.runbook))\(record.dryRun ? " (dry-run)" : "")  "
            + "by \(shown(record.user))@\(shown(record.host))  started \(Clock.iso8601(record.started))"
    }

    /// The log lines of a whole journal.
    public static func lines(_ records: [JSON], filter: LogFilter = LogFilter()) -> [String] {
        var renderer = LogRenderer(filter: filter)
        return records.flatMap { renderer.feed($0) } + renderer.finish()
    }

    // A real run's journal has no effect events: an effect is its `intent` record (every
    // field) and the `applied` or `effect_failed` record that follows it; an intent followed
    // by anything else (or by nothing: a crash) may or may not have happened. An undo's
    // records (`undone`, `undo_failed`, `undo_skipped`) name the effect by `seq`: the summary
    // comes from its intent. The renderer reads records in order, so `log --follow` can feed
    // it a journal as it grows.

    private var filter: LogFilter
    /// The last intent read, until the record after it tells how it ended.
    private var pending: JSON?
    private var summaries: [Int64: String] = [:]
    private var applied = Set<Int64>()
    /// Effects whose undo has a line already: journals written before the undo's events
    /// left the journal hold both the record and an event (with the summary) for each.
    private var undoShown = Set<Int64>()

    public init(filter: LogFilter = LogFilter()) { self.filter = filter }

    /// The lines of the next journal record (and of the effect before it, once settled).
    public mutating func feed(_ record: JSON) -> [String] {
        let kind = record.recordKind
        let seq = record["seq"]?.intValue
        var lines: [String] = []
        if let intent = pending, let intentSeq = intent["seq"]?.intValue {
            pending = nil
            let outcome: String? = seq != intentSeq ? nil : kind == .applied ? "" : kind == .effectFailed ? "  (failed)" : nil
            if kind == .applied && seq == intentSeq { applied.insert(intentSeq) }
            lines += effectLine(intent, note: outcome ?? "  (interrupted: may or may not have happened)", unfinished: outcome == nil)
        }
        switch kind {
        case .intent:
            if let seq { summaries[seq] = record["summary"]?.stringValue ?? "" }
            pending = record
            return lines
        case .applied:
            if let seq { applied.insert(seq) }
        case .effectFailed, .effectApplied:
            // Its intent's line says it (failed); the step's line gives the error. (Journals
            // written before 2026-12-02 also hold an effect_applied event after the intent.)
            if let seq, summaries[seq] != nil {
                _ = filter.include(record)
                return lines
            }
        case .effectUndone, .undoFailed, .undoSkipped, .undone:
            // An event with the summary is what an older journal holds after the record: shown once.
            let isOlderEvent = kind == .effectUndone || (kind == .undoFailed && record["summary"] != nil)
            if let seq, isOlderEvent, undoShown.contains(seq) {
                _ = filter.include(record)
                return lines
            }
            if let seq { undoShown.insert(seq) }
        default:
            break
        }
        if filter.include(record), let line = line(record) { lines.append(line) }
        return lines
    }

    /// The lines still owed at the end of the journal: an intent without an outcome.
    public mutating func finish() -> [String] {
        guard let intent = pending else { return [] }
        pending = nil
        return effectLine(intent, note: "  (interrupted: may or may not have happened)", unfinished: true)
    }

    private mutating func effectLine(_ intent: JSON, note: String, unfinished: Bool) -> [String] {
        guard filter.include(intent, unfinishedEffect: unfinished) else { return [] }
        let time = Self.time(intent)
        let sign = TerminalText.escape(intent["sign"]?.stringValue ?? "?")
        return ["\(time)      \(sign) \(TerminalText.escape(intent["summary"]?.stringValue ?? ""))\(note)"]
    }

    private static func time(_ record: JSON) -> String {
        TerminalText.escape(String((record["at"]?.stringValue ?? "").dropFirst(11).prefix(12)))
    }

    /// The steps a journal started, in order (for `log --step` errors).
    public static func steps(_ records: [JSON]) -> [String] {
        var names: [String] = []
        for record in records where record.recordKind == .stepStarted {
            if let name = record["step"]?.stringValue, !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// One line for a journal record, or nil for records that are only bookkeeping.
    private func line(_ record: JSON) -> String? {
        let time = Self.time(record)
        /// A name or summary: one line, escaped.
        func text(_ key: String) -> String { TerminalText.escape(record[key]?.stringValue ?? "") }
        /// A message or error: its lines kept, each escaped.
        func lines(_ key: String) -> String { TerminalText.escape(record[key]?.stringValue ?? "", keepingLines: true) }
        /// The undone effect's summary: from its intent (or, in an older journal, the event).
        func summary() -> String {
            TerminalText.escape(record["summary"]?.stringValue ?? record["seq"]?.intValue.flatMap { summaries[$0] }
                                ?? "effect \(record["seq"]?.intValue ?? 0)")
        }
        switch record.recordKind {
        case .runStarted:
            // Which configuration and root the run used (journals before 2026-12-04 do not say).
            guard let config = record["config"] else { return nil }
            return "\(time)  config \(config.stringValue.map { TerminalText.escape($0) } ?? "none (built-in defaults)"), root \(text("root"))"
        case .stepStarted: return "\(time)  ▶ \(text("step"))"
        case .stepFinished:
            let duration: String
            if case .double(let d) = record["duration"] { duration = Clock.duration(d) } else { duration = "" }
            if text("status") == "failed" { return "\(time)  ✘ \(text("step")) failed after \(duration): \(lines("error"))" }
            let count = record["effects"]?.intValue ?? 0
            return "\(time)  ✔ \(text("step")) (\(count) effect\(count == 1 ? "" : "s"), \(duration))"
        case .effectPlanned, .effectApplied: return "\(time)      \(text("sign")) \(text("summary"))"
        case .effectFailed: return "\(time)      ✘ effect \(record["seq"]?.intValue ?? 0) failed: \(lines("error"))"
        case .noChange: return "\(time)      = \(text("summary")) (already so)"
        case .log: return "\(time)      \(text("level") == "info" ? "" : text("level") + ": ")\(lines("message"))"
        case .effectUndone: return "\(time)      ↺ undone: \(text("summary"))"
        case .undone:
            if let host = record["abandoned"]?.stringValue {
                return "\(time)      ↺ abandoned: \(summary()): \(TerminalText.escape(host)) was declared gone (--abandon); left as it is there"
            }
            let checked = record["seq"]?.intValue.map { !applied.contains($0) } == true ? " (checked: it may not have happened)" : ""
            return "\(time)      ↺ undone: \(summary())\(checked)"
        case .undoFailed:
            let what = record["undoing"]?.stringValue.map { TerminalText.escape($0) } ?? summary()
            return "\(time)      ↺ could not undo: \(what): \(lines("error"))"
        case .undoSkipped: return "\(time)      ↺ could not undo: \(summary()): \(lines("reason"))"
        case .hookFailed: return "\(time)      \(text("hook")) hook failed: \(lines("error"))"
        case .runFailing: return "\(time)  failing: \(lines("error"))"
        case .undoStarted: return "\(time)  undo started by \(text("user")) (pid \(record["pid"]?.intValue ?? 0))"
        case .undoFinished:
            let abandoned = record["abandoned"]?.intValue ?? 0
            return "\(time)  undo finished: \(record["undone"]?.intValue ?? 0) reversed, \(record["failed"]?.intValue ?? 0) failed"
                + (abandoned > 0 ? ", \(abandoned) abandoned" : "")
        case .runFinished: return "\(time)  finished: \(text("status"))"
        default: return nil
        }
    }
}

/// Which records `runbook log` shows: all, one step's (`--step NAME`), or only what went
/// wrong (`--failures`). It follows the journal's steps, so feed it records in order.
public struct LogFilter {
    public var step: String?
    public var failuresOnly = false
    /// The steps open at this point of the journal (full names: "Outer / Inner").
    private var open: [String] = []

    public init(step: String? = nil, failuresOnly: Bool = false) {
        self.step = step
        self.failuresOnly = failuresOnly
    }

    /// True when `name` (a full step name) is the step asked for or inside it; the
    /// operator may give the full name or any one level of a nested step.
    public func isAsked(_ name: String) -> Bool {
        guard let step else { return true }
        return name == step || name.hasPrefix(step + " / ") || name.hasSuffix(" / " + step) || name.contains(" / " + step + " / ")
    }

    public mutating func include(_ record: JSON, unfinishedEffect: Bool = false) -> Bool {
        let kind = record.recordKind
        let recordStep = record["step"]?.stringValue
        var current = open.last
        switch kind {
        case .stepStarted:
            if let recordStep { open.append(recordStep) }
            current = recordStep
        case .stepFinished:
            if let index = open.lastIndex(where: { $0 == recordStep }) { open.remove(at: index) }
            current = recordStep
        default:
            if let recordStep { current = recordStep }
        }
        if step != nil {
            guard let current, isAsked(current) else { return false }
        }
        guard failuresOnly else { return true }
        switch kind {
        case .stepFinished: return record["status"]?.stringValue == "failed"
        case .intent: return unfinishedEffect
        case .effectFailed, .undoFailed, .undoSkipped, .hookFailed, .runFailing: return true
        case .log: return ["error", "warn"].contains(record["level"]?.stringValue ?? "")
        case .runFinished, .undoFinished: return true
        default: return false
        }
    }
}
