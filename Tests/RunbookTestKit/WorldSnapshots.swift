// What each kind of test world puts in its snapshot for expectUndoRestores, and how a run
// in it is undone.

import RunbookEngine

/// A sandbox as expectUndoRestores sees it: a tree (the sandbox's, or another one under
/// it) and the sandbox's database, if it has one.
package struct SandboxWorld: UndoableWorld {
    package let sandbox: Sandbox
    package let tree: String
    /// An undone insert legitimately leaves the AUTO_INCREMENT counter advanced; a dry-run
    /// must not even do that.
    package let withAutoIncrement: Bool

    /// Every path of the tree (type, mode, owner, content or link target) and each table's
    /// definition and rows.
    package func snapshot() throws -> Fingerprint {
        var print = Fingerprint()
        print.sections["file"] = TreeFingerprint(tree).entries
        if let database = sandbox.database { print.sections["table"] = try database.tables(withAutoIncrement: withAutoIncrement) }
        return print
    }

    package func undo(_ runID: String) throws -> ChildResult { try sandbox.runbook(["undo", runID]) }
}

extension Sandbox: UndoableWorld {
    /// This sandbox with another tree, or with the AUTO_INCREMENT counters compared.
    package func world(tree: String? = nil, withAutoIncrement: Bool = false) -> SandboxWorld {
        SandboxWorld(sandbox: self, tree: tree ?? self.tree, withAutoIncrement: withAutoIncrement)
    }

    package func snapshot() throws -> Fingerprint { try world().snapshot() }

    package func undo(_ runID: String) throws -> ChildResult { try runbook(["undo", runID]) }
}

extension TestDatabase {
    /// Each table's definition and rows (TestDatabase.dump), by table name.
    package func tables(withAutoIncrement: Bool = false) throws -> [String: String] {
        var tables: [String: String] = [:]
        var table = ""
        for line in try dump(withAutoIncrement: withAutoIncrement) {
            if line.hasPrefix("table "), let colon = line.firstIndex(of: ":") {
                table = String(line[line.index(line.startIndex, offsetBy: 6)..<colon])
            }
            tables[table, default: ""] += line + "\n"
        }
        return tables
    }
}

extension PlatformWorld: UndoableWorld {
    /// The sandbox's tree and the tables of both databases ("internal.T", "master.T").
    package func snapshot() throws -> Fingerprint {
        var print = Fingerprint()
        print.sections["file"] = TreeFingerprint(box.tree).entries
        for (name, database) in [("internal", internalDB), ("master", master)] {
            for (table, rows) in try database.tables() { print["table"][name + "." + table] = rows }
        }
        return print
    }

    package func undo(_ runID: String) throws -> ChildResult { try box.runbook(["undo", runID]) }
}

extension WorldState {
    /// The same state as sections: file, table, databases, users, mounts.
    package var fingerprint: Fingerprint {
        var print = Fingerprint()
        print.sections["file"] = tree.entries
        print.sections["table"] = tables.mapValues { $0.joined(separator: "\n") }
        print["databases"]["names"] = databases.joined(separator: " ")
        print["users"]["names"] = users.joined(separator: "\n")
        print["mounts"]["all"] = mounts.joined(separator: "\n")
        return print
    }
}

extension DemoWorld: UndoableWorld {
    package func snapshot() throws -> Fingerprint { try state().fingerprint }

    package func undo(_ runID: String) throws -> ChildResult { try runbook(["undo", runID]) }
}

extension CampaignWorld: UndoableWorld {
    package func snapshot() throws -> Fingerprint { try fingerprint() }

    /// nginx takes a moment to swap its workers after a reload.
    package func settledSnapshot(like expected: Fingerprint) throws -> Fingerprint { try settledFingerprint(like: expected) }

    package func undo(_ runID: String) throws -> ChildResult { try runbook(["undo", runID]) }
}

extension DemoWorld {
    /// `ignoring:` prefixes for every Subversion working copy's `.svn` folder under the root:
    /// svn rewrites its own bookkeeping (wc.db, pristine copies) on every update, undo included.
    package func svnBookkeeping() -> [String] {
        TreeFingerprint(root).entries.keys.filter { $0.hasSuffix("/.svn") }.sorted().map { "file " + $0 }
    }
}
