// A world as comparable text: section -> item -> value, with readable differences.

import Testing
import RunbookEngine

/// The world as comparable text: section -> item -> value.
package struct Fingerprint: Equatable {
    package var sections: [String: [String: String]] = [:]

    package init(sections: [String: [String: String]] = [:]) { self.sections = sections }

    package subscript(section: String) -> [String: String] {
        get { sections[section] ?? [:] }
        set { sections[section] = newValue }
    }

    /// "section item" keys that differ.
    package func differingKeys(from other: Fingerprint) -> [String] {
        var keys: [String] = []
        for section in Set(sections.keys).union(other.sections.keys).sorted() {
            let mine = self[section], theirs = other[section]
            for item in Set(mine.keys).union(theirs.keys).sorted() where mine[item] != theirs[item] {
                keys.append(section + " " + item)
            }
        }
        return keys
    }

    /// The differences (all, or the keys `only` names), both sides shown (cut), for a
    /// failure message.
    package func differences(from other: Fingerprint, only chosen: [String]? = nil, limit: Int = 12) -> String {
        let keys = chosen ?? differingKeys(from: other)
        var lines: [String] = []
        for key in keys.prefix(limit) {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            let item = parts.count > 1 ? parts[1] : ""
            func cut(_ text: String?) -> String {
                guard let text else { return "(absent)" }
                return text.count > 600 ? String(text.prefix(600)) + "..." : text
            }
            let before = other[parts[0]][item], now = self[parts[0]][item]
            if let before, let now, before.contains("\n") || now.contains("\n") {
                // Long listings (svn status, a table): only the lines that differ.
                let old = before.split(separator: "\n", omittingEmptySubsequences: false), new = now.split(separator: "\n", omittingEmptySubsequences: false)
                let gone = old.filter { !new.contains($0) }, added = new.filter { !old.contains($0) }
                lines.append("\(key):\n    only before: \(cut(gone.joined(separator: "\n")))\n    only now:    \(cut(added.joined(separator: "\n")))")
                continue
            }
            lines.append("\(key):\n    before: \(cut(before))\n    now:    \(cut(now))")
        }
        if keys.count > limit { lines.append("... and \(keys.count - limit) more") }
        return lines.joined(separator: "\n")
    }
}
