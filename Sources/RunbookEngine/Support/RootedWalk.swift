// Opening paths under the run's root one component at a time, the way Postfix and OpenSSH
// treat files a user controls: each directory is opened relative to the one before it with
// O_NOFOLLOW, so a symlink a customer plants (or swaps in between a check and its use) is
// never followed. A symlink is followed only when the platform made it: owned by root (or
// by this process's user) in a directory only root (or this user) can change, and
// resolving inside the root (`/home -> /usr/home` on FreeBSD is such a link).

extension RootedPaths {
    /// The most symlinks one path may go through (Linux's own limit).
    static let maximumLinks = 40

    /// Calls `body` with the directory that holds `real`, opened by a walk from the root, and
    /// the entry's name in it. `real` is a real path (under the root). The root itself is
    /// handed over as its own directory and ".".
    public func withParent<T>(of real: String, _ body: (_ directory: Int32, _ name: String) throws -> T) throws -> T {
        let (directory, name) = try openParent(virtualPath: try virtualPath(of: real))
        defer { close(directory) }
        return try body(directory, name)
    }

    /// `withParent` for undo and clean-up: nil, not an error, when a directory on the way no
    /// longer exists (then neither does the entry).
    @discardableResult
    public func withExistingParent<T>(of real: String, _ body: (_ directory: Int32, _ name: String) throws -> T) throws -> T? {
        let opened: (Int32, String)
        do { opened = try openParent(virtualPath: try virtualPath(of: real), tolerateMissing: true) } catch MissingComponent.missing {
            return nil
        }
        defer { close(opened.0) }
        return try body(opened.0, opened.1)
    }

    /// Opens `real` itself (O_RDONLY, close-on-exec), following a final symlink only when the
    /// platform made it. `directory` asks for a directory (O_DIRECTORY); otherwise only a
    /// regular file is opened: a FIFO or device a customer planted is refused, never read.
    public func openExisting(_ real: String, directory wantsDirectory: Bool) throws -> Int32 {
        var virtual = try virtualPath(of: real)
        var links = 0
        while true {
            let (parent, name) = try openParent(virtualPath: virtual)
            defer { close(parent) }
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
    func checkWay(toVirtual virtual: String, original: String, followingLast: Bool) throws {
        var current = virtual
        var links = 0
        while true {
            do {
                let (parent, name) = try openParent(virtualPath: current, tolerateMissing: true)
                defer { close(parent) }
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
    var rootDirectory: Int32 {
        if let descriptor = openedRoot { return descriptor }
        let descriptor = open(isConfined ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        openedRoot = descriptor
        return descriptor
    }

    /// The runbook's path for a real one; refuses real paths outside the root.
    func virtualPath(of real: String) throws -> String {
        guard isConfined else { return real }
        if real == root { return "/" }
        guard real.hasPrefix(root + "/") else { throw PathError(path: real, problem: "is outside the root \(root)") }
        return String(real.dropFirst(root.count))
    }

    /// Opens the directory holding `virtualPath` by walking from the root. With
    /// `tolerateMissing` a missing directory on the way ends the walk (MissingComponent).
    private func openParent(virtualPath: String, tolerateMissing: Bool = false) throws -> (Int32, String) {
        var virtual = virtualPath
        var links = 0
        restart: while true {
            let components = virtual.split(separator: "/", omittingEmptySubsequences: true)
            let start = rootDirectory
            guard start >= 0 else { throw SystemError("open", isConfined ? root : "/") }
            var current = dup(start)
            guard current >= 0 else { throw SystemError("open", isConfined ? root : "/") }
            guard let last = components.last else { return (current, ".") }
            for index in 0..<(components.count - 1) {
                let name = String(components[index])
                let next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if next >= 0 {
                    close(current)
                    current = next
                    continue
                }
                let code = errno
                let reached = "/" + components[0...index].joined(separator: "/")
                if code == ELOOP || code == ENOTDIR || code == EMLINK {
                    let target: String?
                    do { target = try trustedLinkTarget(current, name, reached) } catch {
                        close(current)
                        throw error
                    }
                    if let target {
                        close(current)
                        links += 1
                        guard links <= RootedPaths.maximumLinks else { throw SystemError("open", virtualPath, code: ELOOP) }
                        let rest = components[(index + 1)...].joined(separator: "/")
                        virtual = try resolve(target, from: PathName.parent(reached), reaching: reached) + "/" + rest
                        continue restart
                    }
                }
                close(current)
                if tolerateMissing && code == ENOENT { throw MissingComponent.missing }
                throw SystemError("open", reached, code: code)
            }
            return (current, String(last))
        }
    }

    /// The target of the symlink `name` in `directory` when runbook follows it; nil when the
    /// entry is no symlink; a PathError naming it when it is one runbook does not follow.
    private func trustedLinkTarget(_ directory: Int32, _ name: String, _ reached: String) throws -> String? {
        var link = stat(), holder = stat()
        guard fstatat(directory, name, &link, AT_SYMLINK_NOFOLLOW) == 0, link.st_mode & S_IFMT == S_IFLNK else { return nil }
        guard fstat(directory, &holder) == 0 else { return nil }
        let me = geteuid()
        let linkTrusted = link.st_uid == 0 || link.st_uid == me
        let holderTrusted = (holder.st_uid == 0 || holder.st_uid == me)
            && (holder.st_mode & 0o022 == 0 || holder.st_mode & S_ISVTX != 0)
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
