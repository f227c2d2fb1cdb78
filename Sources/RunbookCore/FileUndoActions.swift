// Undo steps for the filesystem. Paths are real paths (already under the root); each is
// reached by a walk from the run's root and changed with *at(2) calls, so a link swapped in
// after the run is never followed (FileAt.swift).

import RunbookSupport

/// Removes a directory the run created, if it is still there and empty.
package struct RemoveDirectoryUndo: UndoAction {
    package static let op = "fs.rmdir"
    package let path: String

    package var changedPaths: [String] { [path] }
    package var description: String { "remove directory \(path)" }

    package func run(in world: World) throws {
        let shown = world.paths.virtual(path)
        try world.paths.withExistingParent(of: path) { directory, name in
            // rmdir(2) alone tells what is there (it never follows a symlink): nothing, something
            // else than a directory, or a directory that is not empty.
            guard unlinkat(directory, name, AT_REMOVEDIR) != 0 else { return }
            switch errno {
            case ENOENT: return
            case ENOTDIR: throw UndoError("\(shown) is no longer a directory; left as it is")
            case ENOTEMPTY, EEXIST: throw UndoError("cannot remove \(shown): it holds files this run did not create")
            default: throw SystemError("rmdir", shown)
            }
        }
    }
}

extension RemoveDirectoryUndo {
    package init(args: JSON) throws { path = try args.undoString("path", of: Self.op) }

    package var args: [(String, JSON)] { [("path", .string(path))] }
}

/// Removes a file or symlink the run created; a symlink only if it still points where the
/// run pointed it (otherwise someone else changed it since), a file only if it still has the
/// size the run wrote. What a killed write left beside it goes too.
package struct RemoveEntryUndo: UndoAction {
    package static let op = "fs.unlink"
    package let path: String
    /// The link's target as the run made it (a symlink).
    package let target: String?
    /// The size the run wrote (a file).
    package let size: Int64?

    package init(path: String, target: String? = nil, size: Int64? = nil) {
        self.path = path
        self.target = target
        self.size = size
    }

    package init(args: JSON) throws {
        path = try args.undoString("path", of: Self.op)
        target = args["target"]?.stringValue
        size = args["size"]?.intValue
    }

    package var args: [(String, JSON)] {
        var args: [(String, JSON)] = [("path", .string(path))]
        if let target { args.append(("target", .string(target))) }
        if let size { args.append(("size", .int(size))) }
        return args
    }

    package var changedPaths: [String] { [path] }
    package var description: String { "remove \(path)" }

    package func run(in world: World) throws {
        let shown = world.paths.virtual(path)
        try world.paths.withExistingParent(of: path) { directory, name in
            if let target {
                // readlink(2) answers both questions: a symlink, still pointing where the run made it.
                guard Posix.readLink(at: directory, name) == target else { return }
                if unlinkat(directory, name, 0) != 0 { throw SystemError("unlink", shown) }
                return
            }
            // A new link is made in place (symlinkat); only a write leaves a temporary beside it.
            FileAt.removeLeftover(directory, name)
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            let kind = info.st_mode & S_IFMT
            if let size, kind == S_IFREG, Int64(info.st_size) != size {
                throw UndoError("\(shown) changed since this run wrote it; left as it is")
            }
            if kind == S_IFDIR { throw UndoError("\(shown) is now a directory; left as it is") }
            if unlinkat(directory, name, 0) != 0 { throw SystemError("unlink", shown) }
        }
    }
}

/// Puts back the copy of what the run overwrote or removed (BackupStore).
package struct RestoreBackupUndo: UndoAction {
    package static let op = "fs.restore"
    package let path: String
    /// The backup's name in the run's backups folder.
    package let backup: String

    /// Saves what is at `path` now and returns the step that puts it back.
    package static func saving(_ path: String, in world: World) throws -> RestoreBackupUndo {
        RestoreBackupUndo(path: path, backup: try world.backups.save(path, in: world.paths))
    }

    package var changedPaths: [String] { [path] }
    package var description: String { "restore \(path) from backup" }

    package func run(in world: World) throws {
        try world.paths.withExistingParent(of: path) { directory, name in FileAt.removeLeftover(directory, name) }
        try world.backups.restore(backup, to: path, in: world.paths)
    }
}

extension RestoreBackupUndo {
    package init(args: JSON) throws {
        path = try args.undoString("path", of: Self.op)
        backup = try args.undoString("backup", of: Self.op)
    }

    package var args: [(String, JSON)] { [("path", .string(path)), ("backup", .string(backup))] }
}

/// Renames `from` back to `to` (the undo of a rename from `to` to `from`).
package struct RenameBackUndo: UndoAction {
    package static let op = "fs.rename"
    package let from: String
    package let to: String

    package var changedPaths: [String] { [from, to] }
    package var description: String { "rename \(from) back to \(to)" }

    package func run(in world: World) throws {
        // If the original path is occupied, the rename never happened (a crash between the
        // intent and the rename): moving `from` over it would destroy the original.
        guard world.paths.entryInfo(from) != nil, world.paths.entryInfo(to) == nil else { return }
        try FileAt.rename(from, to: to, in: world.paths, shown: world.paths.virtual(from))
    }
}

extension RenameBackUndo {
    package init(args: JSON) throws {
        from = try args.undoString("from", of: Self.op)
        to = try args.undoString("to", of: Self.op)
    }

    package var args: [(String, JSON)] { [("from", .string(from)), ("to", .string(to))] }
}

/// Sets the permission bits back.
package struct ChangeModeBackUndo: UndoAction {
    package static let op = "fs.chmod"
    package let path: String
    package let mode: Int64

    package var changedPaths: [String] { [path] }
    package var description: String { "chmod \(path) back" }

    package func run(in world: World) throws {
        try FileAt.withEntry(path, in: world.paths) { directory, name in
            try FileAt.changeMode(directory, name, UInt32(truncatingIfNeeded: mode), shown: world.paths.virtual(path))
        }
    }
}

extension ChangeModeBackUndo {
    package init(args: JSON) throws {
        path = try args.undoString("path", of: Self.op)
        guard let mode = args["mode"]?.intValue else { throw UndoError("fs.chmod undo lacks a mode") }
        self.mode = mode
    }

    package var args: [(String, JSON)] { [("path", .string(path)), ("mode", .int(mode))] }
}

/// Sets the owner back.
package struct ChangeOwnerBackUndo: UndoAction {
    package static let op = "fs.chown"
    package let path: String
    package let uid: Int64
    package let gid: Int64

    package var changedPaths: [String] { [path] }
    package var description: String { "chown \(path) back" }

    package func run(in world: World) throws {
        try FileAt.withEntry(path, in: world.paths) { directory, name in
            if fchownat(directory, name, uid_t(truncatingIfNeeded: uid), gid_t(truncatingIfNeeded: gid), AT_SYMLINK_NOFOLLOW) != 0 {
                throw SystemError("chown", world.paths.virtual(path))
            }
        }
    }
}

extension ChangeOwnerBackUndo {
    package init(args: JSON) throws {
        path = try args.undoString("path", of: Self.op)
        guard let uid = args["uid"]?.intValue, let gid = args["gid"]?.intValue else { throw UndoError("fs.chown undo lacks an owner") }
        self.uid = uid
        self.gid = gid
    }

    package var args: [(String, JSON)] { [("path", .string(path)), ("uid", .int(uid)), ("gid", .int(gid))] }
}

/// Points symlinks back at their old targets; a link someone changed since is left alone.
package struct RelinkBackUndo: UndoAction {
    package static let op = "fs.relink"
    /// Each link: its path, the target the run set, its old target.
    package let links: [(path: String, newTarget: String, oldTarget: String)]

    package var description: String { "point \(links.count) symlinks back at their old targets" }

    package func run(in world: World) throws {
        for link in links {
            try world.paths.withExistingParent(of: link.path) { directory, name in
                FileAt.removeLeftover(directory, name)
                guard Posix.readLink(at: directory, name) == link.newTarget else { return }
                try FileAt.replaceLink(directory, name, target: link.oldTarget, shown: world.paths.virtual(link.path))
            }
        }
    }
}

extension RelinkBackUndo {
    package init(args: JSON) throws {
        // An entry that is not three strings was never written; it is skipped, as before.
        links = (args["links"]?.arrayValue ?? []).compactMap { entry in
            guard let parts = entry.arrayValue?.compactMap(\.stringValue), parts.count == 3 else { return nil }
            return (parts[0], parts[1], parts[2])
        }
    }

    package var args: [(String, JSON)] {
        [("links", .array(links.map { .array([.string($0.path), .string($0.newTarget), .string($0.oldTarget)]) }))]
    }
}
