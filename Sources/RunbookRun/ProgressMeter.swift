// The arithmetic of progress(done, total): where the current loop started, its rate and
// the time left, and how the bar reads. RunOutput decides when to report and draw.

package struct ProgressMeter {
    package struct Reading {
        package var elapsed: Double
        /// Items per second so far; nil until an item is done.
        package var rate: Double?
        /// Seconds left at that rate.
        package var remaining: Double?
    }

    /// The current loop: its step and total, when it began and the count then.
    private var start: (step: String, total: Int64, time: Double, done: Int64)?
    private var lastCall: (step: String, time: Double)?
    private var stepStartedAt: Double?

    package mutating func stepStarted(at time: Double) { stepStartedAt = time }

    package mutating func read(done: Int64, total: Int64, step: String, now: Double) -> Reading {
        // A new loop (another step, another total, or counting again from lower) starts the clock again.
        if let start, start.step == step, start.total == total, done >= start.done {
        } else {
            // Its first item began after the last thing we know of: the previous progress
            // call in this step (a loop before it), or the step's start.
            let began = lastCall.flatMap { $0.step == step ? $0.time : nil } ?? stepStartedAt ?? now
            start = (step, total, began, 0)
        }
        lastCall = (step, now)
        let start = start!
        let elapsed = now - start.time
        let rate = elapsed > 0 && done > start.done ? Double(done - start.done) / elapsed : nil
        // In Double: the counts are the runbook's own (any size, done beyond total).
        return Reading(elapsed: elapsed, rate: rate, remaining: rate.map { max(0, Double(total) - Double(done)) / $0 })
    }

    /// `██████░░░░ 112/340  4.1/s  ETA 0:56`, or `... in 1:23` at the end.
    package static func bar(done: Int64, total: Int64, _ reading: Reading, width: Int = 30) -> String {
        let filled = Int(Double(width) * min(1, max(0, Double(done) / Double(total))))
        var text = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + " \(done)/\(total)"
        if let rate = reading.rate { text += "  " + rateText(rate) }
        if let remaining = reading.remaining, done < total { text += "  ETA " + clockText(remaining) }
        if done >= total { text += "  in " + clockText(reading.elapsed) }
        return text
    }

    package static func rateText(_ perSecond: Double) -> String {
        guard perSecond.isFinite, perSecond < 1e15 else { return "fast" }
        if perSecond >= 10 { return "\(Int(perSecond.rounded()))/s" }
        if perSecond >= 1 { return "\(Double(Int(perSecond * 10)) / 10)/s" }
        return "\(Int((60 * perSecond).rounded()))/min"
    }

    /// "0:07", "12:30", "1:02:03".
    package static func clockText(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 1e9 else { return "a very long time" }
        let total = Int(max(0, seconds).rounded())
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(secs))" : "\(minutes):\(two(secs))"
    }
}
