// Copies of files an effect overwrites or removes, kept in the run's journal folder so
// undo restores them byte for byte, with mode and owner.

public final class BackupStore {
    public let directory: String
    private var counter = 0

    public init(directory: String) {
        self.directory = directory
        if let names = try? Posix.list(directory) { counter = names.count }
    }

    /// Saves a copy of `path` (file, symlink or whole tree) and returns its backup name.
    public func save(_ path: String) throws -> String {
        try Posix.makeDirectories(directory, mode: 0o700)
        counter += 1
        let name = String(counter)
        try TreeCopier.copy(from: path, to: directory + "/" + name)
        return name
    }

    /// Puts a saved copy back at `path`, replacing whatever is there now.
    public func restore(_ name: String, to path: String) throws {
        let saved = directory + "/" + name
        guard Posix.lstatInfo(saved) != nil else { throw UndoError("backup \(saved) is missing") }
        try Posix.removeTree(path)
        try TreeCopier.copy(from: saved, to: path)
    }
}

/// Copies files, symlinks and directory trees with their modes and owners.
enum TreeCopier {
    static func copy(from source: String, to destination: String) throws {
        guard let info = Posix.lstatInfo(source) else { throw SystemError("copy", source, code: ENOENT) }
        switch info.kind {
        case .directory:
            if mkdir(destination, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", destination) }
            for name in try Posix.list(source) { try copy(from: source + "/" + name, to: destination + "/" + name) }
        case .symlink:
            guard let target = Posix.readLink(source) else { throw SystemError("readlink", source) }
            if symlink(target, destination) != 0 { throw SystemError("symlink", destination) }
        case .file:
            try Posix.writeFile(destination, try Posix.readFile(source), mode: 0o600)
        case .other:
            throw SystemError("copy (not a file, directory or symlink)", source, code: EINVAL)
        }
        _ = lchown(destination, uid_t(info.uid), gid_t(info.gid))
        if info.kind != .symlink { chmod(destination, mode_t(info.mode)) }
    }
}
