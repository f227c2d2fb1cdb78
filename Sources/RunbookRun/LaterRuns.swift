// Which later runs built on a run's changes. Undoing an install after an add-site on the
// same install once deleted the install and left the site's rows behind: `runbook undo`
// now compares the run's still-applied effects with those of every later run that was
// not undone, and refuses (without --force) when they share a file, a row or a link.

import RunbookCore
import RunbookJournal
import RunbookSupport

/// What the still-applied effects of one run touched, as keys that compare across runs:
/// real paths, and table rows as `connection/table/id`.
struct Footprint {
    /// A path an effect named, and whether the effect made, removed or moved it (then
    /// everything under it counts as touched too).
    struct PathMark: Hashable {
        var path: String
        var coversBelow: Bool
    }

    var paths: Set<PathMark> = []
    /// The rows the run inserted, changed or deleted.
    var rows: Set<String> = []
    /// The rows its rows point at through an `X_id` column (`install_id = 7`: installs/7).
    var references: Set<String> = []
    /// Other things only one run at a time can own: a user's crontab, an address on an interface.
    var others: Set<String> = []

    var isEmpty: Bool { paths.isEmpty && rows.isEmpty && others.isEmpty }

    /// The footprint of the effects a journal says are applied and not undone; `root` is
    /// the run's root (the journal names paths as the runbook saw them).
    static func ofJournal(at path: String, root: String) throws -> Footprint {
        var intents: [Int64: JSON] = [:]
        var results: [Int64: JSON] = [:]
        var undone = Set<Int64>()
        try JournalReader.forEach(path, types: [.intent, .applied, .undone], keys: ["seq", "kind", "sign", "identity", "result"]) {
            guard let seq = $0["seq"]?.intValue else { return }
            switch $0.recordKind {
            case .intent: intents[seq] = $0
            case .applied: if let result = $0["result"] { results[seq] = result }
            case .undone: undone.insert(seq)
            default: break
            }
        }
        var footprint = Footprint()
        for (seq, intent) in intents where !undone.contains(seq) {
            footprint.add(intent, result: results[seq], root: root)
        }
        return footprint
    }

    /// Adds one effect's marks from its journal intent.
    mutating func add(_ intent: JSON, result: JSON?, root: String) {
        let kind = intent["kind"]?.stringValue ?? ""
        let identity = intent["identity"] ?? .object([])
        let coversBelow = intent["sign"]?.stringValue != ChangeSign.change.rawValue || kind.hasSuffix("rename")
        if kind.hasPrefix("db.") {
            addRows(kind, identity, result: result)
            return
        }
        for key in ["path", "from", "to", "directory", "target", "source", "destination"] {
            guard let named = identity[key]?.stringValue, named.hasPrefix("/") else { continue }
            let real = root == "/" ? named : root + named
            paths.insert(PathMark(path: PathName.normalize(real) ?? real, coversBelow: coversBelow))
        }
        if let user = identity["user"]?.stringValue, identity["crontab"] != nil { others.insert("crontab of " + user) }
        if let interface = identity["interface"]?.stringValue, let address = identity["address"]?.stringValue {
            others.insert("address \(address) on \(interface)")
        }
    }

    private mutating func addRows(_ kind: String, _ identity: JSON, result: JSON?) {
        guard let connection = identity["connection"]?.stringValue, let table = identity["table"]?.stringValue else { return }
        let columns = (identity["row"]?.objectValue ?? []) + (identity["set"]?.objectValue ?? []) + (identity["where"]?.objectValue ?? [])
        // The row itself: by its id when the effect names it (or the server gave it one).
        let named = identity["row"]?["id"] ?? identity["where"]?["id"]
        if let id = named.flatMap(Footprint.keyText) ?? (kind == "db.insert" ? result.flatMap(Footprint.keyText) : nil) {
            rows.insert("\(connection)/\(table)/\(id)")
        } else if let filter = identity["where"] {
            rows.insert("\(connection)/\(table)/where \(filter.serialized)")
        }
        for (column, value) in columns where column.hasSuffix("_id") && column.count > 3 {
            guard let id = Footprint.keyText(value) else { continue }
            let target = String(column.dropLast(3))
            references.insert("\(connection)/\(target)s/\(id)")
            references.insert("\(connection)/\(target)/\(id)")
        }
    }

    /// An id as a key: an integer or a string (0 and empty are no id).
    static func keyText(_ value: JSON) -> String? {
        if let number = value.intValue { return number > 0 ? String(number) : nil }
        if let text = value.stringValue, !text.isEmpty { return text }
        return nil
    }

    /// What `later` touched of what this run touched, as lines for a person (at most `limit`).
    /// Paths are looked up by their folders in sets, not compared pairwise: a run of
    /// thousands of effects against many later runs stays quick.
    func shared(with later: Footprint, limit: Int = 3) -> [String] {
        var found: [String] = []
        let laterPaths = Set(later.paths.map(\.path))
        let laterCovering = Set(later.paths.filter(\.coversBelow).map(\.path))
        let ownPaths = Set(paths.map(\.path))
        let ownCovering = Set(paths.filter(\.coversBelow).map(\.path))
        for mark in paths.sorted(by: { $0.path < $1.path }) where found.count < limit {
            if laterPaths.contains(mark.path) {
                found.append(mark.path)
            } else if let above = Footprint.folders(of: mark.path).first(where: laterCovering.contains) {
                found.append("\(mark.path) (under \(above))")
            }
        }
        // What the later run did under a folder this run made, removed or moved.
        for other in later.paths.sorted(by: { $0.path < $1.path }) where found.count < limit && !ownPaths.contains(other.path) {
            if let above = Footprint.folders(of: other.path).first(where: ownCovering.contains) {
                found.append("\(other.path) (under \(above))")
            }
        }
        for row in rows.sorted() where found.count < limit && (later.rows.contains(row) || later.references.contains(row)) {
            found.append("row " + row)
        }
        for other in others.sorted() where found.count < limit && later.others.contains(other) { found.append(other) }
        return found
    }

    /// The folders above `path`, nearest first ("/a/b/c": "/a/b", "/a", "/").
    static func folders(of path: String) -> [String] {
        var folders: [String] = []
        var current = Substring(path)
        while let slash = current.lastIndex(of: "/"), !current.isEmpty {
            current = current[..<slash]
            folders.append(current.isEmpty ? "/" : String(current))
        }
        return folders
    }
}

/// A later run that built on a run's changes, and what they share.
public struct LaterRun: Sendable {
    public var record: RunRecord
    public var shared: [String]
}

public enum LaterRuns {
    /// The runs after `record` (newest first), not undone and not dry-runs, whose applied
    /// effects touch what `record`'s still-applied effects touched.
    public static func builtOn(_ record: RunRecord, in store: RunStore) throws -> [LaterRun] {
        // A run id starts with its UTC start time to the second: only the folders from the
        // run's second on are read (a state directory may hold years of runs).
        let stamp = record.id.prefix(15)
        let ids = ((try? Posix.list(store.runsDirectory)) ?? []).filter { RunStore.isValidID($0) && $0.prefix(15) >= stamp }
        let candidates = ids.compactMap { try? store.load($0) }.sorted { ($0.started, $0.id) > ($1.started, $1.id) }
            .filter { isLater($0, than: record) && !$0.dryRun && $0.status != .undone && $0.status != .planned }
        // The usual undo, of the last run, reads no journal twice (W1 in docs/performance.md).
        guard !candidates.isEmpty else { return [] }
        let own = try Footprint.ofJournal(at: store.journalPath(record.id), root: record.root)
        guard !own.isEmpty else { return [] }
        var found: [LaterRun] = []
        for later in candidates {
            let journal = store.journalPath(later.id)
            guard Posix.lstatInfo(journal) != nil,
                  let footprint = try? Footprint.ofJournal(at: journal, root: later.root) else { continue }
            let shared = own.shared(with: footprint)
            if !shared.isEmpty { found.append(LaterRun(record: later, shared: shared)) }
        }
        return found
    }

    static func isLater(_ other: RunRecord, than record: RunRecord) -> Bool {
        other.id != record.id && (other.started, other.id) > (record.started, record.id)
    }

    /// The refusal: which runs, what they share, and what to type.
    public static func refusal(_ runID: String, _ later: [LaterRun]) -> String {
        let named = later.map { "\($0.record.id) (\($0.record.runbook), \($0.record.status): \($0.shared.joined(separator: ", ")))" }
        let commands = later.map { "runbook undo \($0.record.id)" }.joined(separator: ", then ")
        return "run \(runID) has changes that \(later.count == 1 ? "a later run" : "\(later.count) later runs") built on: "
            + named.joined(separator: "; ") + ". Undo \(later.count == 1 ? "it first" : "them first, newest first") (\(commands)), "
            + "or undo this run anyway with --force"
    }
}
