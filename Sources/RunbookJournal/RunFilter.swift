// Which runs `runbook history` shows: by runbook, status, argument value and start time.

import RunbookSupport

public struct RunFilter {
    public var runbooks: [String] = []
    public var statuses: [RunStatus] = []
    /// name=value pairs; a run matches when each named argument has that value.
    public var arguments: [(name: String, value: String)] = []
    public var since: Double?
    public var until: Double?

    public init() {}

    /// Every status a run record can have (docs/cli.md, `runbook history`).
    public static let knownStatuses = RunStatus.known.map(\.rawValue)

    public func matches(_ run: RunRecord) -> Bool {
        if !runbooks.isEmpty, !runbooks.contains(run.runbook) { return false }
        if !statuses.isEmpty, !statuses.contains(run.status) { return false }
        if let since, run.started < since { return false }
        if let until, run.started >= until { return false }
        for (name, value) in arguments {
            // `--arg install-id=7` and `--arg install_id=7` both name the parameter install_id.
            let key = name.split(separator: "-", omittingEmptySubsequences: false).joined(separator: "_")
            guard let argument = run.arguments[key], RunFilter.shown(argument).contains(value) else { return false }
        }
        return true
    }

    /// An argument's values as text: one for a scalar, each item for a list.
    package static func shown(_ value: JSON) -> [String] {
        switch value {
        case .string(let s): return [s]
        case .array(let items): return items.flatMap(shown)
        default: return [value.serialized]
        }
    }

    // MARK: Reading the options

    /// `NAME=VALUE` from `--arg`.
    public static func argument(_ text: String) throws -> (name: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw RunbookError.usage("--arg \(text): expected NAME=VALUE, for example --arg hostname=shop.example.com")
        }
        var name = String(text[..<equals])
        if name.hasPrefix("--") { name.removeFirst(2) }
        return (name, String(text[text.index(after: equals)...]))
    }

    public static func status(_ text: String) throws -> [RunStatus] {
        try text.split(separator: ",").map { name in
            guard let status = RunStatus(rawValue: String(name)), status != .unknown else {
                throw RunbookError.usage("--status \(text): unknown status '\(name)' (known: \(knownStatuses.joined(separator: ", ")))")
            }
            return status
        }
    }

    /// A time for --since/--until: `30m`, `2h`, `7d` ago, or a UTC date `2026-12-02`,
    /// `2026-12-02T15:30` or `2026-12-02T15:30:00` (a trailing `Z` is allowed).
    public static func time(_ text: String, option: String, now: Double = Clock.wall()) throws -> Double {
        let bad = RunbookError.usage("\(option) \(text): expected a time like 2h, 30m, 7d (ago) or 2026-12-02, 2026-12-02T15:30 (UTC)")
        if let unit = text.last, let count = Double(text.dropLast()), count >= 0 {
            switch unit {
            case "s": return now - count
            case "m": return now - count * 60
            case "h": return now - count * 3600
            case "d": return now - count * 86400
            default: break
            }
        }
        var body = Substring(text)
        if body.hasSuffix("Z") { body = body.dropLast() }
        let parts = body.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false).compactMap { Int32($0) }
        let clock = parts.count > 1 ? parts[1].split(separator: ":", omittingEmptySubsequences: false).compactMap { Int32($0) } : []
        guard date.count == 3, parts.count == 1 || (2...3).contains(clock.count),
              (1...12).contains(date[1]), (1...31).contains(date[2]),
              clock.count < 1 || (0...23).contains(clock[0]), clock.count < 2 || (0...59).contains(clock[1]),
              clock.count < 3 || (0...60).contains(clock[2])
        else { throw bad }
        var fields = tm()
        fields.tm_year = date[0] - 1900
        fields.tm_mon = date[1] - 1
        fields.tm_mday = date[2]
        fields.tm_hour = clock.count > 0 ? clock[0] : 0
        fields.tm_min = clock.count > 1 ? clock[1] : 0
        fields.tm_sec = clock.count > 2 ? clock[2] : 0
        return Double(timegm(&fields))
    }
}
