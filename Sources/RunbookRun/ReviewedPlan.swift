// A plan saved by `run --dry-run --save-plan FILE` and held to by `run --plan-file FILE`:
// the reviewed effects with their identities, and what the plan was made for (runbook,
// arguments with secrets masked, root, engine version). A real run given the plan checks
// each effect against it before applying it and stops at the first one that differs:
// the world changed since the review. The confirmation on a terminal holds a run to the
// plan it showed the same way: that plan goes through the same text and reader
// (`shown(...)`), so both are compared exactly alike.

import RunbookCore
import RunbookSupport

public struct ReviewedPlan: Sendable {
    /// The file format's name and version; a plan of another format is refused.
    public static let format = "runbook-plan/1"

    public var runbook: String
    public var file: String
    public var arguments: JSON
    public var root: String
    public var version: String
    /// The dry-run that made the plan (its log: `runbook log ID`).
    public var planRun: String
    public var effects: [EffectRecord]
    /// What the operator should do when the world changed since the review (not saved:
    /// it depends on how the plan was reviewed).
    public var remedy = "make a new plan with --dry-run --save-plan"

    public init(runbook: String, file: String, arguments: JSON, root: String, planRun: String, effects: [EffectRecord]) {
        self.runbook = runbook
        self.file = file
        self.arguments = arguments
        self.root = root
        version = RunbookVersion.current
        self.planRun = planRun
        self.effects = effects
    }

    public var json: JSON {
        .object([("format", .string(ReviewedPlan.format)), ("runbook", .string(runbook)), ("file", .string(file)),
                 ("arguments", arguments), ("root", .string(root)), ("engine_version", .string(version)),
                 ("plan_run", .string(planRun)), ("created", .string(Clock.iso8601(Clock.wall()))),
                 ("summary", .string(PlanSummary.counts(effects))),
                 ("effects", .array(effects.map { record in
                     // The result of a dry-run is symbolic and not part of what was reviewed.
                     var plain = record
                     plain.result = nil
                     return plain.json
                 }))])
    }

    /// One effect per line, so a plan file reads (and diffs) well in review.
    public var text: String {
        let head = (json.objectValue ?? []).filter { $0.0 != "effects" }
        var lines = ["{" + head.map { JSON.string($0.0).serialized + ":" + $0.1.serialized }.joined(separator: ",") + ",\"effects\":["]
        let effects = json["effects"]?.arrayValue ?? []
        for (index, effect) in effects.enumerated() {
            lines.append("  " + effect.serialized + (index + 1 < effects.count ? "," : ""))
        }
        lines.append("]}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the plan with the run's secrets masked (an identity may hold one, say a
    /// path named after it); `masked` is applied to the run's effects before comparing.
    public func save(_ path: String, redactor: Redactor) throws {
        try Posix.writeFile(path + ".tmp", Array(redactor.mask(text).utf8), mode: 0o644, sync: true)
        if rename(path + ".tmp", path) != 0 { throw SystemError("save", path) }
    }

    /// Reads a plan file; every problem is one line naming the file (exit 2).
    public static func load(_ path: String) throws -> ReviewedPlan {
        let text: String
        do { text = try Posix.readText(path) } catch {
            throw RunbookError.usage("cannot read the plan file \(path): \(error)")
        }
        return try parse(text, source: path)
    }

    /// The plan a dry-run just made, as a run is held to it: written and read back as a
    /// plan file would be (secrets masked, results dropped), so a plan shown on a terminal
    /// and one saved for review hold a run exactly alike.
    public static func shown(_ plan: ReviewedPlan, redactor: Redactor) throws -> ReviewedPlan {
        var read = try parse(redactor.mask(plan.text), source: "shown")
        read.remedy = "run it again to see the new plan"
        return read
    }

    /// A plan from its text; `source` names it in errors (the file's path).
    package static func parse(_ text: String, source path: String) throws -> ReviewedPlan {
        let json: JSON
        do {
            json = try JSON.parse(text)
        } catch {
            throw RunbookError.usage("cannot read the plan file \(path): \(error)")
        }
        guard json["format"]?.stringValue == format else {
            throw RunbookError.usage("\(path) is not a runbook plan (make one with `runbook run NAME ... --dry-run --save-plan \(path)`)")
        }
        var effects: [EffectRecord] = []
        for (index, item) in (json["effects"]?.arrayValue ?? []).enumerated() {
            guard let kind = item["kind"]?.stringValue, let sign = item["sign"]?.stringValue.flatMap(ChangeSign.init(rawValue:)) else {
                throw RunbookError.usage("the plan file \(path) is damaged: effect \(index + 1) has no kind or sign")
            }
            effects.append(EffectRecord(seq: index + 1, step: item["step"]?.stringValue ?? "", kind: kind, sign: sign,
                                        summary: item["summary"]?.stringValue ?? "", identity: item["identity"] ?? .null,
                                        result: nil))
        }
        var plan = ReviewedPlan(runbook: json["runbook"]?.stringValue ?? "", file: json["file"]?.stringValue ?? "",
                                arguments: json["arguments"] ?? .object([]), root: json["root"]?.stringValue ?? "/",
                                planRun: json["plan_run"]?.stringValue ?? "", effects: effects)
        plan.version = json["engine_version"]?.stringValue ?? "?"
        return plan
    }

    /// Why this plan cannot be used for this invocation, or nil. Secret arguments are
    /// masked in both, so they are not compared.
    public func refusal(path: String, runbook: String, arguments: JSON, root: String) -> String? {
        if runbook != self.runbook {
            return "the plan \(path) was made for runbook '\(self.runbook)', not '\(runbook)'"
        }
        if arguments != self.arguments {
            return "the plan \(path) was made for other arguments (\(ReviewedPlan.words(self.arguments))); "
                + "this run has \(ReviewedPlan.words(arguments))"
        }
        if root != self.root { return "the plan \(path) was made with --root \(self.root), not \(root)" }
        if version != RunbookVersion.current {
            return "the plan \(path) was made by runbook \(version); this is \(RunbookVersion.current): make a new plan"
        }
        return nil
    }

    /// Arguments as an operator types them: `--count=3 --dir=/tmp/x`.
    public static func words(_ arguments: JSON) -> String {
        let pairs = (arguments.objectValue ?? []).map { name, value -> String in
            let shown: String
            switch value {
            case .string(let s): shown = s
            case .array(let items): shown = items.map { $0.stringValue ?? $0.serialized }.joined(separator: ",")
            default: shown = value.serialized
            }
            return "--\(name.split(separator: "_", omittingEmptySubsequences: false).joined(separator: "-"))=\(shown)"
        }
        return pairs.isEmpty ? "no arguments" : pairs.joined(separator: " ")
    }

    // MARK: Holding a run to the plan

    /// `record` of run `runID` as the plan's dry-run would have made it: secrets masked
    /// (the plan file holds them masked), and this run's id read as the dry-run's (a
    /// runbook may write `context.run_id` somewhere, say a queue record's log).
    public func comparable(_ record: EffectRecord, runID: String, redactor: Redactor) -> EffectRecord {
        var copy = record
        var identity = record.identity.serialized
        var changed = false
        if !redactor.isEmpty {
            identity = redactor.mask(identity)
            changed = true
        }
        if !planRun.isEmpty, identity.contains(runID) {
            identity = identity.split(separator: runID, omittingEmptySubsequences: false).joined(separator: planRun)
            changed = true
        }
        if changed { copy.identity = (try? JSON.parse(identity)) ?? record.identity }
        if !planRun.isEmpty, record.step.contains(runID) {
            copy.step = record.step.split(separator: runID, omittingEmptySubsequences: false).joined(separator: planRun)
        }
        return copy
    }

    /// Why `actual` (effect number actual.seq of the run) is not what the plan said, or nil.
    public func difference(_ actual: EffectRecord) -> String? {
        guard actual.seq <= effects.count else {
            return "effect \(actual.seq) (\(actual.sign.rawValue) \(actual.summary)) is not in the reviewed plan, "
                + "which ends after \(effects.count) effect\(effects.count == 1 ? "" : "s")"
        }
        let planned = effects[actual.seq - 1]
        var detail: String?
        if planned.kind != actual.kind || planned.sign != actual.sign {
            detail = nil
        } else if !ReviewedPlan.matches(planned.step, actual.step) {
            detail = "in step '\(actual.step)', planned in step '\(planned.step)'"
        } else if let path = ReviewedPlan.firstDifference(planned.identity, actual.identity, path: "") {
            detail = "\(path.isEmpty ? "its identity" : path) differs"
        } else {
            return nil
        }
        return "effect \(actual.seq) differs from the reviewed plan: "
            + "planned \(planned.sign.rawValue) \(planned.summary), now \(actual.sign.rawValue) \(actual.summary)"
            + (detail.map { " (\($0))" } ?? "")
    }

    /// The first key path where `planned` and `actual` differ, or nil when they match.
    /// A planned "(known after apply: ...)" part of a string matches anything.
    package static func firstDifference(_ planned: JSON, _ actual: JSON, path: String) -> String? {
        switch (planned, actual) {
        case (.object(let a), .object(let b)):
            for (key, value) in a {
                let here = path.isEmpty ? key : path + "." + key
                guard let other = b.first(where: { $0.0 == key })?.1 else { return here }
                if let inner = firstDifference(value, other, path: here) { return inner }
            }
            for (key, _) in b where !a.contains(where: { $0.0 == key }) { return path.isEmpty ? key : path + "." + key }
            return nil
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return path }
            for (index, pair) in zip(a, b).enumerated() {
                if let inner = firstDifference(pair.0, pair.1, path: path + "[\(index + 1)]") { return inner }
            }
            return nil
        case (.string(let a), .string(let b)):
            return matches(a, b) ? nil : path
        case (.string(let a), _) where a.contains(symbolicMarker):
            return matches(a, actual.serialized) ? nil : path
        default:
            return planned == actual ? nil : path
        }
    }

    package static let symbolicMarker = "(known after apply"

    /// True when `actual` equals `planned`, each "(known after apply: ...)" in `planned`
    /// standing for any text (a dry-run does not know ids and counts).
    package static func matches(_ planned: String, _ actual: String) -> Bool {
        guard planned.contains(symbolicMarker) else { return planned == actual }
        // The literal parts around the symbolic values, in order.
        var literals: [Substring] = []
        var rest = Substring(planned)
        while let start = rest.firstRange(of: symbolicMarker) {
            literals.append(rest[rest.startIndex..<start.lowerBound])
            guard let close = rest[start.upperBound...].firstIndex(of: ")") else { return false }
            rest = rest[rest.index(after: close)...]
        }
        literals.append(rest)
        var remaining = Substring(actual)
        guard remaining.hasPrefix(literals[0]) else { return false }
        remaining = remaining.dropFirst(literals[0].count)
        for (index, literal) in literals.enumerated().dropFirst() {
            if index == literals.count - 1 { return remaining.hasSuffix(literal) }
            if literal.isEmpty { continue }
            guard let found = remaining.firstRange(of: literal) else { return false }
            remaining = remaining[found.upperBound...]
        }
        return true
    }
}
