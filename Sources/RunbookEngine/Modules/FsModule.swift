// The `fs` module: filesystem reads (real, or through the dry-run overlay) and changes
// (effects). Every path is confined under the run's root.

import LuaBridge

enum FsModule {
    static func register(into state: LuaState, slot: SessionSlot) {
        // fs.mkdir(path [, {mode="0755", parents=true}]) -> true if created, false if it existed
        state.register("mkdir", in: "fs") { call in
            let session = try slot.require(call.name)
            let path = try call.string(1)
            let options = try call.optionalTable(2) ?? LuaTable()
            let mode = try fileMode(options["mode"], call: call, position: 2) ?? 0o755
            let parents = options["parents"].boolValue ?? true
            let real = try session.paths.real(path)
            if let info = session.view.info(real) {
                guard info.kind == .directory else { throw LuaHostFailure("fs.mkdir \(path): exists and is not a directory") }
                session.noChange("directory \(path)")
                session.knownDirectory = real
                call.push(false)
                return 1
            }
            var missing: [String] = [path]
            var existingParent: FileInfo?
            func lookUp(_ parent: String) throws -> FileInfo? {
                let real = try session.paths.real(parent)
                if let known = session.knownParent, known.path == real { return known.info }
                let info = session.view.info(real)
                if let info { session.knownParent = (real, info) }
                return info
            }
            if parents {
                var parent = PathName.parent(path)
                while parent != "/" {
                    existingParent = try lookUp(parent)
                    if existingParent != nil { break }
                    missing.append(parent)
                    parent = PathName.parent(parent)
                }
            } else {
                existingParent = try lookUp(PathName.parent(path))
                guard existingParent?.kind == .directory else {
                    throw LuaHostFailure("fs.mkdir \(path): the parent directory does not exist (pass parents = true)")
                }
            }
            // mkdir(2) alone gives exactly `mode` unless the umask clears some of its bits, it
            // has special bits, or a setgid parent passes its bit down the new directories.
            let exactWithoutChmod = mode & 0o7000 == 0 && mode & Posix.fileCreationMask == 0
                && existingParent.map { $0.kind == .directory && $0.mode & 0o2000 == 0 } == true
            for directory in missing.reversed() {
                try session.perform(MakeDirectory(path: try session.effectPath(directory), mode: mode, needsChmod: !exactWithoutChmod))
            }
            session.knownDirectory = real
            call.push(true)
            return 1
        }

        // fs.write(path, content [, {mode="0644", secret=false}]) -> true if changed
        state.register("write", in: "fs") { call in
            let session = try slot.require(call.name)
            let path = try call.string(1)
            let content = try call.bytes(2)
            let options = try call.optionalTable(3) ?? LuaTable()
            let target = try session.effectPath(path)
            let existing = session.view.info(target.real)
            if let existing, existing.kind == .directory { throw LuaHostFailure("fs.write \(path): is a directory") }
            // A new file, or one replacing a symlink (whose 0777 is no file mode), gets 0644.
            let inherited = existing?.kind == .file ? existing?.mode : nil
            let mode = try fileMode(options["mode"], call: call, position: 3) ?? inherited ?? 0o644
            if let existing, existing.kind == .file, existing.mode == mode, (try? session.view.read(target.real)) == content {
                session.noChange("\(path) has this content")
                call.push(false)
                return 1
            }
            guard session.view.info(PathName.parent(target.real))?.kind == .directory else {
                throw LuaHostFailure("fs.write \(path): the directory \(PathName.parent(path)) does not exist")
            }
            try session.perform(WriteFile(path: target, bytes: content, mode: mode, replacing: existing != nil,
                                          secret: options["secret"].boolValue ?? session.redactor.containsSecret(content)))
            call.push(true)
            return 1
        }

        // fs.symlink(target, path) -> true if created or changed (like `ln -sfn target path`)
        state.register("symlink", in: "fs") { call in
            let session = try slot.require(call.name)
            let target = try call.string(1)
            let path = try call.string(2)
            let link = try session.effectPath(path)
            let realTarget = try session.paths.realLinkTarget(target)
            let existing = session.view.info(link.real)
            if let existing {
                guard existing.kind == .symlink else {
                    throw LuaHostFailure("fs.symlink \(path): exists and is not a symlink (remove it first)")
                }
                if session.view.readLink(link.real) == realTarget {
                    session.noChange("\(path) -> \(target)")
                    call.push(false)
                    return 1
                }
            }
            // The directory fs.mkdir made or found just before (a site's folder, then its
            // links) is not looked up again.
            guard PathName.parent(link.real) == session.knownDirectory
                || session.view.info(PathName.parent(link.real))?.kind == .directory
            else {
                throw LuaHostFailure("fs.symlink \(path): the directory \(PathName.parent(path)) does not exist")
            }
            try session.perform(MakeSymlink(path: link, target: target, realTarget: realTarget, replacing: existing != nil))
            call.push(true)
            return 1
        }

        // fs.remove(path) -> true if something was removed (files, symlinks, whole trees)
        state.register("remove", in: "fs") { call in
            let session = try slot.require(call.name)
            let path = try call.string(1)
            let target = try session.effectPath(path)
            guard target.real != session.paths.root, path != "/" else { throw LuaHostFailure("fs.remove refuses to remove the root") }
            guard let info = session.view.info(target.real) else {
                session.noChange("\(path) does not exist")
                call.push(false)
                return 1
            }
            try session.perform(RemovePath(path: target, isDirectory: info.kind == .directory))
            call.push(true)
            return 1
        }

        // fs.rename(from, to) — replaces `to` if it exists (kept for undo)
        state.register("rename", in: "fs") { call in
            let session = try slot.require(call.name)
            let from = try session.effectPath(try call.string(1))
            let to = try session.effectPath(try call.string(2))
            guard session.view.info(from.real) != nil else { throw LuaHostFailure("fs.rename \(from.shown): does not exist") }
            try session.perform(RenamePath(from: from, to: to, replacing: session.view.info(to.real) != nil))
            return 0
        }

        // fs.chmod(path, "0640") -> true if changed
        state.register("chmod", in: "fs") { call in
            let session = try slot.require(call.name)
            let target = try session.effectPath(try call.string(1))
            guard let mode = try fileMode(try call.value(2), call: call, position: 2) else { throw call.argumentError(2, "mode expected") }
            guard let info = session.view.info(target.real) else { throw LuaHostFailure("fs.chmod \(target.shown): does not exist") }
            if info.mode == mode {
                session.noChange("\(target.shown) mode \(String(mode, radix: 8))")
                call.push(false)
                return 1
            }
            try session.perform(ChangeMode(path: target, mode: mode, oldMode: info.mode))
            call.push(true)
            return 1
        }

        // fs.chown(path, "user[:group]") -> true if changed (the link itself for symlinks)
        state.register("chown", in: "fs") { call in
            let session = try slot.require(call.name)
            let target = try session.effectPath(try call.string(1))
            let owner = try call.string(2)
            let (uid, gid) = try resolveOwner(owner)
            guard let info = session.view.info(target.real) else { throw LuaHostFailure("fs.chown \(target.shown): does not exist") }
            let newGid = gid ?? info.gid
            if info.uid == uid && info.gid == newGid {
                session.noChange("\(target.shown) owned by \(owner)")
                call.push(false)
                return 1
            }
            try session.perform(ChangeOwner(path: target, owner: owner, uid: uid, gid: newGid, old: (info.uid, info.gid)))
            call.push(true)
            return 1
        }

        // fs.relink_tree(dir, from_prefix, to_prefix) -> number of symlinks retargeted
        // Every symlink under dir whose target starts with from_prefix, as one effect.
        state.register("relink_tree", in: "fs") { call in
            let session = try slot.require(call.name)
            let directory = try session.effectPath(try call.string(1))
            let from = try call.string(2), to = try call.string(3)
            guard from.hasPrefix("/"), to.hasPrefix("/") else { throw call.argumentError(2, "prefixes must be absolute paths") }
            let realFrom = try session.paths.realLinkTarget(from), realTo = try session.paths.realLinkTarget(to)
            guard session.view.info(directory.real)?.kind == .directory else {
                throw LuaHostFailure("fs.relink_tree: \(directory.shown) is not a directory")
            }
            var links: [RelinkTree.Link] = []
            collectLinks(in: directory.real, view: session.view) { path, target in
                guard target == realFrom || target.hasPrefix(realFrom.hasSuffix("/") ? realFrom : realFrom + "/") else { return }
                links.append(RelinkTree.Link(path: path, oldTarget: target, newTarget: realTo + target.dropFirst(realFrom.count)))
            }
            if links.isEmpty {
                session.noChange("no symlink under \(directory.shown) points into \(from)")
                call.push(0)
                return 1
            }
            try session.perform(RelinkTree(directory: directory, fromPrefix: from, toPrefix: to, links: links))
            call.push(links.count)
            return 1
        }

        // fs.exists(path) -> boolean (sees planned changes in a dry-run)
        state.register("exists", in: "fs") { call in
            let session = try slot.require(call.name)
            call.push(session.view.info(try session.paths.real(try call.string(1))) != nil)
            return 1
        }

        // fs.read(path) -> content
        state.register("read", in: "fs") { call in
            let session = try slot.require(call.name)
            let path = try call.string(1)
            do { call.push(bytes: try session.view.read(try session.paths.real(path))) } catch let error as SystemError {
                throw LuaHostFailure("fs.read \(path): \(String(cString: strerror(error.code)))")
            }
            return 1
        }

        // fs.list(path) -> sorted array of names
        state.register("list", in: "fs") { call in
            let session = try slot.require(call.name)
            let path = try call.string(1)
            do {
                let names = try session.view.list(try session.paths.real(path))
                try call.push(.table(LuaTable(array: names.map { LuaValue.string($0) })))
            } catch let error as SystemError {
                throw LuaHostFailure("fs.list \(path): \(String(cString: strerror(error.code)))")
            }
            return 1
        }

        // fs.readlink(path) -> target, or nil when it is not a symlink
        state.register("readlink", in: "fs") { call in
            let session = try slot.require(call.name)
            if let target = session.view.readLink(try session.paths.real(try call.string(1))) {
                call.push(session.paths.virtualLinkTarget(target))
            } else {
                call.pushNil()
            }
            return 1
        }

        // fs.stat(path) -> {type=, mode="0755", uid=, gid=, size=} or nil
        state.register("stat", in: "fs") { call in
            let session = try slot.require(call.name)
            guard let info = session.view.info(try session.paths.real(try call.string(1))) else {
                call.pushNil()
                return 1
            }
            let mode = String(info.mode, radix: 8)
            try call.push(["type": .string(info.kind.rawValue), "mode": .string(String(repeating: "0", count: max(0, 4 - mode.count)) + mode),
                           "uid": .integer(Int64(info.uid)), "gid": .integer(Int64(info.gid)), "size": .integer(info.size)])
            return 1
        }
    }

    /// Walks a tree (not following symlinked directories) and reports every symlink.
    static func collectLinks(in directory: String, view: FileSystemView, _ found: (String, String) -> Void) {
        for name in (try? view.list(directory)) ?? [] {
            let path = directory + "/" + name
            switch view.info(path)?.kind {
            case .symlink: if let target = view.readLink(path) { found(path, target) }
            case .directory: collectLinks(in: path, view: view, found)
            default: break
            }
        }
    }

    /// "www", "www:ftp", "1001:1001" -> ids.
    static func resolveOwner(_ owner: String) throws -> (UInt32, UInt32?) {
        let parts = owner.split(separator: ":", maxSplits: 1).map(String.init)
        guard let userName = parts.first, !userName.isEmpty else { throw LuaHostFailure("fs.chown: empty owner") }
        var uid: UInt32
        var gid: UInt32?
        if let number = UInt32(userName) { uid = number } else {
            guard let entry = getpwnam(userName) else { throw LuaHostFailure("fs.chown: no user '\(userName)' on this host") }
            uid = UInt32(entry.pointee.pw_uid)
        }
        if parts.count == 2 {
            if let number = UInt32(parts[1]) { gid = number } else {
                guard let group = getgrnam(parts[1]) else { throw LuaHostFailure("fs.chown: no group '\(parts[1])' on this host") }
                gid = UInt32(group.pointee.gr_gid)
            }
        }
        return (uid, gid)
    }
}
