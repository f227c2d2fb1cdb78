// A real run changes the world only with the operator's consent: `--yes`, a reviewed plan
// (`--plan-file`), or "y" to the question asked on a terminal. The question shows the plan
// (a dry-run, recorded in the history like any other), and the run that follows is held
// to exactly that plan, as `--plan-file` holds one: a world that changed between the
// question and the answer stops the run before the first differing effect. Without a
// terminal to ask on (cron, a pipe, `< /dev/null`, --json) and without consent, the run is
// refused before it touches anything (exit 2), as Terraform's apply is without -auto-approve.

import ArgumentParser
import RunbookEngine
import RunbookRun
import RunbookSupport

enum Confirmation {
    enum Decision {
        /// Consent given (or no real run): go ahead.
        case proceed
        /// Ask, showing the plan and the question on this descriptor (stdout or stderr).
        case ask(on: Int32)
        /// No consent and no terminal to ask on: this line says how to proceed.
        case refuse(String)
    }

    static let howToProceed = "add --yes to apply without a question, or review a plan first "
        + "(--dry-run --save-plan FILE) and apply it with --plan-file FILE"

    /// Whether this run may go ahead, must ask, or is refused. A run with --save-plan
    /// and without --dry-run goes ahead to the engine, which refuses it (exit 2).
    static func decide(dryRun: Bool, json: Bool, yes: Bool, planFile: String?, savePlan: String?) -> Decision {
        if dryRun || yes || planFile != nil || savePlan != nil { return .proceed }
        if json { return .refuse("a real run with --json cannot ask before it changes anything: " + howToProceed) }
        guard isatty(0) == 1 else {
            return .refuse("a real run asks before it changes anything, and stdin is not a terminal: " + howToProceed)
        }
        // The plan and question go where the operator sees them: stdout, or stderr when
        // stdout is a pipe or a file (`runbook run x | tee run.log`).
        if isatty(1) == 1 { return .ask(on: 1) }
        if isatty(2) == 1 { return .ask(on: 2) }
        return .refuse("a real run asks before it changes anything, and neither stdout nor stderr is a terminal: " + howToProceed)
    }

    /// Plans the run, shows the plan and asks. The plan to hold the run to on "y";
    /// otherwise the exit status to end with (nothing was changed).
    static func ask(engine: Engine, name: String, words: [String], options: RunOptions,
                    on descriptor: Int32) -> Result<ReviewedPlan, ExitCode>
    {
        var planOptions = options
        planOptions.dryRun = true
        planOptions.output = .quiet
        planOptions.keepPlan = true
        let made = engine.run(name, words: words, options: planOptions)
        guard made.status == .done, let plan = made.plan else {
            if let planID = made.runID {
                printError("runbook: the plan failed: \(made.error ?? "unknown error")")
                printError("  nothing was changed. Details: runbook log \(planID) --failures")
            } else {
                printError("runbook: \(made.error ?? "the plan failed")")
            }
            return .failure(ExitCode(made.status.rawValue))
        }
        let colour = options.console.colour.wanted(onTerminal: isatty(descriptor) == 1)
        let listing = PlanListing(plan: plan, colour: colour).lines()
        write(listing.map { $0 + "\n" }.joined() + "Apply exactly these changes? [y/N] ", to: descriptor)
        let answer = readLine(0).lowercased()
        guard answer == "y" || answer == "yes" else {
            write("Not applied: nothing was changed. (--yes skips this question.)\n", to: descriptor)
            return .failure(ExitCode(ExitStatus.failed.rawValue))
        }
        return .success(plan)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        _ = try? Posix.writeAll(descriptor, Array(text.utf8), path: descriptor == 1 ? "stdout" : "stderr")
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
