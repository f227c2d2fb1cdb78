// An rsync push to another host that runbook's agent serves, made undoable there: rsync
// keeps on the receiving side what it overwrites or deletes (`--backup --backup-dir` into
// the run's folder of that host's state), and the entries it creates are listed from its
// own itemized output — first from a `--dry-run` before the push (so the journal's intent
// names them before anything is copied), then from the push itself. Undo, run there by the
// agent, removes what the push created and puts the backups back.

import RunbookSupport

/// Where a push lands on another host, and where that host keeps what the push replaced.
package struct RsyncReceiver: Sendable {
    package let host: String
    package let run: String
    /// The destination folder on that host (a real path there).
    package let destination: String
    /// The folder on that host where rsync keeps what it overwrote or deleted.
    package let backupDirectory: String

    package init(host: String, run: String, destination: String, backupDirectory: String) {
        self.host = host
        self.run = run
        var destination = destination
        while destination.count > 1 && destination.hasSuffix("/") { destination.removeLast() }
        self.destination = destination
        self.backupDirectory = backupDirectory
    }

    /// rsync's options that keep the replaced files there.
    package var rsyncOptions: [String] { ["--backup", "--backup-dir=" + backupDirectory] }

    /// The undo of a push whose itemized lines are `itemized`, as a step run on that host.
    package func undo(afterItemized itemized: String) -> [any UndoAction] {
        let created = RsyncItemized.created(itemized)
        let restore = RsyncRestoreUndo(destination: destination, backupDirectory: backupDirectory,
                                       createdFiles: created.files, createdDirectories: created.directories)
        return [UndoOnHost(host: host, run: run, step: restore.json)]
    }
}

/// rsync's `--itemize-changes` lines: `>f+++++++++ a/b.php` is a file it creates,
/// `cd+++++++++ a/` a folder, `cL+++++++++ c -> d` a link.
package enum RsyncItemized {
    /// The entries a push creates, relative to its destination. A name rsync had to escape
    /// (`\#ooo`) is left out: undo then leaves that entry rather than guess its name.
    package static func created(_ output: String) -> (files: [String], directories: [String]) {
        var files: [String] = [], directories: [String] = []
        for line in output.split(separator: "\n") {
            let text = String(line)
            guard text.utf8.count > 12, let space = text.firstIndex(of: " ") else { continue }
            let code = Array(text[..<space])
            guard code.count == 11, code[2...].allSatisfy({ $0 == "+" }) else { continue }
            var name = String(text[text.index(after: space)...])
            if code[1] == "L", let arrow = name.firstRange(of: " -> ") { name = String(name[..<arrow.lowerBound]) }
            guard !name.contains("\\#"), !name.isEmpty else { continue }
            // "./": the push made the destination folder itself.
            if name == "./" { name = "." }
            if code[1] == "d" {
                while name.hasSuffix("/") { name.removeLast() }
                directories.append(name)
            } else {
                files.append(name)
            }
        }
        return (files, directories)
    }
}

/// Puts a push's destination back: removes the entries it created (files and links, then
/// the folders it made once empty, deepest first) and copies back what it overwrote or
/// deleted from its backup folder (content, mode, owner; links as links).
package struct RsyncRestoreUndo: UndoAction {
    package static let op = "rsync.restore"
    package let destination: String
    package let backupDirectory: String
    package let createdFiles: [String]
    package let createdDirectories: [String]

    package var changedPaths: [String] { [destination] }
    package var description: String {
        "put back \(destination) as before the sync (remove \(createdFiles.count + createdDirectories.count) new entries, restore the replaced ones)"
    }

    package func run(in world: World) throws {
        for name in createdFiles.sorted(by: { $0.count > $1.count }) where Self.isRelative(name) {
            try world.paths.withExistingParent(of: destination + "/" + name) { directory, entry in
                var info = stat()
                guard fstatat(directory, entry, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT != S_IFDIR else { return }
                if unlinkat(directory, entry, 0) != 0 { throw SystemError("unlink", destination + "/" + name) }
            }
        }
        for name in createdDirectories.sorted(by: { $0.count > $1.count }) where Self.isRelative(name) && name != "." {
            // A folder the push made and something else filled since is left as it is.
            _ = try world.paths.withExistingParent(of: destination + "/" + name) { directory, entry in unlinkat(directory, entry, AT_REMOVEDIR) }
        }
        try restore(from: backupDirectory, to: destination, in: world)
        if createdDirectories.contains(".") {
            _ = try world.paths.withExistingParent(of: destination) { directory, entry in unlinkat(directory, entry, AT_REMOVEDIR) }
        }
        world.paths.forgetOpenedDirectories(under: destination)
    }

    /// Copies the backup folder's entries back over the destination, making the folders a
    /// deleted tree needs again (with the backup's modes).
    private func restore(from backup: String, to target: String, in world: World) throws {
        guard Posix.lstatInfo(backup)?.kind == .directory else { return }
        for name in try Posix.list(backup).sorted() {
            let source = backup + "/" + name, path = target + "/" + name
            guard let info = Posix.lstatInfo(source) else { continue }
            try world.paths.withExistingParent(of: path) { directory, entry in
                switch info.kind {
                case .directory:
                    var existing = stat()
                    if fstatat(directory, entry, &existing, AT_SYMLINK_NOFOLLOW) != 0 {
                        if mkdirat(directory, entry, mode_t(info.mode & 0o7777)) != 0 { throw SystemError("mkdir", path) }
                        _ = fchownat(directory, entry, info.uid, info.gid, AT_SYMLINK_NOFOLLOW)
                    }
                case .symlink:
                    guard let target = Posix.readLink(source) else { return }
                    try FileAt.replaceLink(directory, entry, target: target, shown: path)
                    _ = fchownat(directory, entry, info.uid, info.gid, AT_SYMLINK_NOFOLLOW)
                default:
                    try FileAt.replaceFile(directory, entry, bytes: try Posix.readFile(source), mode: info.mode & 0o7777, shown: path)
                    _ = fchownat(directory, entry, info.uid, info.gid, AT_SYMLINK_NOFOLLOW)
                }
            }
            if info.kind == .directory { try restore(from: source, to: path, in: world) }
        }
    }

    /// A name from rsync's output that stays inside the destination.
    private static func isRelative(_ name: String) -> Bool {
        !name.hasPrefix("/") && !name.split(separator: "/").contains("..")
    }
}

extension RsyncRestoreUndo {
    package init(args: JSON) throws {
        destination = try args.undoString("destination", of: Self.op)
        backupDirectory = try args.undoString("backup_dir", of: Self.op)
        createdFiles = args["created_files"]?.arrayValue?.compactMap(\.stringValue) ?? []
        createdDirectories = args["created_directories"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    package var args: [(String, JSON)] {
        [("destination", .string(destination)), ("backup_dir", .string(backupDirectory)),
         ("created_files", .array(createdFiles.map { .string($0) })),
         ("created_directories", .array(createdDirectories.map { .string($0) }))]
    }
}
