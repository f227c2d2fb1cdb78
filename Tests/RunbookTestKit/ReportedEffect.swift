// One effect as `--json` reports it, and how a planned one matches an applied one.

import RunbookEngine
import RunbookSupport
import Testing

/// One effect as `--json` reports it (effect_planned or effect_applied).
package struct ReportedEffect: CustomStringConvertible {
    package var kind: String
    package var sign: String
    package var step: String
    package var identity: JSON

    package init(_ event: JSON) {
        kind = event["kind"]?.stringValue ?? "?"
        sign = event["sign"]?.stringValue ?? "?"
        step = event["step"]?.stringValue ?? "?"
        identity = event["identity"] ?? .null
    }

    package var description: String { "\(sign) \(kind) [\(step)] \(identity.serialized)" }

    /// Planned values "(known after apply: ...)" match anything.
    package func matches(applied: ReportedEffect) -> Bool {
        kind == applied.kind && sign == applied.sign && step == applied.step
            && ReportedEffect.match(planned: identity, applied: applied.identity)
    }

    package static func match(planned: JSON, applied: JSON) -> Bool {
        if let text = planned.stringValue, text.hasPrefix("(known after apply") { return true }
        switch (planned, applied) {
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { match(planned: $0, applied: $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { key, value in b.first { $0.0 == key }.map { match(planned: value, applied: $0.1) } ?? false }
        default:
            return planned == applied
        }
    }
}
