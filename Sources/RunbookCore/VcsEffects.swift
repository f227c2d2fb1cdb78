// Version-control working copies as effects (the platform's codebases are Subversion
// checkouts): check out, update, and their undo.

import RunbookSupport

/// The version-control systems of working copies (the platform's codebases are Subversion).
package enum VcsKind: String, Sendable {
    case svn, git

    package func checkout(url: String, path: String, revision: String?) -> [String] {
        switch self {
        case .svn: return ["svn", "checkout", "-q", "--non-interactive"] + (revision.map { ["-r", $0] } ?? []) + [url, path]
        case .git: return ["git", "clone", "-q", url, path]
        }
    }

    /// The revision the working copy is at; `reader` runs the program on the host that has it.
    package func currentRevision(_ path: String, reading reader: ProgramReader = ProcessRunner.reading) throws -> String {
        let argv = self == .svn ? ["svn", "info", "--show-item", "revision", "--non-interactive", path] : ["git", "-C", path, "rev-parse", "HEAD"]
        return try ProcessRunner.check(argv, timeout: 60, with: reader).outputText.trimmed
    }

    /// Updates to `revision` (HEAD / the remote's default branch when nil).
    package func update(_ path: String, revision: String?) throws {
        switch self {
        case .svn:
            try ProcessRunner.check(["svn", "update", "-q", "--non-interactive", "--accept", "postpone"]
                                    + (revision.map { ["-r", $0] } ?? []) + [path], timeout: 3600)
        case .git:
            try ProcessRunner.check(["git", "-C", path, "fetch", "-q"], timeout: 3600)
            try ProcessRunner.check(["git", "-C", path, "checkout", "-q", revision ?? "FETCH_HEAD"], timeout: 600)
        }
    }

    /// Files in conflict after an update (the guide's `svn st` check).
    package func conflicts(_ path: String, reading reader: ProgramReader = ProcessRunner.reading) throws -> [String] {
        switch self {
        case .svn:
            let output = try ProcessRunner.check(["svn", "status", "--non-interactive", path], timeout: 600, with: reader).outputText
            return output.split(separator: "\n").compactMap { line in
                let columns = Array(line.prefix(7))
                guard columns.count == 7, columns[0] == "C" || columns[1] == "C" || columns[6] == "C" else { return nil }
                return String(line.dropFirst(8)).trimmed
            }
        case .git:
            let output = try ProcessRunner.check(["git", "-C", path, "diff", "--name-only", "--diff-filter=U"], timeout: 600,
                                                 with: reader).outputText
            return output.split(separator: "\n").map(String.init)
        }
    }

    /// The working copy `path` is in (a file or folder inside one counts: Subversion updates
    /// single files, the guide's "Updating specific files"). `exists` looks on the host that
    /// has it, without following a link.
    package static func detect(_ path: String, exists: (String) -> Bool = { Posix.lstatInfo($0) != nil }) -> VcsKind? {
        var current = path
        while true {
            if exists(current + "/.svn") { return .svn }
            if exists(current + "/.git") { return .git }
            let parent = PathName.parent(current)
            if parent == current || current == "/" || current.isEmpty { return nil }
            current = parent
        }
    }
}

package struct VcsCheckout: Effect {
    package let kind_: VcsKind
    package let url: String
    package let path: EffectPath
    package let revision: String?
    package var kind: String { "vcs.checkout" }
    package var sign: ChangeSign { .create }
    package var summary: String { "check out \(url)\(revision.map { "@" + $0 } ?? "") into \(path.shown) (\(kind_.rawValue))" }
    package var identity: JSON {
        .object([("url", .string(url)), ("path", .string(path.shown)), ("revision", revision.map { .string($0) } ?? .null)])
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { [RemoveCheckoutUndo(path: path.real)] }

    package func apply(_ world: World) throws -> EffectOutcome {
        do {
            try ProcessRunner.check(kind_.checkout(url: url, path: path.real, revision: revision), timeout: 3600)
            if kind_ == .git, let revision { try ProcessRunner.check(["git", "-C", path.real, "checkout", "-q", revision], timeout: 600) }
            return EffectOutcome(result: .string(try kind_.currentRevision(path.real)))
        } catch {
            // A failed effect is not in the undo list, so a half checkout would stay behind.
            // vcs.checkout refuses a path that exists, so everything here is the checkout's.
            _ = try? world.paths.withExistingParent(of: path.real) { directory, name in
                try Posix.removeTree(at: directory, name, shown: path.shown)
            }
            throw error
        }
    }

    /// A Subversion checkout of a numbered revision is at that revision; anything else
    /// (the latest, a git branch) is known only once checked out.
    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.makeDirectory(path.real, mode: 0o755)
        if kind_ == .svn, let revision, !revision.isEmpty, revision.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return EffectOutcome(result: .string(revision))
        }
        return EffectOutcome(result: .string(SymbolicValue.text("revision")))
    }

    package init(kind_: VcsKind, url: String, path: EffectPath, revision: String?) {
        self.kind_ = kind_
        self.url = url
        self.path = path
        self.revision = revision
    }
}

package struct VcsUpdate: Effect {
    package let kind_: VcsKind
    package let path: EffectPath
    package let fromRevision: String
    package let revision: String?
    package var kind: String { "vcs.update" }
    package var sign: ChangeSign { .change }
    package var summary: String { "update \(path.shown) from revision \(fromRevision) to \(revision ?? "the latest")" }
    package var identity: JSON { .object([("path", .string(path.shown)), ("revision", revision.map { .string($0) } ?? .null)]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [UpdateCheckoutBackUndo(path: path.real, kind: kind_.rawValue, revision: fromRevision)]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try kind_.update(path.real, revision: revision)
        return EffectOutcome(result: .object([("revision", .string(try kind_.currentRevision(path.real))),
                                              ("conflicts", .array(try kind_.conflicts(path.real).map { .string($0) }))]))
    }

    /// Conflicts are known only once updated: the plan has none.
    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        EffectOutcome(result: .object([("revision", .string(SymbolicValue.text("revision"))), ("conflicts", .array([]))]))
    }

    package init(kind_: VcsKind, path: EffectPath, fromRevision: String, revision: String?) {
        self.kind_ = kind_
        self.path = path
        self.fromRevision = fromRevision
        self.revision = revision
    }
}

/// Removes a working copy the run checked out.
package struct RemoveCheckoutUndo: UndoAction {
    package static let op = "vcs.remove_checkout"
    package let path: String

    package var changedPaths: [String] { [path] }
    package var description: String { "remove the checkout \(path)" }

    package func run(in world: World) throws {
        try world.paths.withExistingParent(of: path) { directory, name in
            try Posix.removeTree(at: directory, name, shown: world.paths.virtual(path))
        }
    }
}

extension RemoveCheckoutUndo {
    package init(args: JSON) throws { path = try args.undoString("path", of: Self.op) }

    package var args: [(String, JSON)] { [("path", .string(path))] }
}

/// Updates a working copy back to the revision it had before the run.
package struct UpdateCheckoutBackUndo: UndoAction {
    package static let op = "vcs.update"
    package let path: String
    /// The version control's name ("svn", "git"); checked when the step runs.
    package let kind: String
    package let revision: String

    package var changedPaths: [String] { [path] }
    package var description: String { "update \(path) back to revision \(revision)" }

    package func run(in world: World) throws {
        guard let kind = VcsKind(rawValue: kind) else { throw UndoError("unknown version control in undo") }
        try kind.update(path, revision: revision)
    }
}

extension UpdateCheckoutBackUndo {
    package init(args: JSON) throws {
        path = try args.undoString("path", of: Self.op)
        kind = try args.undoString("kind", of: Self.op)
        revision = try args.undoString("revision", of: Self.op)
    }

    package var args: [(String, JSON)] { [("path", .string(path)), ("kind", .string(kind)), ("revision", .string(revision))] }
}
