// The `fs` module: filesystem reads (real, or through the dry-run overlay) and changes
// (effects). Every path is confined under the run's root.

import LuaBridge
import RunbookRun
import RunbookCore
import RunbookSupport

package enum FsModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("fs", title: "fs: filesystem", doc: """
            Paths are absolute strings (`path 'x' is not absolute` otherwise). `.` and `..` are
            resolved lexically; a path that climbs above `/` is refused (`escapes the root`). With
            `--root DIR`, `/usr/home/x` means `DIR/usr/home/x`. Plans, logs and return values show
            paths as the runbook named them.

            Customers own their homes, so every path is reached one directory at a time from the
            root, and a symlink on the way is followed only if the platform made it: owned by root
            in a directory only root can change (`/home -> /usr/home`), and leading inside the
            root. Any other link is refused with one line naming it (`path '/usr/home/shop/d' is a
            symlink owned by uid 1001; runbook does not follow links a customer can plant`); a
            link that leaves `DIR` is refused (`escapes the root through a symlink`). Changes never
            follow a link at the path itself: `fs.write` and `fs.symlink` replace it, `fs.chown`
            changes the link, `fs.chmod` refuses it, `fs.remove` removes it. `fs.read` and
            `fs.list` follow one only under the same rule, and `fs.read` reads regular files only
            (never a FIFO or device). Undo reaches its paths the same way.

            Modes are octal strings, `"0755"`. A number is taken as the mode's numeric value, so
            write `"0755"` or `tonumber("755", 8)`: Lua has no octal literals, and `0755` is the
            decimal number 755 (mode 1363). A mode above `"7777"` is refused.
            """),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // fs.mkdir(path [, {mode="0755", parents=true}]) -> true if created, false if it existed
        LuaPrimitive("fs.mkdir", doc: mkdirDoc, mkdir),
        // fs.write(path, content [, {mode="0644", secret=false}]) -> true if changed
        LuaPrimitive("fs.write", doc: writeDoc, write),
        // fs.symlink(target, path) -> true if created or changed (like `ln -sfn target path`)
        LuaPrimitive("fs.symlink", doc: symlinkDoc, symlink),
        // fs.remove(path) -> true if something was removed (files, symlinks, whole trees)
        LuaPrimitive("fs.remove", doc: removeDoc, remove),
        // fs.rename(from, to) — replaces `to` if it exists (kept for undo)
        LuaPrimitive("fs.rename", doc: renameDoc, rename),
        // fs.chmod(path, "0640") -> true if changed
        LuaPrimitive("fs.chmod", doc: chmodDoc, chmod),
        // fs.chown(path, "user[:group]") -> true if changed (the link itself for symlinks)
        LuaPrimitive("fs.chown", doc: chownDoc, chown),
        // fs.relink_tree(dir, from_prefix, to_prefix) -> number of symlinks retargeted
        // Every symlink under dir whose target starts with from_prefix, as one effect.
        LuaPrimitive("fs.relink_tree", doc: relinkTreeDoc, relinkTree),
        // fs.exists(path) -> boolean (sees planned changes in a dry-run)
        LuaPrimitive("fs.exists", doc: existsDoc, exists),
        // fs.read(path) -> content
        LuaPrimitive("fs.read", doc: readDoc, read),
        // fs.list(path) -> sorted array of names
        LuaPrimitive("fs.list", doc: listDoc, list),
        // fs.readlink(path) -> target, or nil when it is not a symlink
        LuaPrimitive("fs.readlink", doc: readlinkDoc, readlink),
        // fs.stat(path) -> {type=, mode="0755", uid=, gid=, size=} or nil
        LuaPrimitive("fs.stat", doc: statDoc, stat),
    ] }

    // MARK: fs.mkdir

    static var mkdirDoc: APIFunction {
        APIFunction(.effect, "path: string  an absolute path", "options?: fs.MkdirOptions",
            returns: ["boolean  `true` if it created it, `false` if a directory is already there"],
            doc: """
            Creates the directory `path`. Raises an error if something else than a directory is
            there. The mode is set exactly (`mkdir` then `chmod`, so the umask does not apply).
            With `parents` (the default) missing parent directories are created too, each one its
            own effect with the same mode; without it a missing parent is an error
            (`the parent directory does not exist (pass parents = true)`).

            Effect: `+ create directory PATH` (`fs.mkdir`), one per created directory.
            Undo: remove the directory if it is empty; fails if it holds files the run did not create.
            Dry-run: the directories appear in the overlay.
            """,
            example: #"fs.mkdir("/usr/home/shop.example.com/releases", { mode = "0750" })"#,
            classes: [APIClass("fs.MkdirOptions", "mode?: string|integer  the mode, default `\"0755\"`",
                               "parents?: boolean  create missing parents too (default `true`)")])
    }

    static func mkdir(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        // "/x/" is "/x": its parent is "/", in a dry-run as in a real run.
        let asked = try call.string(1)
        let path = PathName.normalize(asked) ?? asked
        let options = try call.optionalTable(2) ?? LuaTable()
        let mode = try fileMode(options["mode"], call: call, position: 2) ?? 0o755
        let parents = options["parents"].boolValue ?? true
        let real = try session.paths.real(path)
        if let info = session.files.infoBeforeCreating(real) {
            guard info.kind == .directory else { throw LuaHostFailure("fs.mkdir \(path): exists and is not a directory") }
            session.noChange("directory \(path)")
            session.files.foundDirectory(real)
            call.push(false)
            return 1
        }
        let (missing, existingParent) = try directoriesToMake(path, parents: parents, session: session)
        // mkdir(2) alone gives exactly `mode` unless the umask clears some of its bits, it
        // has special bits, or the existing parent is setgid or has a default ACL.
        let exactWithoutChmod = mode & 0o7000 == 0 && mode & Posix.fileCreationMask == 0 && existingParent?.givesExactModes == true
        for directory in missing.reversed() {
            try session.perform(MakeDirectory(path: try session.effectPath(directory), mode: mode, needsChmod: !exactWithoutChmod))
        }
        session.files.madeDirectory(real)
        call.push(true)
        return 1
    }

    /// `path` and, with `parents`, its missing parents (deepest first), and the existing
    /// directory the outermost of them is made in.
    static func directoriesToMake(_ path: String, parents: Bool, session: RunSession) throws
        -> (missing: [String], existingParent: CachingFileView.ExistingDirectory?)
    {
        guard parents else {
            let existing = session.files.existingDirectory(try session.paths.real(PathName.parent(path)))
            guard existing?.info.kind == .directory else {
                throw LuaHostFailure("fs.mkdir \(path): the parent directory does not exist (pass parents = true)")
            }
            return ([path], existing)
        }
        var missing = [path]
        var parent = PathName.parent(path)
        while parent != "/" {
            if let existing = session.files.existingDirectory(try session.paths.real(parent)) { return (missing, existing) }
            missing.append(parent)
            parent = PathName.parent(parent)
        }
        return (missing, nil)
    }

    // MARK: fs.write

    static var writeDoc: APIFunction {
        APIFunction(.effect, "path: string  an absolute path", "content: string  the bytes to write (may be binary)",
            "options?: fs.WriteOptions",
            returns: ["boolean  `true` if it wrote, `false` if the file already has this content and mode"],
            doc: """
            Writes `content` to the file `path`. The owner of an existing regular file is kept. The
            parent directory must exist (`the directory D does not exist`); `path` must not be a
            directory. The file is written to `PATH.runbook-tmp` and renamed over `path`, so
            readers never see half a file. An existing symlink at `path` is replaced by the file
            (the link is not followed). With `secret = true` (or when the content holds a known
            secret) only the size is recorded in the journal and `--json`, not the digest.

            Effect: `+ write PATH (N bytes)` for a new file, `~ change PATH (N bytes)` when something
            was there (`fs.write`). Undo: a new file is removed (unless its size changed since); an
            overwritten entry is restored from the run's backup with its mode and owner.
            Dry-run: later `fs.read` returns the planned content.
            """,
            example: #"fs.write(home .. "/config.php", config, { mode = "0640", secret = true })"#,
            classes: [APIClass("fs.WriteOptions", "mode?: string|integer  default: the mode of the existing file, else `\"0644\"`",
                               "secret?: boolean  leave the content digest out of the journal (files that hold passwords)")])
    }

    static func write(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try call.string(1)
        let content = try call.bytes(2)
        let options = try call.optionalTable(3) ?? LuaTable()
        let target = try session.effectPath(path)
        let existing = session.files.info(target.real)
        if let existing, existing.kind == .directory { throw LuaHostFailure("fs.write \(path): is a directory") }
        // A new file, or one replacing a symlink (whose 0777 is no file mode), gets 0644.
        let inherited = existing?.kind == .file ? existing?.mode : nil
        let mode = try fileMode(options["mode"], call: call, position: 3) ?? inherited ?? 0o644
        if let existing, existing.kind == .file, existing.mode == mode, (try? session.files.read(target.real)) == content {
            session.noChange("\(path) has this content")
            call.push(false)
            return 1
        }
        guard session.files.parentIsDirectory(target.real) else {
            throw LuaHostFailure("fs.write \(path): the directory \(PathName.parent(path)) does not exist")
        }
        try session.perform(WriteFile(path: target, bytes: content, mode: mode, replacing: existing != nil,
                                      secret: options["secret"].boolValue ?? session.redactor.containsSecret(content)))
        call.push(true)
        return 1
    }

    // MARK: fs.symlink

    static var symlinkDoc: APIFunction {
        APIFunction(.effect, "target: string  what the link points to", "path: string  the link's absolute path",
            returns: ["boolean  `true` if it created or changed the link, `false` if it already points to `target`"],
            doc: """
            Makes `path` a symlink to `target`, like `ln -sfn target path`. Raises an error if
            `path` exists and is not a symlink, or its directory does not exist. Replacing a link is
            atomic (a new link beside it, renamed over it). An absolute `target` is confined like a
            path: under `--root DIR` the link on disk points to `DIR/target` (`fs.readlink` still
            returns `target`). A relative `target` is stored as given.

            Effect: `+ link PATH -> TARGET`, or `~ relink PATH -> TARGET` when replacing
            (`fs.symlink`). Undo: a new link is removed if it still points to `target`; a replaced
            link is restored from the backup. Dry-run: later `fs.readlink` returns the planned target.
            """,
            example: #"fs.symlink(home .. "/releases/r2", home .. "/current")"#)
    }

    static func symlink(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let target = try call.string(1)
        let path = try call.string(2)
        let link = try session.effectPath(path)
        let realTarget = try session.paths.realLinkTarget(target)
        let existing = session.files.infoBeforeCreating(link.real)
        if let existing {
            guard existing.kind == .symlink else {
                throw LuaHostFailure("fs.symlink \(path): exists and is not a symlink (remove it first)")
            }
            if session.files.readLink(link.real) == realTarget {
                session.noChange("\(path) -> \(target)")
                call.push(false)
                return 1
            }
        }
        guard session.files.parentIsDirectory(link.real) else {
            throw LuaHostFailure("fs.symlink \(path): the directory \(PathName.parent(path)) does not exist")
        }
        try session.perform(MakeSymlink(path: link, target: target, realTarget: realTarget, replacing: existing != nil))
        call.push(true)
        return 1
    }

    // MARK: fs.remove

    static var removeDoc: APIFunction {
        APIFunction(.effect, "path: string  an absolute path",
            returns: ["boolean  `true` if it removed something, `false` if nothing was there"],
            doc: """
            Removes a file, a symlink (not what it points to) or a whole directory tree. Refuses to
            remove `/` or the root. Before removing, the whole entry is copied into the run's
            `backups/` (files, links, directories, with modes and owners), so undo can put it back;
            removing a large tree copies it first.

            Effect: `- remove PATH` or `- remove directory PATH` (`fs.remove`). Undo: restore the
            copy. Dry-run: the path and everything below it disappear from the overlay.
            """,
            example: #"fs.remove(home .. "/releases/r0")"#)
    }

    static func remove(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try call.string(1)
        let target = try session.effectPath(path)
        guard target.real != session.paths.root, path != "/" else { throw LuaHostFailure("fs.remove refuses to remove the root") }
        guard let info = session.files.info(target.real) else {
            session.noChange("\(path) does not exist")
            call.push(false)
            return 1
        }
        try session.perform(RemovePath(path: target, isDirectory: info.kind == .directory))
        call.push(true)
        return 1
    }

    // MARK: fs.rename

    static var renameDoc: APIFunction {
        APIFunction(.effect, "from: string  an absolute path that exists", "to: string  the new absolute path",
            doc: """
            Renames `from` to `to` (`rename(2)`: same filesystem only). If `to` exists it is
            replaced; it is saved first for undo. Raises an error if `from` does not exist. Returns
            nothing. It always makes an effect: calling it again after the rename fails, because
            `from` is gone.

            Effect: `~ rename FROM -> TO`, with ` (replacing it)` when `to` existed (`fs.rename`).
            Undo: rename back; then restore the replaced entry. Dry-run: reads of `to` see what was at
            `from`; `from` no longer exists.
            """,
            example: #"fs.rename(home .. "/config.php", home .. "/config.php.old")"#)
    }

    static func rename(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let from = try session.effectPath(try call.string(1))
        let to = try session.effectPath(try call.string(2))
        guard session.files.info(from.real) != nil else { throw LuaHostFailure("fs.rename \(from.shown): does not exist") }
        try session.perform(RenamePath(from: from, to: to, replacing: session.files.info(to.real) != nil))
        return 0
    }

    // MARK: fs.chmod

    static var chmodDoc: APIFunction {
        APIFunction(.effect, "path: string  an absolute path that exists", "mode: string|integer  like `\"0640\"`",
            returns: ["boolean  `true` if it changed the mode, `false` if it already had it"],
            doc: """
            Sets the mode of `path`. Raises an error if `path` does not exist.

            Effect: `~ chmod PATH 644 -> 600` (`fs.chmod`). Undo: set the old mode.
            Dry-run: later `fs.stat` shows the new mode.
            """,
            example: #"fs.chmod(home .. "/config.php", "0600")"#)
    }

    static func chmod(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let target = try session.effectPath(try call.string(1))
        guard let mode = try fileMode(try call.value(2), call: call, position: 2) else { throw call.argumentError(2, "mode expected") }
        guard let info = session.files.info(target.real) else { throw LuaHostFailure("fs.chmod \(target.shown): does not exist") }
        guard info.kind != .symlink else {
            throw LuaHostFailure("fs.chmod \(target.shown): is a symlink (runbook does not change the mode of what a link points to)")
        }
        if info.mode == mode {
            session.noChange("\(target.shown) mode \(String(mode, radix: 8))")
            call.push(false)
            return 1
        }
        try session.perform(ChangeMode(path: target, mode: mode, oldMode: info.mode))
        call.push(true)
        return 1
    }

    // MARK: fs.chown

    static var chownDoc: APIFunction {
        APIFunction(.effect, "path: string  an absolute path that exists", "owner: string  `\"www\"`, `\"www:www\"` or `\"1001:1001\"`",
            returns: ["boolean  `true` if it changed something, `false` if the owner was already so"],
            doc: """
            Sets the owner, and optionally the group, of `path`. Without a group the group is
            unchanged. A symlink itself is changed, not its target. Names are looked up on this
            host when the function is called (in a dry-run too): an unknown user or group is an
            error (`fs.chown: no user 'x' on this host`). Raises an error if `path` does not exist.

            Effect: `~ chown PATH to OWNER` (`fs.chown`). Undo: set the old owner and group.
            """,
            example: #"fs.chown(home .. "/config.php", "www:www")"#)
    }

    static func chown(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let target = try session.effectPath(try call.string(1))
        let owner = try call.string(2)
        let (uid, gid) = try session.currentHost == nil ? resolveOwner(owner) : resolveOwner(owner, there: session)
        guard let info = session.files.info(target.real) else { throw LuaHostFailure("fs.chown \(target.shown): does not exist") }
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

    // MARK: fs.relink_tree

    static var relinkTreeDoc: APIFunction {
        APIFunction(.effect, "dir: string  the directory to walk", "from_prefix: string  an absolute target prefix",
            "to_prefix: string  the absolute prefix that replaces it",
            returns: ["integer  the number of links changed"],
            doc: """
            Retargets every symlink under `dir` whose target is `from_prefix` or starts with
            `from_prefix/`: its new target is `to_prefix` followed by the rest of the old one. Both
            prefixes are confined like paths under `--root`. The walk does not follow symlinked
            directories. Returns `0` (and an "already so" line) when no link points into
            `from_prefix`. Raises an error if `dir` is not a directory. It does not check that the
            new targets exist.

            Effect: one effect for all links, `~ relink N symlinks under DIR from FROM to TO`
            (`fs.relink_tree`). Undo: point each link back at its old target, skipping links that no
            longer point where the run pointed them. Dry-run: later reads see the new targets.
            """,
            example: """
            local n = fs.relink_tree("/usr/home", "/usr/local/divinity/shared/r41", "/usr/local/divinity/shared/r42")
            log.info(n, "sites now use r42")
            """)
    }

    static func relinkTree(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let directory = try session.effectPath(try call.string(1))
        let from = try call.string(2), to = try call.string(3)
        guard from.hasPrefix("/"), to.hasPrefix("/") else { throw call.argumentError(2, "prefixes must be absolute paths") }
        let realFrom = try session.paths.realLinkTarget(from), realTo = try session.paths.realLinkTarget(to)
        guard session.files.info(directory.real)?.kind == .directory else {
            throw LuaHostFailure("fs.relink_tree: \(directory.shown) is not a directory")
        }
        var links: [RelinkTree.Link] = []
        collectLinks(in: directory.real, view: session.files) { path, target in
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

    // MARK: fs.exists

    static var existsDoc: APIFunction {
        APIFunction(.read, "path: string  an absolute path",
            returns: ["boolean  `true` if something is at `path`"],
            doc: """
            Does not follow a final symlink: a dangling link exists. Sees planned changes in a dry-run.
            """,
            example: "if not fs.exists(home) then fs.mkdir(home) end")
    }

    static func exists(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        call.push(session.files.info(try session.paths.real(try call.string(1))) != nil)
        return 1
    }

    // MARK: fs.read

    static var readDoc: APIFunction {
        APIFunction(.read, "path: string  an absolute path",
            returns: ["string  the file's content"],
            doc: """
            The content of the file at `path` (following symlinks). Raises
            `fs.read PATH: No such file or directory` (or the system's other reasons) on failure. Sees
            planned writes in a dry-run.
            """,
            example: #"local version = fs.read(codebase .. "/VERSION")"#)
    }

    static func read(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try call.string(1)
        do { call.push(bytes: try session.files.read(try session.paths.real(path, followingLast: true))) } catch let error as SystemError {
            throw LuaHostFailure("fs.read \(path): \(String(cString: strerror(error.code)))")
        }
        return 1
    }

    // MARK: fs.list

    static var listDoc: APIFunction {
        APIFunction(.read, "path: string  an absolute directory path",
            returns: ["string[]  the names, sorted"],
            doc: """
            The names in directory `path`, without `.` and `..`. Raises
            `fs.list PATH: Not a directory` (or `No such file or directory`) on failure. Sees planned
            entries and removals in a dry-run.
            """,
            example: #"for _, name in ipairs(fs.list("/usr/home")) do print(name) end"#)
    }

    static func list(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try call.string(1)
        do {
            let names = try session.files.list(try session.paths.real(path, followingLast: true))
            try call.push(.table(LuaTable(array: names.map { LuaValue.string($0) })))
        } catch let error as SystemError {
            throw LuaHostFailure("fs.list \(path): \(String(cString: strerror(error.code)))")
        }
        return 1
    }

    // MARK: fs.readlink

    static var readlinkDoc: APIFunction {
        APIFunction(.read, "path: string  an absolute path",
            returns: ["string|nil  the link's target, or `nil` when `path` is not a symlink or does not exist"],
            doc: """
            The target of the symlink at `path` (under `--root`, with the root prefix removed).
            Sees planned links in a dry-run.
            """,
            example: #"local current = fs.readlink(home .. "/current")"#)
    }

    static func readlink(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        if let target = session.files.readLink(try session.paths.real(try call.string(1))) {
            call.push(session.paths.virtualLinkTarget(target))
        } else {
            call.pushNil()
        }
        return 1
    }

    // MARK: fs.stat

    static var statDoc: APIFunction {
        APIFunction(.read, "path: string  an absolute path",
            returns: ["fs.Stat|nil  `nil` if nothing is at `path`"],
            doc: """
            What is at `path`, without following a final symlink (`lstat`). `mode` is a four-digit
            octal string. Sees planned changes in a dry-run.
            """,
            example: """
            local st = fs.stat(home .. "/config.php")
            if st and st.mode ~= "0640" then fs.chmod(home .. "/config.php", "0640") end
            """,
            classes: [APIClass("fs.Stat", "type: \"file\"|\"directory\"|\"symlink\"|\"other\"", "mode: string  like `\"0644\"`",
                               "uid: integer", "gid: integer", "size: integer  in bytes")])
    }

    static func stat(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        guard let info = session.files.info(try session.paths.real(try call.string(1))) else {
            call.pushNil()
            return 1
        }
        let mode = String(info.mode, radix: 8)
        try call.push(["type": .string(info.kind.rawValue), "mode": .string(String(repeating: "0", count: max(0, 4 - mode.count)) + mode),
                       "uid": .integer(Int64(info.uid)), "gid": .integer(Int64(info.gid)), "size": .integer(info.size)])
        return 1
    }

    /// Walks a tree (not following symlinked directories) and reports every symlink.
    package static func collectLinks(in directory: String, view: FileSystemView, _ found: (String, String) -> Void) {
        for name in (try? view.list(directory)) ?? [] {
            let path = directory + "/" + name
            switch view.info(path)?.kind {
            case .symlink: if let target = view.readLink(path) { found(path, target) }
            case .directory: collectLinks(in: path, view: view, found)
            default: break
            }
        }
    }

    /// Reads a file mode given as an octal string ("0755") or a number (already octal-valued,
    /// e.g. tonumber("755", 8)). Lua has no octal literals: 0755 in Lua is decimal 755.
    package static func fileMode(_ value: LuaValue, call: LuaCall, position: Int32) throws -> UInt32? {
        switch value {
        case .nil: return nil
        case .string:
            let text = value.stringValue ?? ""
            guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
                throw call.argumentError(position, "mode '\(text)' is not an octal mode like \"0755\"")
            }
            return mode
        case .integer(let number):
            guard number >= 0 && number <= 0o7777 else { throw call.argumentError(position, "mode \(number) is out of range (use a string like \"0755\")") }
            return UInt32(number)
        default:
            throw call.argumentError(position, "mode must be a string like \"0755\"")
        }
    }

    /// "www", "www:ftp", "1001:1001" -> ids.
    /// The ids `owner` names on the host `on` names: its own users and groups (`id -u`,
    /// `getent group`), which may not be this host's.
    static func resolveOwner(_ owner: String, there session: RunSession) throws -> (UInt32, UInt32?) {
        let parts = owner.split(separator: ":", maxSplits: 1).map(String.init)
        guard let userName = parts.first, !userName.isEmpty, !userName.hasPrefix("-") else { throw LuaHostFailure("fs.chown: '\(owner)' is not an owner") }
        let host = session.currentHost ?? "this host"
        func number(_ argv: [String], field: Int, what: String) throws -> UInt32 {
            let result = try session.runRead(argv, timeout: 30)
            let fields = result.outputText.trimmed.split(separator: ":", omittingEmptySubsequences: false)
            guard result.succeeded, fields.count > field, let value = UInt32(fields[field]) else {
                throw LuaHostFailure("fs.chown: no \(what) on \(host)")
            }
            return value
        }
        let uid = try UInt32(userName) ?? number(["id", "-u", "--", userName], field: 0, what: "user '\(userName)'")
        guard parts.count == 2 else { return (uid, nil) }
        guard !parts[1].isEmpty, !parts[1].hasPrefix("-") else { throw LuaHostFailure("fs.chown: '\(owner)' is not an owner") }
        return (uid, try UInt32(parts[1]) ?? number(["getent", "group", parts[1]], field: 2, what: "group '\(parts[1])'"))
    }

    package static func resolveOwner(_ owner: String) throws -> (UInt32, UInt32?) {
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
