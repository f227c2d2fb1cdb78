// The plan the confirmation shows: the effect lines a dry-run prints, under their step
// headers, then the Plan: line. A long plan is cut after `limit` effect lines, with a
// count of the rest and where to read them all (the dry-run's log).

import RunbookCore
import RunbookEngine
import RunbookRun

struct PlanListing {
    /// Effect lines shown before the rest is only counted: a plan longer than a screen or
    /// two is read with `runbook log`, not scrolled past a question.
    static let limit = 40

    var plan: ReviewedPlan
    var colour: Bool

    /// The lines, each without its newline.
    func lines(limit: Int = PlanListing.limit) -> [String] {
        let log = "runbook log \(plan.planRun)"
        var lines = ["Plan of dry-run \(plan.planRun) (every effect: \(log)):"]
        var step: String?
        for effect in plan.effects.prefix(limit) {
            // Effects outside any step get no header, as in the dry-run's own output.
            if effect.step != step, effect.step != "(outside any step)" {
                lines.append(paint("▶ ", "34") + TerminalText.escape(effect.step))
            }
            step = effect.step
            lines.append("  " + paint(effect.sign.rawValue, PlanListing.colourCode(effect.sign)) + " "
                         + TerminalText.escape(effect.summary))
        }
        let rest = plan.effects.count - min(limit, plan.effects.count)
        if rest > 0 {
            lines.append("  … and \(rest) more effect\(rest == 1 ? "" : "s") (every effect: \(log))")
        }
        lines.append("Plan: \(PlanSummary.counts(plan.effects)).")
        return lines
    }

    private func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// The colours a run's console gives each sign.
    static func colourCode(_ sign: ChangeSign) -> String {
        switch sign {
        case .create: "32"
        case .change: "33"
        case .remove: "31"
        case .irreversible: "35"
        }
    }
}
