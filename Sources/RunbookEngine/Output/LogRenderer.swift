// Renders journal records as the human log `runbook log` prints.

public enum LogRenderer {
    public static func header(_ record: RunRecord) -> String {
        "run \(record.id)  \(record.runbook)\(record.dryRun ? " (dry-run)" : "")  by \(record.user)@\(record.host)  started \(Clock.iso8601(record.started))"
    }

    /// The log lines of a whole journal. Applied effects come from the journal's own
    /// intent/applied records, so an effect applied just before a crash is shown too.
    public static func lines(_ records: [JSON], filter: LogFilter = LogFilter()) -> [String] {
        var applied = Set<Int64>()
        var failed = Set<Int64>()
        for record in records {
            guard let seq = record["seq"]?.intValue else { continue }
            if record["t"]?.stringValue == "applied" { applied.insert(seq) }
            if record["t"]?.stringValue == "effect_failed" { failed.insert(seq) }
        }
        var filter = filter
        return records.compactMap { record in
            let type = record["t"]?.stringValue
            let seq = record["seq"]?.intValue
            let unfinished = type == "intent" && seq.map { !applied.contains($0) } == true
            guard filter.include(record, unfinishedEffect: unfinished) else { return nil }
            switch type {
            case "effect_applied", "effect_failed": return nil
            case "intent":
                guard let seq else { return nil }
                let time = String((record["at"]?.stringValue ?? "").dropFirst(11).prefix(12))
                let note = applied.contains(seq) ? "" : failed.contains(seq) ? "  (failed)" : "  (interrupted: may or may not have happened)"
                return "\(time)      \(record["sign"]?.stringValue ?? "?") \(record["summary"]?.stringValue ?? "")\(note)"
            default: return line(record)
            }
        }
    }

    /// The steps a journal started, in order (for `log --step` errors).
    public static func steps(_ records: [JSON]) -> [String] {
        var names: [String] = []
        for record in records where record["t"]?.stringValue == "step_started" {
            if let name = record["step"]?.stringValue, !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// One line for a journal record, or nil for records that are only bookkeeping.
    public static func line(_ record: JSON) -> String? {
        let time = String((record["at"]?.stringValue ?? "").dropFirst(11).prefix(12))
        func text(_ key: String) -> String { record[key]?.stringValue ?? "" }
        switch record["t"]?.stringValue ?? "" {
        case "step_started": return "\(time)  ▶ \(text("step"))"
        case "step_finished":
            let duration: String
            if case .double(let d) = record["duration"] { duration = Clock.duration(d) } else { duration = "" }
            if text("status") == "failed" { return "\(time)  ✘ \(text("step")) failed after \(duration): \(text("error"))" }
            let count = record["effects"]?.intValue ?? 0
            return "\(time)  ✔ \(text("step")) (\(count) effect\(count == 1 ? "" : "s"), \(duration))"
        case "effect_planned", "effect_applied": return "\(time)      \(text("sign")) \(text("summary"))"
        case "effect_failed": return "\(time)      ✘ effect \(record["seq"]?.intValue ?? 0) failed: \(text("error"))"
        case "no_change": return "\(time)      = \(text("summary")) (already so)"
        case "log": return "\(time)      \(text("level") == "info" ? "" : text("level") + ": ")\(text("message"))"
        case "effect_undone": return "\(time)      ↺ undone: \(text("summary"))"
        case "undo_failed": return "\(time)      ↺ could not undo: \(text("summary")): \(text("error"))"
        case "hook_failed": return "\(time)      \(text("hook")) hook failed: \(text("error"))"
        case "run_failing": return "\(time)  failing: \(text("error"))"
        case "undo_started": return "\(time)  undo started by \(text("user")) (pid \(record["pid"]?.intValue ?? 0))"
        case "undo_finished":
            return "\(time)  undo finished: \(record["undone"]?.intValue ?? 0) reversed, \(record["failed"]?.intValue ?? 0) failed"
        case "run_finished": return "\(time)  finished: \(text("status"))"
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
        let type = record["t"]?.stringValue ?? ""
        let recordStep = record["step"]?.stringValue
        var current = open.last
        switch type {
        case "step_started":
            if let recordStep { open.append(recordStep) }
            current = recordStep
        case "step_finished":
            if let index = open.lastIndex(where: { $0 == recordStep }) { open.remove(at: index) }
            current = recordStep
        default:
            if let recordStep { current = recordStep }
        }
        if step != nil {
            guard let current, isAsked(current) else { return false }
        }
        guard failuresOnly else { return true }
        switch type {
        case "step_finished": return record["status"]?.stringValue == "failed"
        case "intent": return unfinishedEffect
        case "effect_failed", "undo_failed", "hook_failed", "run_failing": return true
        case "log": return ["error", "warn"].contains(record["level"]?.stringValue ?? "")
        case "run_finished", "undo_finished": return true
        default: return false
        }
    }
}
