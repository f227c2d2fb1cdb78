// A tree as an operator compares it, and the expectations that compare trees and rows.

import RunbookEngine
import RunbookSupport
import Testing

/// What an operator would compare to say "the tree is exactly as it was": every path with
/// its type, permission bits, owner, and content or link target.
package struct TreeFingerprint: Equatable, CustomStringConvertible {
    package var entries: [String: String]

    package init(_ root: String) {
        entries = [:]
        TreeFingerprint.walk(root, relative: ".", into: &entries)
    }

    private static func walk(_ path: String, relative: String, into entries: inout [String: String]) {
        guard let info = Posix.lstatInfo(path) else {
            entries[relative] = "(missing)"
            return
        }
        if info.kind == .directory {
            for name in (try? Posix.list(path)) ?? [] {
                walk(path + "/" + name, relative: relative + "/" + name, into: &entries)
            }
        }
        entries[relative] = entryLine(path, info)
    }

    /// One entry as an operator compares it: its type, permission bits, owner, and content
    /// or link target.
    package static func entryLine(_ path: String, _ info: FileInfo) -> String {
        var line = "\(info.kind.rawValue) mode=\(String(info.mode, radix: 8)) owner=\(info.uid):\(info.gid)"
        switch info.kind {
        case .file:
            let bytes = (try? Posix.readFile(path)) ?? []
            line += " size=\(bytes.count) content=\(JSON.string(String(decoding: bytes, as: UTF8.self)).serialized)"
        case .symlink:
            line += " -> \(Posix.readLink(path) ?? "?")"
        case .directory, .other:
            break
        }
        return line
    }

    package var description: String { entries.keys.sorted().map { "\($0): \(entries[$0]!)" }.joined(separator: "\n") }

    /// The differences, one line each, for a failure message.
    package func difference(from other: TreeFingerprint) -> String {
        var lines: [String] = []
        for key in Set(entries.keys).union(other.entries.keys).sorted() where entries[key] != other.entries[key] {
            lines.append("\(key):\n    before: \(other.entries[key] ?? "(absent)")\n    after:  \(entries[key] ?? "(absent)")")
        }
        return lines.joined(separator: "\n")
    }
}

/// Expects `after` to equal `before`, showing the differing paths when it does not.
package func expectSameTree(_ before: TreeFingerprint, _ after: TreeFingerprint, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation)
{
    #expect(before == after, "\(what): the tree changed:\n\(after.difference(from: before))", sourceLocation: sourceLocation)
}

package func expectSameRows(_ before: [String], _ after: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let removed = before.filter { !after.contains($0) }
    let added = after.filter { !before.contains($0) }
    #expect(before == after, "\(what): the database changed:\n  missing now: \(removed)\n  new: \(added)",
            sourceLocation: sourceLocation)
}
