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
        if let database = sandbox.database {
            var table = ""
            for line in try database.dump(withAutoIncrement: withAutoIncrement) {
                if line.hasPrefix("table "), let colon = line.firstIndex(of: ":") {
                    table = String(line[line.index(line.startIndex, offsetBy: 6)..<colon])
                }
                print["table"][table, default: ""] += line + "\n"
            }
        }
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
