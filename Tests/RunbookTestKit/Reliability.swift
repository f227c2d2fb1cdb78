// The reliability campaigns' mode and figures (docs/reliability.md).

import RunbookEngine
import RunbookSupport
import Testing

package enum Reliability {
    /// `RUNBOOK_RELIABILITY=full` (scripts/reliability full): every point of every campaign.
    /// Otherwise the quick mode `scripts/test` runs: a sample, a couple of minutes in all.
    package static var full: Bool { Posix.environment("RUNBOOK_RELIABILITY") == "full" }

    /// `count` points 1...count, or in quick mode about `quickSamples` of them spread evenly,
    /// always with the first and the last (at most `count`).
    package static func points(_ count: Int, quickSamples: Int) -> [Int] {
        guard count > 0 else { return [] }
        if full || quickSamples >= count { return Array(1...count) }
        let step = max(1, (count + quickSamples - 1) / max(1, quickSamples))
        var chosen = Set(stride(from: 1, through: count, by: step))
        chosen.insert(count)
        return chosen.sorted()
    }

    /// A campaign's figures: printed, and appended as one JSON line to
    /// $RUNBOOK_RELIABILITY_REPORT when set (scripts/reliability collects them).
    package static func report(_ campaign: String, _ figures: [(String, Int)], note: String = "") {
        let text = figures.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        print("reliability \(Reliability.full ? "full" : "quick") \(campaign): \(text)\(note.isEmpty ? "" : " (\(note))")")
        guard let path = Posix.environment("RUNBOOK_RELIABILITY_REPORT"), !path.isEmpty else { return }
        var fields: [(String, JSON)] = [("campaign", .string(campaign)), ("mode", .string(full ? "full" : "quick"))]
        fields += figures.map { ($0.0, JSON.int(Int64($0.1))) }
        if !note.isEmpty { fields.append(("note", .string(note))) }
        let line = Array((JSON.object(fields).serialized + "\n").utf8)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = try? Posix.writeAll(descriptor, line, path: path)
    }
}
