// Runs undo steps. Each operation checks the world first, so an effect whose intent was
// journaled but whose outcome never was (a crash in between) is undone only if it happened.

public typealias UndoHandler = (UndoStep, World) throws -> Void

public enum UndoRunner {
    /// Every undo operation the engine knows, by name: a primitive with a new kind of undo
    /// adds its handler to this list.
    nonisolated(unsafe) static let handlers: [String: UndoHandler] = [
        "fs.rmdir": FileUndo.removeDirectory,
        "fs.unlink": FileUndo.removeEntry,
        "fs.restore": FileUndo.restoreBackup,
        "fs.rename": FileUndo.renameBack,
        "fs.chmod": FileUndo.changeMode,
        "fs.chown": FileUndo.changeOwner,
        "fs.relink": FileUndo.relinkBack,
        "db.exec": DatabaseUndo.execute,
        "db.delete_inserted": DatabaseUndo.deleteInserted,
        "db.rewind_auto_increment": DatabaseUndo.rewindAutoIncrement,
        "db.reinsert_deleted": DatabaseUndo.reinsertDeleted,
        "db.drop_database": DatabaseAdminUndo.dropDatabase,
        "db.drop_user": DatabaseAdminUndo.dropUser,
        "cmd.run": SystemUndo.runCommand,
        "mount.bind": SystemUndo.bind,
        "mount.unmount": SystemUndo.unmount,
        "net.add_ip": SystemUndo.addAddress,
        "net.remove_ip": SystemUndo.removeAddress,
        "service.reload": SystemUndo.reloadService,
        "cron.restore": Crontab.restore,
        "vcs.remove_checkout": VcsUndo.removeCheckout,
        "vcs.update": VcsUndo.updateBack,
    ]

    // (Switches, not sets: comparing a few short strings is cheaper than hashing one, and
    // `runbook undo` asks for every entry.)

    /// Operations that only make sense once every other undo step has run (a reload
    /// must see the restored configuration files); run once each, at the end.
    static func isDeferred(_ op: String) -> Bool { op == "service.reload" }

    public static func run(_ step: UndoStep, in world: World) throws {
        guard let handler = handlers[step.op] else { throw UndoError("unknown undo operation '\(step.op)'") }
        // A step may remove, rename or restore what the walk keeps open, or change who may
        // write in it (RootedWalk.swift): what is at or below its paths is opened again.
        defer {
            for key in ["path", "from", "to"] {
                if let path = step.args[key]?.stringValue { world.paths.forgetOpenedDirectories(under: path) }
            }
        }
        try handler(step, world)
    }

    /// A one-line description of an undo step for plans and logs.
    public static func describe(_ step: UndoStep) -> String {
        let path = step.args["path"]?.stringValue ?? step.args["table"]?.stringValue ?? ""
        switch step.op {
        case "fs.rmdir": return "remove directory \(path)"
        case "fs.unlink": return "remove \(path)"
        case "fs.restore": return "restore \(path) from backup"
        case "fs.rename": return "rename \(step.args["from"]?.stringValue ?? "") back to \(step.args["to"]?.stringValue ?? "")"
        case "fs.chmod": return "chmod \(path) back"
        case "fs.chown": return "chown \(path) back"
        case "fs.relink": return "point \(step.args["links"]?.arrayValue?.count ?? 0) symlinks back at their old targets"
        case "db.exec": return "run \(step.args["sql"]?.stringValue ?? "SQL")"
        case "db.delete_inserted": return "delete the inserted row from \(path)"
        case "db.rewind_auto_increment": return "set the AUTO_INCREMENT of \(path) back to \(step.args["id"]?.intValue ?? 0) if no id was taken since"
        case "db.reinsert_deleted": return "insert the deleted row back into \(path)"
        case "db.drop_database": return "drop database \(step.args["database"]?.stringValue ?? "") (created by the run)"
        case "db.drop_user": return "drop user '\(step.args["user"]?.stringValue ?? "")'@'\(step.args["host"]?.stringValue ?? "")' (created by the run)"
        case "cmd.run": return "run " + (step.args["argv"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " ") ?? "")
        case "mount.bind": return "mount \(step.args["source"]?.stringValue ?? "") on \(step.args["target"]?.stringValue ?? "") again"
        case "mount.unmount": return "unmount \(step.args["target"]?.stringValue ?? "")"
        case "net.add_ip": return "add \(step.args["address"]?.stringValue ?? "") to \(step.args["interface"]?.stringValue ?? "") again"
        case "net.remove_ip": return "remove \(step.args["address"]?.stringValue ?? "") from \(step.args["interface"]?.stringValue ?? "")"
        case "cron.restore": return "put the crontab of \(step.args["user"]?.stringValue ?? "") back"
        case "vcs.remove_checkout": return "remove the checkout \(path)"
        case "vcs.update": return "update \(path) back to revision \(step.args["revision"]?.stringValue ?? "")"
        case "service.reload": return "reload \(step.args["service"]?.stringValue ?? "") with the restored configuration"
        default: return step.op + " " + path
        }
    }
}

/// Undo operations for the filesystem. Paths are real paths (already under the root); each
/// is reached by a walk from the run's root and changed with *at(2) calls, so a link
/// swapped in after the run is never followed (FileAt.swift).
enum FileUndo {
    static func removeDirectory(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
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

    /// Removes a file or symlink the run created; a symlink only if it still points where
    /// the run pointed it (otherwise someone else changed it since). What a killed write
    /// left beside it goes too.
    static func removeEntry(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        let shown = world.paths.virtual(path)
        try world.paths.withExistingParent(of: path) { directory, name in
            if let target = step.args["target"]?.stringValue {
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
            if let size = step.args["size"]?.intValue, kind == S_IFREG, Int64(info.st_size) != size {
                throw UndoError("\(shown) changed since this run wrote it; left as it is")
            }
            if kind == S_IFDIR { throw UndoError("\(shown) is now a directory; left as it is") }
            if unlinkat(directory, name, 0) != 0 { throw SystemError("unlink", shown) }
        }
    }

    static func restoreBackup(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        try world.paths.withExistingParent(of: path) { directory, name in FileAt.removeLeftover(directory, name) }
        try world.backups.restore(try step.string("backup"), to: path, in: world.paths)
    }

    static func renameBack(_ step: UndoStep, _ world: World) throws {
        let from = try step.string("from")
        let to = try step.string("to")
        // If the original path is occupied, the rename never happened (a crash between the
        // intent and the rename): moving `from` over it would destroy the original.
        guard world.paths.entryInfo(from) != nil, world.paths.entryInfo(to) == nil else { return }
        try FileAt.rename(from, to: to, in: world.paths, shown: world.paths.virtual(from))
    }

    static func changeMode(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        guard let mode = step.args["mode"]?.intValue else { throw UndoError("fs.chmod undo lacks a mode") }
        try world.paths.withExistingParent(of: path) { directory, name in
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            try FileAt.changeMode(directory, name, UInt32(truncatingIfNeeded: mode), shown: world.paths.virtual(path))
        }
    }

    /// Each entry is [path, target set by the run, old target]; a link someone changed
    /// since is left alone.
    static func relinkBack(_ step: UndoStep, _ world: World) throws {
        for entry in step.args["links"]?.arrayValue ?? [] {
            guard let parts = entry.arrayValue?.compactMap(\.stringValue), parts.count == 3 else { continue }
            try world.paths.withExistingParent(of: parts[0]) { directory, name in
                FileAt.removeLeftover(directory, name)
                guard Posix.readLink(at: directory, name) == parts[1] else { return }
                try FileAt.replaceLink(directory, name, target: parts[2], shown: world.paths.virtual(parts[0]))
            }
        }
    }

    static func changeOwner(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        guard let uid = step.args["uid"]?.intValue, let gid = step.args["gid"]?.intValue else {
            throw UndoError("fs.chown undo lacks an owner")
        }
        try world.paths.withExistingParent(of: path) { directory, name in
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            if fchownat(directory, name, uid_t(uid), gid_t(gid), AT_SYMLINK_NOFOLLOW) != 0 {
                throw SystemError("chown", world.paths.virtual(path))
            }
        }
    }
}
