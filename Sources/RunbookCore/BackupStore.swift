// Copies of files an effect overwrites or removes, kept in the run's journal folder so
// undo restores them byte for byte, with mode and owner.

import RunbookSupport

public final class BackupStore {
    public let directory: String
    private var counter = 0

    public init(directory: String) {
        self.directory = directory
        if let names = try? Posix.list(directory) { counter = names.count }
    }

    /// Saves a copy of the entry at the real path `path` (file, symlink, FIFO or whole tree)
    /// and returns its backup name. The entry is reached by a walk from the root and copied
    /// without following any link in it.
    public func save(_ path: String, in paths: RootedPaths) throws -> String {
        try Posix.makeDirectories(directory, mode: 0o700)
        counter += 1
        let name = String(counter)
        let backups = try openBackups()
        defer { close(backups) }
        try paths.withParent(of: path) { parent, entry in
            try TreeCopier.copy(from: parent, entry, to: backups, name, shown: paths.virtual(path))
        }
        return name
    }

    /// Puts a saved copy back at the real path `path`, replacing whatever is there now.
    public func restore(_ name: String, to path: String, in paths: RootedPaths) throws {
        guard Posix.lstatInfo(directory + "/" + name) != nil else { throw UndoError("backup \(directory)/\(name) is missing") }
        let backups = try openBackups()
        defer { close(backups) }
        try paths.withParent(of: path) { parent, entry in
            let shown = paths.virtual(path)
            try Posix.removeTree(at: parent, entry, shown: shown)
            try TreeCopier.copy(from: backups, name, to: parent, entry, shown: shown)
        }
    }

    private func openBackups() throws -> Int32 {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open", directory) }
        return descriptor
    }
}

/// Copies files, symlinks, FIFOs and directory trees with their modes and owners, from an
/// entry of one open directory to an entry of another. Nothing is followed: each directory
/// is opened with O_NOFOLLOW relative to its parent, each new entry is created exclusively.
package enum TreeCopier {
    package static func copy(from source: Int32, _ sourceName: String, to destination: Int32, _ destinationName: String,
                     shown: String) throws
    {
        var info = stat()
        guard fstatat(source, sourceName, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw SystemError("copy", shown) }
        let mode = mode_t(info.st_mode & 0o7777)
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            if mkdirat(destination, destinationName, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", shown) }
            let from = try openDirectory(source, sourceName, shown)
            defer { close(from) }
            let to = try openDirectory(destination, destinationName, shown)
            defer { close(to) }
            for entry in try Posix.list(descriptor: from, path: shown) {
                try copy(from: from, entry, to: to, entry, shown: shown + "/" + entry)
            }
            _ = fchown(to, info.st_uid, info.st_gid)
            fchmod(to, mode)
        case S_IFLNK:
            guard let target = Posix.readLink(at: source, sourceName) else { throw SystemError("readlink", shown) }
            if symlinkat(target, destination, destinationName) != 0 { throw SystemError("symlink", shown) }
            _ = fchownat(destination, destinationName, info.st_uid, info.st_gid, AT_SYMLINK_NOFOLLOW)
        case S_IFREG:
            let from = openat(source, sourceName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            guard from >= 0 else { throw SystemError("read", shown) }
            defer { close(from) }
            let to = openat(destination, destinationName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard to >= 0 else { throw SystemError("write", shown) }
            defer { close(to) }
            try Posix.writeAll(to, try Posix.readAll(from, path: shown), path: shown)
            _ = fchown(to, info.st_uid, info.st_gid)
            fchmod(to, mode)
        case S_IFIFO:
            // A customer's named pipe is kept as a pipe: it is never opened (that would block).
            if mkfifoat(destination, destinationName, 0o600) != 0 { throw SystemError("mkfifo", shown) }
            _ = fchownat(destination, destinationName, info.st_uid, info.st_gid, AT_SYMLINK_NOFOLLOW)
            _ = fchmodat(destination, destinationName, mode, AT_SYMLINK_NOFOLLOW)
        default:
            throw SystemError("copy (not a file, directory, symlink or FIFO)", shown, code: EINVAL)
        }
    }

    private static func openDirectory(_ parent: Int32, _ name: String, _ shown: String) throws -> Int32 {
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open", shown) }
        return descriptor
    }
}
