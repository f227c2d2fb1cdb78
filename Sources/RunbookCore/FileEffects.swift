// The filesystem effects: mkdir, write, symlink, remove, rename, chmod, chown. Each one
// reaches its entry through a directory opened by a walk from the run's root
// (RootedPaths.withParent) and changes it with the *at(2) calls, never following a link.

import RunbookSupport

/// A path as the runbook names it and as it is on disk (under the run's root).
public struct EffectPath: Sendable {
    public var shown: String
    public var real: String

    package init(shown: String, real: String) {
        self.shown = shown
        self.real = real
    }
}

/// An effect on the one entry at `path`: applied with the *at(2) calls on the directory that
/// holds it, opened by a walk from the run's root (nothing else in the world is touched).
package protocol EntryEffect: Effect {
    var path: EffectPath { get }
    /// Changes the entry `name` of the opened `directory`.
    func change(_ directory: Int32, _ name: String) throws
}

extension EntryEffect {
    package func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in try change(directory, name) }
        return EffectOutcome()
    }
}

package struct MakeDirectory: EntryEffect {
    package let path: EffectPath
    package let mode: UInt32
    /// False when mkdir(2) alone gives exactly `mode`: the umask clears none of its bits,
    /// it has no setuid/setgid/sticky bit, and the parent is not setgid (whose bit a new
    /// directory inherits). Then the chmod after it is left out.
    package var needsChmod = true
    package var kind: String { "fs.mkdir" }
    package var newEntry: String? { path.real }
    package var sign: ChangeSign { .create }
    package var summary: String { "create directory \(path.shown)" }
    package var identity: JSON { .object([("path", .string(path.shown)), ("mode", .int(Int64(mode)))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { [RemoveDirectoryUndo(path: path.real)] }

    /// Then the walk is told of the new directory, so it can reach entries in it for less (RootedWalk.swift).
    package func apply(_ world: World) throws -> EffectOutcome {
        try world.paths.withParent(of: path.real) { directory, name in try change(directory, name) }
        world.paths.noteMadeDirectory(path.real)
        return EffectOutcome()
    }

    package func change(_ directory: Int32, _ name: String) throws {
        if mkdirat(directory, name, mode_t(mode)) != 0 { throw SystemError("mkdir", path.shown) }
        // mkdir applies the umask; the runbook asked for this exact mode.
        if needsChmod { try FileAt.changeMode(directory, name, mode, shown: path.shown) }
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.makeDirectory(path.real, mode: mode)
        return EffectOutcome()
    }

    package init(path: EffectPath, mode: UInt32, needsChmod: Bool = true) {
        self.path = path
        self.mode = mode
        self.needsChmod = needsChmod
    }
}

package struct WriteFile: EntryEffect {
    package let path: EffectPath
    package let bytes: [UInt8]
    package let mode: UInt32
    package let replacing: Bool
    /// Content that must not be described (a password file): only its size is shown.
    package let secret: Bool
    package var kind: String { "fs.write" }
    package var newEntry: String? { path.real }
    package var sign: ChangeSign { replacing ? .change : .create }
    package var summary: String { "\(replacing ? "change" : "write") \(path.shown) (\(bytes.count) bytes)" }
    package var identity: JSON {
        var fields: [(String, JSON)] = [("path", .string(path.shown)), ("size", .int(Int64(bytes.count))),
                                        ("mode", .int(Int64(mode)))]
        if !secret { fields.append(("digest", .string(ContentDigest.fnv1a(bytes)))) }
        return .object(fields)
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        if Posix.lstatInfo(path.real) != nil {
            return [try RestoreBackupUndo.saving(path.real, in: world)]
        }
        return [RemoveEntryUndo(path: path.real, size: Int64(bytes.count))]
    }

    package func change(_ directory: Int32, _ name: String) throws {
        try FileAt.replaceFile(directory, name, bytes: bytes, mode: mode, shown: path.shown)
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.write(path.real, bytes: bytes, mode: mode)
        return EffectOutcome()
    }

    package init(path: EffectPath, bytes: [UInt8], mode: UInt32, replacing: Bool, secret: Bool) {
        self.path = path
        self.bytes = bytes
        self.mode = mode
        self.replacing = replacing
        self.secret = secret
    }
}

package struct MakeSymlink: EntryEffect {
    package let path: EffectPath
    package let target: String
    package let realTarget: String
    package let replacing: Bool
    package var kind: String { "fs.symlink" }
    package var newEntry: String? { path.real }
    package var sign: ChangeSign { replacing ? .change : .create }
    package var summary: String { "\(replacing ? "relink" : "link") \(path.shown) -> \(target)" }
    package var identity: JSON { .object([("path", .string(path.shown)), ("target", .string(target))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        if replacing {
            return [try RestoreBackupUndo.saving(path.real, in: world)]
        }
        return [RemoveEntryUndo(path: path.real, target: realTarget)]
    }

    package func change(_ directory: Int32, _ name: String) throws {
        if replacing {
            try FileAt.replaceLink(directory, name, target: realTarget, shown: path.shown)
        } else if symlinkat(realTarget, directory, name) != 0 {
            throw SystemError("symlink", path.shown)
        }
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.symlink(path.real, target: realTarget)
        return EffectOutcome()
    }

    package init(path: EffectPath, target: String, realTarget: String, replacing: Bool) {
        self.path = path
        self.target = target
        self.realTarget = realTarget
        self.replacing = replacing
    }
}

package struct RemovePath: EntryEffect {
    package let path: EffectPath
    package let isDirectory: Bool
    package var kind: String { "fs.remove" }
    package var sign: ChangeSign { .remove }
    package var summary: String { "remove \(isDirectory ? "directory " : "")\(path.shown)" }
    package var identity: JSON { .object([("path", .string(path.shown))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [try RestoreBackupUndo.saving(path.real, in: world)]
    }

    package func change(_ directory: Int32, _ name: String) throws {
        try Posix.removeTree(at: directory, name, shown: path.shown)
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.remove(path.real)
        return EffectOutcome()
    }

    package init(path: EffectPath, isDirectory: Bool) {
        self.path = path
        self.isDirectory = isDirectory
    }
}

package struct RenamePath: Effect {
    package let from: EffectPath
    package let to: EffectPath
    package let replacing: Bool
    package var kind: String { "fs.rename" }
    package var sign: ChangeSign { .change }
    package var summary: String { "rename \(from.shown) -> \(to.shown)\(replacing ? " (replacing it)" : "")" }
    package var identity: JSON { .object([("from", .string(from.shown)), ("to", .string(to.shown))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        var steps: [any UndoAction] = [RenameBackUndo(from: to.real, to: from.real)]
        if replacing {
            steps.append(try RestoreBackupUndo.saving(to.real, in: world))
        }
        return steps
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try FileAt.rename(from.real, to: to.real, in: world.paths, shown: from.shown)
        return EffectOutcome()
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.rename(from.real, to: to.real)
        return EffectOutcome()
    }

    package init(from: EffectPath, to: EffectPath, replacing: Bool) {
        self.from = from
        self.to = to
        self.replacing = replacing
    }
}

package struct ChangeMode: EntryEffect {
    package let path: EffectPath
    package let mode: UInt32
    package let oldMode: UInt32
    package var kind: String { "fs.chmod" }
    package var sign: ChangeSign { .change }
    package var summary: String { "chmod \(path.shown) \(String(oldMode, radix: 8)) -> \(String(mode, radix: 8))" }
    package var identity: JSON { .object([("path", .string(path.shown)), ("mode", .int(Int64(mode)))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [ChangeModeBackUndo(path: path.real, mode: Int64(oldMode))]
    }

    package func change(_ directory: Int32, _ name: String) throws {
        try FileAt.changeMode(directory, name, mode, shown: path.shown)
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.setAttributes(path.real, mode: mode)
        return EffectOutcome()
    }

    package init(path: EffectPath, mode: UInt32, oldMode: UInt32) {
        self.path = path
        self.mode = mode
        self.oldMode = oldMode
    }
}

package struct ChangeOwner: EntryEffect {
    package let path: EffectPath
    package let owner: String
    package let uid: UInt32
    package let gid: UInt32
    package let old: (uid: UInt32, gid: UInt32)
    package var kind: String { "fs.chown" }
    package var sign: ChangeSign { .change }
    package var summary: String { "chown \(path.shown) to \(owner)" }
    package var identity: JSON {
        .object([("path", .string(path.shown)), ("uid", .int(Int64(uid))), ("gid", .int(Int64(gid)))])
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [ChangeOwnerBackUndo(path: path.real, uid: Int64(old.uid), gid: Int64(old.gid))]
    }

    package func change(_ directory: Int32, _ name: String) throws {
        if fchownat(directory, name, uid_t(uid), gid_t(gid), AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("chown", path.shown) }
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.setAttributes(path.real, uid: uid, gid: gid)
        return EffectOutcome()
    }

    package init(path: EffectPath, owner: String, uid: UInt32, gid: UInt32, old: (uid: UInt32, gid: UInt32)) {
        self.path = path
        self.owner = owner
        self.uid = uid
        self.gid = gid
        self.old = old
    }
}

/// A short, stable content fingerprint for plans (not a security hash).
package enum ContentDigest {
    package static func fnv1a(_ bytes: [UInt8]) -> String {
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
package struct RelinkTree: Effect {
    package struct Link: Sendable {
        package var path: String      // real path of the link
        package var oldTarget: String // real targets
        package var newTarget: String

        package init(path: String, oldTarget: String, newTarget: String) {
            self.path = path
            self.oldTarget = oldTarget
            self.newTarget = newTarget
        }
    }
    package let directory: EffectPath
    package let fromPrefix: String
    package let toPrefix: String
    package let links: [Link]

    package init(directory: EffectPath, fromPrefix: String, toPrefix: String, links: [Link]) {
        self.directory = directory
        self.fromPrefix = fromPrefix
        self.toPrefix = toPrefix
        self.links = links
    }

    package var kind: String { "fs.relink_tree" }
    package var sign: ChangeSign { .change }
    package var summary: String { "relink \(links.count) symlink\(links.count == 1 ? "" : "s") under \(directory.shown) from \(fromPrefix) to \(toPrefix)" }
    package var identity: JSON {
        .object([("directory", .string(directory.shown)), ("from", .string(fromPrefix)), ("to", .string(toPrefix)),
                 ("links", .int(Int64(links.count)))])
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [RelinkBackUndo(links: links.map { ($0.path, $0.newTarget, $0.oldTarget) })]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        for link in links {
            try world.paths.withParent(of: link.path) { directory, name in
                try FileAt.replaceLink(directory, name, target: link.newTarget, shown: world.paths.virtual(link.path))
            }
        }
        return EffectOutcome(result: .int(Int64(links.count)))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        for link in links { overlay.symlink(link.path, target: link.newTarget) }
        return EffectOutcome(result: .int(Int64(links.count)))
    }
}
