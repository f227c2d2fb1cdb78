// Opening paths under the run's root one component at a time, the way Postfix and OpenSSH
// treat files a user controls: each directory is opened relative to the one before it with
// O_NOFOLLOW, so a symlink a customer plants (or swaps in between a check and its use) is
// never followed. A symlink is followed only when the platform made it: owned by root (or
// by this process's user) in a directory only root (or this user) can change, and
// resolving inside the root (`/home -> /usr/home` on FreeBSD is such a link).
//
// Directories a customer cannot touch stay open between calls (`openedDirectories`): one
// reached from the root through directories only root can change, itself in such a
// directory, names the same directory until root changes it — and the run forgets them all
// whenever it may have (any effect but a new file, link or directory; any program it
// starts; every undo step). No path is ever trusted: what is kept is the open directory,
// and every walk below it checks each component again. A customer's own directories are
// never kept.

import CSystem

extension RootedPaths {
    /// The most symlinks one path may go through (Linux's own limit).
    package static let maximumLinks = 40

    /// Calls `body` with the directory that holds `real`, opened by a walk from the root, and
    /// the entry's name in it. `real` is a real path (under the root). The root itself is
    /// handed over as its own directory and ".".
    public func withParent<T>(of real: String, _ body: (_ directory: Int32, _ name: String) throws -> T) throws -> T {
        let opened = try openParent(virtualPath: try virtualPath(of: real))
        defer { opened.release() }
        return try body(opened.descriptor, opened.name)
    }

    /// Something other than the walk may have changed the tree (a program the engine started,
    /// an effect that removes, renames, mounts or changes owners or modes): every kept
    /// directory is closed, in every RootedPaths of the process.
    public static func treeMayHaveChanged() { rb_tree_generation_bump() }

    package static var treeGeneration: Int { rb_tree_generation() }

    /// Closes the directories kept open between calls.
    public func forgetOpenedDirectories() {
        for kept in openedDirectories.values { close(kept.descriptor) }
        openedDirectories.removeAll(keepingCapacity: true)
        madeDirectories.removeAll(keepingCapacity: true)
        openedGeneration = RootedPaths.treeGeneration
    }

    /// The run has just made the directory `real` (mkdirat in the directory the walk handed
    /// over). When that directory is kept open, no one but root can put anything else at
    /// `real` until the kept directories are forgotten, so an entry in it is reached as
    /// "NAME/ENTRY" from there, without opening it (a site's folder, then its link).
    package func noteMadeDirectory(_ real: String) {
        guard !openedDirectories.isEmpty, let virtual = try? virtualPath(of: real) else { return }
        let parent = PathName.parent(virtual)
        // Only when no one else may replace an entry of the kept directory (it may be kept
        // and still open to others' writes, 0777).
        guard let kept = openedDirectories[parent], RootedPaths.onlyRootCanReplace(RootedPaths.effectiveUser, in: kept.info) else { return }
        if madeDirectories.count >= RootedPaths.maximumOpenedDirectories { madeDirectories.removeAll(keepingCapacity: true) }
        madeDirectories[virtual] = parent
    }

    /// Closes the kept directories at or below the real path `real` (an undo step removed,
    /// renamed or restored it, or changed who may write in it).
    public func forgetOpenedDirectories(under real: String) {
        guard !openedDirectories.isEmpty, let virtual = try? virtualPath(of: real) else { return }
        if virtual == "/" { return forgetOpenedDirectories() }
        for (key, kept) in openedDirectories where key == virtual || (key.hasPrefix(virtual) && key.utf8.count > virtual.utf8.count
            && key.utf8[key.utf8.index(key.utf8.startIndex, offsetBy: virtual.utf8.count)] == UInt8(ascii: "/"))
        {
            close(kept.descriptor)
            openedDirectories[key] = nil
        }
        madeDirectories.removeAll(keepingCapacity: true)
    }

    /// A directory kept open, with what fstat said of it when it was opened (its owner and
    /// mode decide whether the directories in it may be kept too).
    package struct KeptDirectory {
        package let descriptor: Int32
        package let info: stat
    }

    /// This process's effective user (it does not change while it runs).
    package static let effectiveUser = geteuid()

    /// At most this many directories stay open; past it they are all closed.
    package static let maximumOpenedDirectories = 128

    /// `withParent` for undo and clean-up: nil, not an error, when a directory on the way no
    /// longer exists (then neither does the entry).
    @discardableResult
    public func withExistingParent<T>(of real: String, _ body: (_ directory: Int32, _ name: String) throws -> T) throws -> T? {
        let opened: OpenedParent
        do { opened = try openParent(virtualPath: try virtualPath(of: real), tolerateMissing: true) } catch MissingComponent.missing {
            return nil
        }
        defer { opened.release() }
        return try body(opened.descriptor, opened.name)
    }

    /// Opens `real` itself (O_RDONLY, close-on-exec), following a final symlink only when the
    /// platform made it. `directory` asks for a directory (O_DIRECTORY); otherwise only a
    /// regular file is opened: a FIFO or device a customer planted is refused, never read.
    public func openExisting(_ real: String, directory wantsDirectory: Bool) throws -> Int32 {
        var virtual = try virtualPath(of: real)
        var links = 0
        while true {
            let opened = try openParent(virtualPath: virtual)
            defer { opened.release() }
            let (parent, name) = (opened.descriptor, opened.name)
            let flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | (wantsDirectory ? O_DIRECTORY : 0)
            let descriptor = openat(parent, name, flags)
            if descriptor >= 0 {
                var info = stat()
                fstat(descriptor, &info)
                let kind = info.st_mode & S_IFMT
                if kind == S_IFDIR || (!wantsDirectory && kind == S_IFREG) { return descriptor }
                close(descriptor)
                throw SystemError("open", virtual, code: wantsDirectory ? ENOTDIR : EINVAL)
            }
            let code = errno
            guard code == ELOOP || code == ENOTDIR || code == EMLINK, let target = try trustedLinkTarget(parent, name, virtual) else {
                throw SystemError("open", virtual, code: code)
            }
            links += 1
            guard links <= RootedPaths.maximumLinks else { throw SystemError("open", virtual, code: ELOOP) }
            virtual = try resolve(target, from: PathName.parent(virtual), reaching: virtual)
        }
    }

    /// lstat(2) through the walk: what is at `real` itself, nil when nothing is (or the way
    /// to it goes through a link runbook does not follow: such a path is refused when a
    /// primitive names it, see `real`).
    public func entryInfo(_ real: String) -> FileInfo? {
        try? withParent(of: real) { directory, name in
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
            return FileInfo(info)
        }
    }

    /// readlink(2) through the walk.
    public func entryLinkTarget(_ real: String) -> String? {
        try? withParent(of: real) { directory, name in Posix.readLink(at: directory, name) }
    }

    /// Checks the way to `real` without changing anything: every directory on it that exists
    /// must be reached without a link runbook does not follow (`followingLast`: the entry
    /// itself too, for reads that open it). Missing components are fine: a primitive may be
    /// about to create them.
    package func checkWay(toVirtual virtual: String, original: String, followingLast: Bool) throws {
        var current = virtual
        var links = 0
        while true {
            do {
                let opened = try openParent(virtualPath: current, tolerateMissing: true)
                defer { opened.release() }
                let (parent, name) = (opened.descriptor, opened.name)
                guard followingLast, name != "." else { return }
                var info = stat()
                guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFLNK else { return }
                guard let target = try trustedLinkTarget(parent, name, current) else { return }
                links += 1
                guard links <= RootedPaths.maximumLinks else { throw PathError(path: original, problem: "goes through too many symlinks") }
                current = try resolve(target, from: PathName.parent(current), reaching: current)
            } catch MissingComponent.missing {
                return
            } catch let error as PathError where error.path != original {
                // Name both: the path the runbook asked for and the link on the way to it.
                throw PathError(path: original, problem: "goes through '\(error.path)', which \(error.problem)")
            }
        }
    }

    // MARK: The walk

    private enum MissingComponent: Error { case missing }

    /// The root, opened once per run: every walk starts from this descriptor, so a later
    /// change of what the root's path names does not move the run.
    package var rootDirectory: Int32 {
        if let descriptor = openedRoot { return descriptor }
        let descriptor = open(isConfined ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        openedRoot = descriptor
        return descriptor
    }

    /// The runbook's path for a real one; refuses real paths outside the root.
    package func virtualPath(of real: String) throws -> String {
        guard isConfined else { return real }
        if real == root { return "/" }
        guard real.hasPrefix(root + "/") else { throw PathError(path: real, problem: "is outside the root \(root)") }
        return String(real.dropFirst(root.count))
    }

    /// The directory a walk ended in and the entry's name in it. A kept directory is
    /// borrowed (`owned` false), not closed.
    package struct OpenedParent {
        package let descriptor: Int32
        package let name: String
        package let owned: Bool
        package func release() { if owned { close(descriptor) } }
    }

    /// Opens the directory holding `virtualPath` by walking from the root (or from the
    /// deepest kept directory on the way). With `tolerateMissing` a missing directory on the
    /// way ends the walk (MissingComponent).
    private func openParent(virtualPath: String, tolerateMissing: Bool = false) throws -> OpenedParent {
        if openedGeneration != RootedPaths.treeGeneration { forgetOpenedDirectories() }
        var virtual = virtualPath
        var links = 0
        restart: while true {
            // Most walks end in a directory kept open: its path is the parent's (a path from
            // `real` or a link's resolution is normal, without "." or "..").
            if !openedDirectories.isEmpty {
                let parent = PathName.parent(virtual)
                if let kept = openedDirectories[parent] {
                    let name = PathName.base(virtual)
                    if !name.isEmpty { return OpenedParent(descriptor: kept.descriptor, name: name, owned: false) }
                } else if let holder = madeDirectories[parent], let kept = openedDirectories[holder] {
                    let name = PathName.base(virtual)
                    if !name.isEmpty {
                        return OpenedParent(descriptor: kept.descriptor, name: PathName.base(parent) + "/" + name, owned: false)
                    }
                } else if parent != "/", let kept = openedDirectories[PathName.parent(parent)] {
                    // One directory below a kept one: when only root can replace it there, its
                    // entry is reached as "DIR/NAME" from the kept one after one fstatat
                    // (not opened, checked and closed: the undo of a tree).
                    let middle = PathName.base(parent), name = PathName.base(virtual)
                    var info = stat()
                    if fstatat(kept.descriptor, middle, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                        if !name.isEmpty, info.st_mode & S_IFMT == S_IFDIR, RootedPaths.onlyRootCanReplace(info.st_uid, in: kept.info) {
                            return OpenedParent(descriptor: kept.descriptor, name: middle + "/" + name, owned: false)
                        }
                    } else if errno == ENOENT {
                        if tolerateMissing { throw MissingComponent.missing }
                        throw SystemError("open", parent, code: ENOENT)
                    }
                }
            }
            let components = virtual.split(separator: "/", omittingEmptySubsequences: true)
            let root = rootDirectory
            guard root >= 0 else { throw SystemError("open", isConfined ? self.root : "/") }
            guard let last = components.last else { return OpenedParent(descriptor: root, name: ".", owned: false) }
            // Start from the deepest directory kept open, else from the root.
            var current = root, owned = false, stable = true, start = 0
            var prefix = ""
            var holder = stat()
            var holderKnown = false
            if !openedDirectories.isEmpty {
                var depth = components.count - 2
                while depth > 0 {
                    let key = "/" + components[0..<depth].joined(separator: "/")
                    if let kept = openedDirectories[key] {
                        (current, start, prefix) = (kept.descriptor, depth, key)
                        (holder, holderKnown) = (kept.info, true)
                        break
                    }
                    depth -= 1
                }
            }
            for index in start..<(components.count - 1) {
                let name = String(components[index])
                let next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                prefix += "/" + name
                if next >= 0 {
                    // Kept open only when no one but root can put something else at its path.
                    var keep = false
                    if stable {
                        var info = stat()
                        if !holderKnown { holderKnown = fstat(current, &holder) == 0 }
                        if holderKnown, fstat(next, &info) == 0, RootedPaths.onlyRootCanReplace(info.st_uid, in: holder) {
                            keep = true
                            holder = info
                        } else {
                            holderKnown = false
                        }
                    }
                    if owned { close(current) }
                    if keep {
                        if openedDirectories.count >= RootedPaths.maximumOpenedDirectories { forgetOpenedDirectories() }
                        openedDirectories[prefix] = KeptDirectory(descriptor: next, info: holder)
                        owned = false
                    } else {
                        owned = true
                        stable = false
                        holderKnown = false
                    }
                    current = next
                    continue
                }
                let code = errno
                let reached = prefix
                if code == ELOOP || code == ENOTDIR || code == EMLINK {
                    let target: String?
                    do { target = try trustedLinkTarget(current, name, reached) } catch {
                        if owned { close(current) }
                        throw error
                    }
                    if let target {
                        if owned { close(current) }
                        links += 1
                        guard links <= RootedPaths.maximumLinks else { throw SystemError("open", virtualPath, code: ELOOP) }
                        let rest = components[(index + 1)...].joined(separator: "/")
                        virtual = try resolve(target, from: PathName.parent(reached), reaching: reached) + "/" + rest
                        continue restart
                    }
                }
                if owned { close(current) }
                if tolerateMissing && code == ENOENT { throw MissingComponent.missing }
                throw SystemError("open", reached, code: code)
            }
            return OpenedParent(descriptor: current, name: String(last), owned: owned)
        }
    }

    /// True when an entry owned by `uid` in the directory `holder` can be renamed, removed or
    /// replaced by root (or this process's user) only: the directory is theirs and no one
    /// else may write it, or it is sticky and the entry is theirs too.
    package static func onlyRootCanReplace(_ uid: uid_t, in holder: stat) -> Bool {
        let me = RootedPaths.effectiveUser
        guard holder.st_uid == 0 || holder.st_uid == me else { return false }
        if holder.st_mode & 0o022 == 0 { return true }
        return holder.st_mode & S_ISVTX != 0 && (uid == 0 || uid == me)
    }

    /// The target of the symlink `name` in `directory` when runbook follows it; nil when the
    /// entry is no symlink; a PathError naming it when it is one runbook does not follow.
    private func trustedLinkTarget(_ directory: Int32, _ name: String, _ reached: String) throws -> String? {
        var link = stat(), holder = stat()
        guard fstatat(directory, name, &link, AT_SYMLINK_NOFOLLOW) == 0, link.st_mode & S_IFMT == S_IFLNK else { return nil }
        guard fstat(directory, &holder) == 0 else { return nil }
        let me = RootedPaths.effectiveUser
        let linkTrusted = link.st_uid == 0 || link.st_uid == me
        let holderTrusted = RootedPaths.onlyRootCanReplace(link.st_uid, in: holder)
        guard linkTrusted && holderTrusted else {
            let owner = linkTrusted ? "in a directory owned by uid \(holder.st_uid)" : "owned by uid \(link.st_uid)"
            throw PathError(path: reached, problem: "is a symlink \(owner): runbook does not follow links a customer can plant")
        }
        guard let target = Posix.readLink(at: directory, name) else { return nil }
        return target
    }

    /// Where a link's target (as on disk: absolute targets are real paths) leads, as a
    /// runbook path; refused when it leaves the root.
    private func resolve(_ target: String, from directory: String, reaching reached: String) throws -> String {
        let joined: String
        if target.hasPrefix("/") {
            joined = try virtualPathOfLinkTarget(target, reached: reached)
        } else {
            joined = PathName.join(directory, target)
        }
        guard let normalized = PathName.normalize(joined) else {
            throw PathError(path: reached, problem: "is a symlink that escapes the root")
        }
        return normalized
    }

    private func virtualPathOfLinkTarget(_ target: String, reached: String) throws -> String {
        guard isConfined else { return target }
        guard let normalized = PathName.normalize(target), normalized == root || normalized.hasPrefix(root + "/") else {
            throw PathError(path: reached, problem: "escapes the root through a symlink")
        }
        return normalized == root ? "/" : String(normalized.dropFirst(root.count))
    }
}
