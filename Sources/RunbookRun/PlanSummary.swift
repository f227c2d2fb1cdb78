// A plan in a few words: counts by sign (the dry-run's last line, the confirmation
// question, a saved plan's summary) and the steps with their number of effects.

import RunbookCore

public enum PlanSummary {
    public static func counts(_ effects: [EffectRecord]) -> String {
        func count(_ sign: ChangeSign) -> Int { effects.filter { $0.sign == sign }.count }
        return "\(count(.create)) to create, \(count(.change)) to change, \(count(.remove)) to remove, "
            + "\(count(.irreversible)) cannot be undone"
    }

    /// Each step with its number of effects, in the order they come.
    public static func steps(_ effects: [EffectRecord]) -> [(step: String, effects: Int)] {
        var result: [(step: String, effects: Int)] = []
        for effect in effects {
            if let last = result.last, last.step == effect.step {
                result[result.count - 1].effects += 1
            } else {
                result.append((effect.step, 1))
            }
        }
        return result
    }
}
