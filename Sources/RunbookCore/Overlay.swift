// The filesystem as a run sees it: the real one, or (in a dry-run) the real one with the
// planned changes laid over it, so later reads in the same run see earlier planned writes.
// The overlay is a dry-run's whole plan state: files, mounts, crontabs, addresses and
// databases (DatabasePlan.swift); effects record themselves in it in `simulate`.

import RunbookSupport

/// Reads of the filesystem, by real path.
public protocol FileSystemView: AnyObject {
    func info(_ path: String) -> FileInfo?
    func read(_ path: String) throws -> [UInt8]
    func list(_ path: String) throws -> [String]
    func readLink(_ path: String) -> String?
}

/// The real filesystem, reached by walks from the run's root (RootedWalk.swift): a read
/// never follows a link a customer planted, and a FIFO is never opened.
public final class LiveFileSystem: FileSystemView {
    private let paths: RootedPaths
    /// `paths`: the run's root; without it, "/" (unconfined).
    public init(paths: RootedPaths? = nil) {
        self.paths = paths ?? RootedPaths.unconfined
    }
    public func info(_ path: String) -> FileInfo? { paths.entryInfo(path) }
    public func read(_ path: String) throws -> [UInt8] {
        let descriptor = try paths.openExisting(path, directory: false)
        defer { close(descriptor) }
        return try Posix.readAll(descriptor, path: paths.virtual(path))
    }
    public func list(_ path: String) throws -> [String] {
        let descriptor = try paths.openExisting(path, directory: true)
        defer { close(descriptor) }
        return try Posix.list(descriptor: descriptor, path: paths.virtual(path))
    }
    public func readLink(_ path: String) -> String? { paths.entryLinkTarget(path) }
}

/// Planned filesystem changes over the real filesystem. Never writes anything.
public final class Overlay: FileSystemView {
    package enum Node {
        case directory(mode: UInt32)
        case file(bytes: [UInt8], mode: UInt32)
        case symlink(target: String)
        case removed
        /// A real path renamed here: reads below go to the old real path.
        case moved(from: String)
        /// A real entry whose mode or owner the plan changes. `real` is where that entry
        /// really is (the plan may have renamed it or a parent): reads go there, and the
        /// node needs no lookup of its own path (which would recurse).
        case attributes(mode: UInt32?, uid: UInt32?, gid: UInt32?, real: String)
    }

    private var nodes: [String: Node] = [:]
    /// Planned mounts by target: the source, or `unmounted`.
    package var plannedMounts: [String: String] = [:]
    package static let unmounted = "\u{0}unmounted"
    /// Planned crontabs by user.
    package var plannedCrontabs: [String: String] = [:]
    /// Planned addresses ("interface address"): true added, false removed.
    package var plannedAddresses: [String: Bool] = [:]
    /// Planned databases, users and SQL update files.
    package let databases = DatabasePlan()
    private let live: FileSystemView
    private var hasShadowingNodes = false
    private var hasPlannedDirectories = false
    /// What readlink(2) said about real directories above the paths the plan touched (nil:
    /// not a symlink). A dry-run never changes the real filesystem, so resolving the same
    /// ancestors again for every path would only repeat the answer: it was ~11 system
    /// calls per planned effect (W1 dry in docs/performance.md). Changes the plan makes
    /// are nodes, looked up before this.
    private var realAncestorLinks: [String: String?] = [:]
    /// Directories whose path has no symlink in it, in the plan's view (with all their
    /// ancestors): `canonical` returns a path inside one of them as it is, without walking
    /// and hashing every ancestor again (~10 ms of a 1,000-site dry-run, W1 dry in
    /// docs/performance.md). Only a planned symlink or rename can make a path component a
    /// symlink; one landing on a directory in this set empties it.
    private var plainDirectories: Set<String> = []
    /// The owner planned entries get (the process's effective ids: they do not change).
    private let ownerUID = UInt32(geteuid()), ownerGID = UInt32(getegid())

    public init(paths: RootedPaths? = nil) { live = LiveFileSystem(paths: paths) }

    /// Planned changes over another view of the real files (another host's, read through
    /// its agent).
    package init(over live: FileSystemView) { self.live = live }

    /// The plans for other hosts (`on(HOST, ...)`), by host name.
    package var otherHosts: [String: Overlay] = [:]

    /// How a plan runs a program that only reads (rsync's `--dry-run`) on the host this
    /// overlay plans: here, or through that host's agent.
    package var runProgram: ProgramRunner = ProcessRunner.running

    /// The files as they are, without the plan's changes.
    package var unplanned: FileSystemView { live }

    // MARK: Planned changes

    // Every entry point resolves the symlinks among the path's parents first (planned
    // links included), as the kernel would: a change or a read through a link the plan
    // made or repointed then lands where the real run's would.

    package func makeDirectory(_ path: String, mode: UInt32) {
        nodes[canonical(path)] = .directory(mode: mode)
        hasPlannedDirectories = true
    }
    package func write(_ path: String, bytes: [UInt8], mode: UInt32) { nodes[canonical(path)] = .file(bytes: bytes, mode: mode) }
    package func symlink(_ path: String, target: String) {
        let path = canonical(path)
        nodes[path] = .symlink(target: target)
        forgetPlainDirectory(path)
    }

    package func remove(_ path: String) {
        let path = canonical(path)
        for key in nodes.keys where key.hasPrefix(path + "/") { nodes[key] = nil }
        nodes[path] = .removed
        hasShadowingNodes = true
    }

    package func rename(_ from: String, to: String) {
        let from = canonical(from), to = canonical(to)
        let prefix = from + "/"
        let moved = nodes.filter { $0.key.hasPrefix(prefix) }
        switch nodes[from] {
        // An attributes node keeps its real path: a chmod then rename keeps the new mode.
        case .some(.directory), .some(.file), .some(.symlink), .some(.attributes): nodes[to] = nodes[from]
        default: nodes[to] = .moved(from: resolveMoved(from))
        }
        for (key, node) in moved {
            nodes[key] = nil
            nodes[to + "/" + key.dropFirst(prefix.count)] = node
        }
        nodes[from] = .removed
        hasShadowingNodes = true
        forgetPlainDirectory(to)
    }

    /// `path` may now be a symlink (or hold planned ones): directories at or below it are
    /// no longer known to be plain. Every ancestor of a directory in the set is in it too,
    /// so checking `path` itself is enough.
    private func forgetPlainDirectory(_ path: String) {
        if plainDirectories.contains(path) { plainDirectories.removeAll(keepingCapacity: true) }
    }

    package func setAttributes(_ path: String, mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
        let path = canonical(path)
        switch nodes[path] {
        case .directory(let old): nodes[path] = .directory(mode: mode ?? old)
        case .file(let bytes, let old): nodes[path] = .file(bytes: bytes, mode: mode ?? old)
        case .attributes(let oldMode, let oldUid, let oldGid, let real):
            nodes[path] = .attributes(mode: mode ?? oldMode, uid: uid ?? oldUid, gid: gid ?? oldGid, real: real)
        case .symlink:
            // A planned link keeps being a link (replacing it with an attributes node would
            // make it vanish from the plan's view).
            break
        default:
            guard case .real(let real) = lookup(path) else { return }
            nodes[path] = .attributes(mode: mode, uid: uid, gid: gid, real: real)
        }
    }

    // MARK: Reads

    /// Where reads of `path` go: an overlay node, a real path (possibly moved), or nothing.
    private enum Lookup {
        case node(Node, real: String?)
        case real(String)
        case absent
    }

    private func lookup(_ path: String) -> Lookup {
        if let node = nodes[path] {
            switch node {
            case .removed: return .absent
            case .moved(let from): return .real(from)
            case .attributes(_, _, _, let real): return .node(node, real: real)
            default: return .node(node, real: nil)
            }
        }
        // Right inside a directory the plan creates, only planned entries exist: the plan
        // creates a directory only where its view has nothing (mkdir, checkout). Saves an
        // lstat per entry planned in a new directory (W1 dry in docs/performance.md).
        if hasPlannedDirectories, case .directory? = nodes[PathName.parent(path)] { return .absent }
        guard hasShadowingNodes else { return .real(path) }
        // An ancestor removed, moved or replaced by a planned file hides the real entry.
        var ancestor = PathName.parent(path)
        var suffix = "/" + PathName.base(path)
        while ancestor != "/" && !ancestor.isEmpty {
            if let node = nodes[ancestor] {
                switch node {
                case .removed, .file, .symlink: return .absent
                case .moved(let from): return .real(from + suffix)
                case .attributes(_, _, _, let real): return .real(real + suffix)
                default: break
                }
            }
            suffix = "/" + PathName.base(ancestor) + suffix
            ancestor = PathName.parent(ancestor)
        }
        return .real(path)
    }

    private func resolveMoved(_ path: String) -> String {
        if case .real(let real) = lookup(path) { return real }
        return path
    }

    // MARK: Symlinks

    /// The target of `path` when it is a symlink in the plan's view (planned or real).
    private func linkTarget(_ path: String) -> String? {
        switch lookup(path) {
        case .node(.symlink(let target), _): return target
        case .real(let real): return live.readLink(real)
        default: return nil
        }
    }

    /// `linkTarget` for a directory above a path, with the real filesystem's answers kept.
    private func ancestorLinkTarget(_ path: String) -> String? {
        switch lookup(path) {
        case .node(.symlink(let target), _): return target
        case .real(let real):
            if let known = realAncestorLinks[real] { return known }
            let target = live.readLink(real)
            realAncestorLinks[real] = target
            return target
        default: return nil
        }
    }

    /// `path` with every symlink among its parents resolved (planned and real ones), the
    /// last component left as it is (lstat semantics). Gives up after 40 links (ELOOP).
    package func canonical(_ path: String) -> String {
        var budget = 40
        return canonical(path, budget: &budget)
    }

    private func canonical(_ path: String, budget: inout Int) -> String {
        // A normal path in a directory known to hold no symlink resolves to itself.
        var plainParent: String?
        if path.hasPrefix("/"), PathName.isNormal(path) {
            let parent = PathName.parent(path)
            if plainDirectories.contains(parent) { return path }
            // Above a plain directory (or /), only the parent itself is left to check.
            let grandparent = PathName.parent(parent)
            if parent != "/", grandparent == "/" || plainDirectories.contains(grandparent), ancestorLinkTarget(parent) == nil {
                plainDirectories.insert(parent)
                return path
            }
            plainParent = parent
        }
        let linksBefore = budget
        let resolved = resolveAncestors(path, budget: &budget)
        // No symlink followed: the parent and every directory above it are plain.
        if budget == linksBefore, var directory = plainParent {
            while directory != "/", plainDirectories.insert(directory).inserted { directory = PathName.parent(directory) }
        }
        return resolved
    }

    private func resolveAncestors(_ path: String, budget: inout Int) -> String {
        // Split on the UTF-8 bytes: splitting by Characters was most of a dry-run's time
        // (W1 dry in docs/performance.md). "/" is ASCII: the parts are the same.
        // The path is built with append(contentsOf:), which copies the bytes; `+` with a
        // Substring appended Character by Character.
        let parts = path.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) }
        guard path.hasPrefix("/"), parts.count > 1 else { return path }
        var resolved = ""
        resolved.reserveCapacity(path.utf8.count)
        for part in parts.dropLast() {
            resolved.append("/")
            resolved.append(contentsOf: part)
            guard let target = ancestorLinkTarget(resolved) else { continue }
            budget -= 1
            let joined = target.hasPrefix("/") ? target : PathName.parent(resolved) + "/" + target
            guard budget >= 0, let normalized = PathName.normalize(joined) else { return path }
            resolved = followed(normalized, budget: &budget)
        }
        resolved.append("/")
        resolved.append(contentsOf: parts[parts.count - 1])
        return resolved
    }

    /// `path` resolved completely, its last component too (what open(2) and opendir(3) reach).
    private func followed(_ path: String, budget: inout Int) -> String {
        var current = canonical(path, budget: &budget)
        while let target = linkTarget(current) {
            budget -= 1
            let joined = target.hasPrefix("/") ? target : PathName.parent(current) + "/" + target
            guard budget >= 0, let normalized = PathName.normalize(joined) else { return current }
            current = canonical(normalized, budget: &budget)
        }
        return current
    }

    private func followed(_ path: String) -> String {
        var budget = 40
        return followed(path, budget: &budget)
    }

    // MARK: Reading the plan's view

    public func info(_ path: String) -> FileInfo? { info(resolved: canonical(path)) }

    private func info(resolved path: String) -> FileInfo? {
        switch lookup(path) {
        case .absent: return nil
        case .real(let real): return live.info(real)
        case .node(let node, let real):
            let uid = ownerUID, gid = ownerGID
            switch node {
            case .directory(let mode): return FileInfo(kind: .directory, mode: mode, uid: uid, gid: gid, size: 0, device: 0)
            case .file(let bytes, let mode):
                return FileInfo(kind: .file, mode: mode, uid: uid, gid: gid, size: Int64(bytes.count), device: 0)
            case .symlink(let target):
                return FileInfo(kind: .symlink, mode: 0o777, uid: uid, gid: gid, size: Int64(target.utf8.count), device: 0)
            case .attributes(let mode, let newUid, let newGid, _):
                guard let real, var info = live.info(real) else { return nil }
                if let mode { info.mode = mode }
                if let newUid { info.uid = newUid }
                if let newGid { info.gid = newGid }
                return info
            case .removed, .moved: return nil
            }
        }
    }

    /// Reads follow a final symlink, as open(2) does.
    public func read(_ path: String) throws -> [UInt8] {
        switch lookup(followed(path)) {
        case .absent: throw SystemError("read", path, code: ENOENT)
        case .real(let real): return try live.read(real)
        case .node(.file(let bytes, _), _): return bytes
        case .node(.attributes, let real?): return try live.read(real)
        case .node: throw SystemError("read", path, code: EISDIR)
        }
    }

    public func readLink(_ path: String) -> String? { linkTarget(canonical(path)) }

    /// Lists follow a final symlink, as opendir(3) does.
    public func list(_ path: String) throws -> [String] {
        let directory = followed(path)
        var names = Set<String>()
        switch lookup(directory) {
        case .absent: throw SystemError("list", path, code: ENOENT)
        case .real(let real): names = Set((try? live.list(real)) ?? [])
        case .node(.directory, _): break
        case .node(.attributes, let real?): names = Set((try? live.list(real)) ?? [])
        case .node: throw SystemError("list", path, code: ENOTDIR)
        }
        let prefix = directory == "/" ? "/" : directory + "/"
        for (key, node) in nodes where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard !rest.isEmpty, !rest.contains("/") else { continue }
            if case .removed = node { names.remove(String(rest)) } else { names.insert(String(rest)) }
        }
        if names.isEmpty, info(resolved: directory) == nil { throw SystemError("list", path, code: ENOENT) }
        return names.sorted()
    }
}
