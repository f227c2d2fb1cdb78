// The filesystem effects: mkdir, write, symlink, remove, rename, chmod, chown. Each one
// reaches its entry through a directory opened by a walk from the run's root
// (RootedPaths.withParent) and changes it with the *at(2) calls, never following a link.

/// A path as the runbook names it and as it is on disk (under the run's root).
public struct EffectPath: Sendable {
    public var shown: String
    public var real: String
}

struct MakeDirectory: Effect {
    let path: EffectPath
    let mode: UInt32
    /// False when mkdir(2) alone gives exactly `mode`: the umask clears none of its bits,
    /// it has no setuid/setgid/sticky bit, and the parent is not setgid (whose bit a new
    /// directory inherits). Then the chmod after it is left out (W1, docs/performance.md).
    var needsChmod = true
    var kind: String { "fs.mkdir" }
    var newEntry: String? { path.real }
    var sign: ChangeSign { .create }
    var summary: String { "create directory \(path.shown)" }
    var identity: JSON { .object([("path", .string(path.shown)), ("mode", .int(Int64(mode)))]) }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? { [RemoveDirectoryUndo(path: path.real)] }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in
            if mkdirat(directory, name, mode_t(mode)) != 0 { throw SystemError("mkdir", path.shown) }
            // mkdir applies the umask; the runbook asked for this exact mode.
            if needsChmod { try FileAt.changeMode(directory, name, mode, shown: path.shown) }
        }
        world.paths.noteMadeDirectory(path.real)
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.makeDirectory(path.real, mode: mode)
        return EffectOutcome()
    }
}

struct WriteFile: Effect {
    let path: EffectPath
    let bytes: [UInt8]
    let mode: UInt32
    let replacing: Bool
    /// Content that must not be described (a password file): only its size is shown.
    let secret: Bool
    var kind: String { "fs.write" }
    var newEntry: String? { path.real }
    var sign: ChangeSign { replacing ? .change : .create }
    var summary: String { "\(replacing ? "change" : "write") \(path.shown) (\(bytes.count) bytes)" }
    var identity: JSON {
        var fields: [(String, JSON)] = [("path", .string(path.shown)), ("size", .int(Int64(bytes.count))),
                                        ("mode", .int(Int64(mode)))]
        if !secret { fields.append(("digest", .string(ContentDigest.fnv1a(bytes)))) }
        return .object(fields)
    }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        if Posix.lstatInfo(path.real) != nil {
            return [try RestoreBackupUndo.saving(path.real, in: world)]
        }
        return [RemoveEntryUndo(path: path.real, size: Int64(bytes.count))]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in
            try FileAt.replaceFile(directory, name, bytes: bytes, mode: mode, shown: path.shown)
        }
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.write(path.real, bytes: bytes, mode: mode)
        return EffectOutcome()
    }
}

struct MakeSymlink: Effect {
    let path: EffectPath
    let target: String
    let realTarget: String
    let replacing: Bool
    var kind: String { "fs.symlink" }
    var newEntry: String? { path.real }
    var sign: ChangeSign { replacing ? .change : .create }
    var summary: String { "\(replacing ? "relink" : "link") \(path.shown) -> \(target)" }
    var identity: JSON { .object([("path", .string(path.shown)), ("target", .string(target))]) }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        if replacing {
            return [try RestoreBackupUndo.saving(path.real, in: world)]
        }
        return [RemoveEntryUndo(path: path.real, target: realTarget)]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in
            if replacing {
                try FileAt.replaceLink(directory, name, target: realTarget, shown: path.shown)
            } else if symlinkat(realTarget, directory, name) != 0 {
                throw SystemError("symlink", path.shown)
            }
        }
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.symlink(path.real, target: realTarget)
        return EffectOutcome()
    }
}

struct RemovePath: Effect {
    let path: EffectPath
    let isDirectory: Bool
    var kind: String { "fs.remove" }
    var sign: ChangeSign { .remove }
    var summary: String { "remove \(isDirectory ? "directory " : "")\(path.shown)" }
    var identity: JSON { .object([("path", .string(path.shown))]) }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [try RestoreBackupUndo.saving(path.real, in: world)]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in
            try Posix.removeTree(at: directory, name, shown: path.shown)
        }
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.remove(path.real)
        return EffectOutcome()
    }
}

struct RenamePath: Effect {
    let from: EffectPath
    let to: EffectPath
    let replacing: Bool
    var kind: String { "fs.rename" }
    var sign: ChangeSign { .change }
    var summary: String { "rename \(from.shown) -> \(to.shown)\(replacing ? " (replacing it)" : "")" }
    var identity: JSON { .object([("from", .string(from.shown)), ("to", .string(to.shown))]) }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        var steps: [any UndoAction] = [RenameBackUndo(from: to.real, to: from.real)]
        if replacing {
            steps.append(try RestoreBackupUndo.saving(to.real, in: world))
        }
        return steps
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try FileAt.rename(from.real, to: to.real, in: world.paths, shown: from.shown)
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.rename(from.real, to: to.real)
        return EffectOutcome()
    }
}

struct ChangeMode: Effect {
    let path: EffectPath
    let mode: UInt32
    let oldMode: UInt32
    var kind: String { "fs.chmod" }
    var sign: ChangeSign { .change }
    var summary: String { "chmod \(path.shown) \(String(oldMode, radix: 8)) -> \(String(mode, radix: 8))" }
    var identity: JSON { .object([("path", .string(path.shown)), ("mode", .int(Int64(mode)))]) }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [ChangeModeBackUndo(path: path.real, mode: Int64(oldMode))]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in
            try FileAt.changeMode(directory, name, mode, shown: path.shown)
        }
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.setAttributes(path.real, mode: mode)
        return EffectOutcome()
    }
}

struct ChangeOwner: Effect {
    let path: EffectPath
    let owner: String
    let uid: UInt32
    let gid: UInt32
    let old: (uid: UInt32, gid: UInt32)
    var kind: String { "fs.chown" }
    var sign: ChangeSign { .change }
    var summary: String { "chown \(path.shown) to \(owner)" }
    var identity: JSON {
        .object([("path", .string(path.shown)), ("uid", .int(Int64(uid))), ("gid", .int(Int64(gid)))])
    }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [ChangeOwnerBackUndo(path: path.real, uid: Int64(old.uid), gid: Int64(old.gid))]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in
            if fchownat(directory, name, uid_t(uid), gid_t(gid), AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("chown", path.shown) }
        }
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.setAttributes(path.real, uid: uid, gid: gid)
        return EffectOutcome()
    }
}

/// A short, stable content fingerprint for plans (not a security hash).
enum ContentDigest {
    static func fnv1a(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Retargets many symlinks at once (the guide's "change codebase"): one effect whose undo
/// lists every link with its old target.
struct RelinkTree: Effect {
    struct Link: Sendable {
        var path: String      // real path of the link
        var oldTarget: String // real targets
        var newTarget: String
    }
    let directory: EffectPath
    let fromPrefix: String
    let toPrefix: String
    let links: [Link]
    var kind: String { "fs.relink_tree" }
    var sign: ChangeSign { .change }
    var summary: String { "relink \(links.count) symlink\(links.count == 1 ? "" : "s") under \(directory.shown) from \(fromPrefix) to \(toPrefix)" }
    var identity: JSON {
        .object([("directory", .string(directory.shown)), ("from", .string(fromPrefix)), ("to", .string(toPrefix)),
                 ("links", .int(Int64(links.count)))])
    }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [RelinkBackUndo(links: links.map { ($0.path, $0.newTarget, $0.oldTarget) })]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        for link in links {
            try world.paths.withParent(of: link.path) { directory, name in
                try FileAt.replaceLink(directory, name, target: link.newTarget, shown: world.paths.virtual(link.path))
            }
        }
        return EffectOutcome(result: .int(Int64(links.count)))
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        for link in links { overlay.symlink(link.path, target: link.newTarget) }
        return EffectOutcome(result: .int(Int64(links.count)))
    }
}
