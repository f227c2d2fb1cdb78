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

/// Undo operations for the filesystem. Paths are real paths (already under the root).
enum FileUndo {
    static func removeDirectory(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        // rmdir(2) alone tells what is there (it never follows a symlink): nothing, something
        // else than a directory, or a directory that is not empty.
        guard rmdir(path) != 0 else { return }
        switch errno {
        case ENOENT: return
        case ENOTDIR: throw UndoError("\(path) is no longer a directory; left as it is")
        case ENOTEMPTY, EEXIST: throw UndoError("cannot remove \(path): it holds files this run did not create")
        default: throw SystemError("rmdir", path)
        }
    }

    /// Removes a file or symlink the run created; a symlink only if it still points where
    /// the run pointed it (otherwise someone else changed it since).
    static func removeEntry(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        if let target = step.args["target"]?.stringValue {
            // readlink(2) answers both questions: a symlink, still pointing where the run made it.
            guard Posix.readLink(path) == target else { return }
            if unlink(path) != 0 { throw SystemError("unlink", path) }
            return
        }
        guard let info = Posix.lstatInfo(path) else { return }
        if let size = step.args["size"]?.intValue, info.kind == .file, info.size != size {
            throw UndoError("\(path) changed since this run wrote it; left as it is")
        }
        if info.kind == .directory { throw UndoError("\(path) is now a directory; left as it is") }
        if unlink(path) != 0 { throw SystemError("unlink", path) }
    }

    static func restoreBackup(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        try world.backups.restore(try step.string("backup"), to: path)
    }

    static func renameBack(_ step: UndoStep, _ world: World) throws {
        let from = try step.string("from")
        let to = try step.string("to")
        // If the original path is occupied, the rename never happened (a crash between the
        // intent and the rename): moving `from` over it would destroy the original.
        guard Posix.lstatInfo(from) != nil, Posix.lstatInfo(to) == nil else { return }
        if rename(from, to) != 0 { throw SystemError("rename", from) }
    }

    static func changeMode(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        guard let mode = step.args["mode"]?.intValue else { throw UndoError("fs.chmod undo lacks a mode") }
        guard Posix.lstatInfo(path) != nil else { return }
        if chmod(path, mode_t(mode)) != 0 { throw SystemError("chmod", path) }
    }

    /// Each entry is [path, target set by the run, old target]; a link someone changed
    /// since is left alone.
    static func relinkBack(_ step: UndoStep, _ world: World) throws {
        for entry in step.args["links"]?.arrayValue ?? [] {
            guard let parts = entry.arrayValue?.compactMap(\.stringValue), parts.count == 3 else { continue }
            guard Posix.readLink(parts[0]) == parts[1] else { continue }
            try replaceLink(parts[0], target: parts[2])
        }
    }

    /// Points an existing symlink elsewhere atomically (new link beside it, then rename).
    static func replaceLink(_ path: String, target: String) throws {
        let temporary = path + ".runbook-tmp"
        unlink(temporary)
        if symlink(target, temporary) != 0 { throw SystemError("symlink", path) }
        if rename(temporary, path) != 0 {
            let error = SystemError("relink", path)
            unlink(temporary)
            throw error
        }
    }

    static func changeOwner(_ step: UndoStep, _ world: World) throws {
        let path = try step.string("path")
        guard let uid = step.args["uid"]?.intValue, let gid = step.args["gid"]?.intValue else {
            throw UndoError("fs.chown undo lacks an owner")
        }
        guard Posix.lstatInfo(path) != nil else { return }
        if lchown(path, uid_t(uid), gid_t(gid)) != 0 { throw SystemError("chown", path) }
    }
}
