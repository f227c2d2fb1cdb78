// Renders journal records as the human log `runbook log` prints.

public enum LogRenderer {
    public static func header(_ record: RunRecord) -> String {
        "run \(record.id)  \(record.runbook)\(record.dryRun ? " (dry-run)" : "")  by \(record.user)@\(record.host)  started \(Clock.iso8601(record.started))"
    }

    /// The log lines of a whole journal. Applied effects come from the journal's own
    /// intent/applied records, so an effect applied just before a crash is shown too.
    public static func lines(_ records: [JSON]) -> [String] {
        var applied = Set<Int64>()
        var failed = Set<Int64>()
        for record in records {
            guard let seq = record["seq"]?.intValue else { continue }
            if record["t"]?.stringValue == "applied" { applied.insert(seq) }
            if record["t"]?.stringValue == "effect_failed" { failed.insert(seq) }
        }
        return records.compactMap { record in
            switch record["t"]?.stringValue {
            case "effect_applied": return nil
            case "intent":
                guard let seq = record["seq"]?.intValue else { return nil }
                let time = String((record["at"]?.stringValue ?? "").dropFirst(11).prefix(12))
                let note = applied.contains(seq) ? "" : failed.contains(seq) ? "  (failed)" : "  (interrupted: may or may not have happened)"
                return "\(time)      \(record["sign"]?.stringValue ?? "?") \(record["summary"]?.stringValue ?? "")\(note)"
            default: return line(record)
            }
        }
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
