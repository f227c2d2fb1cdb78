// The question a real run asks on a terminal: it plans first (a dry-run, recorded in the
// history like any other), shows the plan's counts by sign and its steps, and runs only
// after "y". Runs without a terminal (cron, the queue, scripts), with --yes, --json or a
// reviewed plan (--plan-file) never ask.

import RunbookEngine

enum Confirmation {
    /// True when this run must ask: a real run, interactive on both ends, nothing saying not to.
    static func needed(dryRun: Bool, json: Bool, yes: Bool, planFile: String?) -> Bool {
        !dryRun && !json && !yes && planFile == nil && isatty(0) == 1 && isatty(1) == 1
    }

    /// Plans the run and asks. Nil: go ahead; otherwise the exit status to end with
    /// (nothing was changed).
    static func ask(engine: Engine, name: String, words: [String], options: RunOptions) -> ExitStatus? {
        var planOptions = options
        planOptions.dryRun = true
        planOptions.output = .quiet
        let plan = engine.run(name, words: words, options: planOptions)
        guard plan.status == .done, let planID = plan.runID else {
            if let planID = plan.runID {
                printError("runbook: the plan failed: \(plan.error ?? "unknown error")")
                printError("  nothing was changed. Details: runbook log \(planID) --failures")
            } else {
                printError("runbook: \(plan.error ?? "the plan failed")")
            }
            return plan.status
        }
        printLine("Plan (dry-run \(planID); every effect: runbook log \(planID)):")
        for (step, count) in PlanSummary.steps(plan.effects) {
            printLine("  \(step): \(count) effect\(count == 1 ? "" : "s")")
        }
        printLine("  " + PlanSummary.counts(plan.effects))
        _ = try? Posix.writeAll(1, Array("Apply these changes? [y/N] ".utf8), path: "stdout")
        let answer = readLine(0).lowercased()
        guard answer == "y" || answer == "yes" else {
            printLine("Not applied: nothing was changed. (--yes skips this question.)")
            return .failed
        }
        return nil
    }

    /// One line from `descriptor`, without its newline and surrounding blanks.
    private static func readLine(_ descriptor: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(descriptor, &byte, 1) == 1, byte != 0x0a { bytes.append(byte) }
        let text = String(decoding: bytes, as: UTF8.self)
        return String(text.drop { $0 == " " || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\r" }.reversed())
    }
}

/// One line for a person on stderr, escaped for the terminal as `printLine` is.
func printError(_ text: String) {
    _ = try? Posix.writeAll(2, Array((TerminalText.escape(text, keepingLines: true) + "\n").utf8), path: "stderr")
}
