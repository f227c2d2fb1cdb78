// The `mount` module: bind mounts (nullfs on FreeBSD), their undo, and what is mounted.

import LuaBridge
import RunbookCore
import RunbookRun
import RunbookSupport

package enum MountModule: LuaModule {
    package static var sections: [APIModule] { [APIModule("mount", title: "mount: bind mounts", doc: "")] }

    package static var primitives: [LuaPrimitive] { [
        // mount.bind(source, target) -> true if mounted now, false if it already was
        LuaPrimitive("mount.bind", doc: bindDoc, bind),
        // mount.unbind(target) -> true if unmounted, false if nothing was mounted there
        LuaPrimitive("mount.unbind", doc: unbindDoc, unbind),
        // mount.list(path) -> { {source=, target=, type=}, ... } mounted at or under path
        LuaPrimitive("mount.list", doc: listDoc, list),
    ] }

    // MARK: mount.bind

    static var bindDoc: APIFunction {
        APIFunction(.effect, "source: string  a directory under the run's root", "target: string  a directory under the run's root",
            returns: ["boolean  `true` if mounted now, `false` if it already was"],
            doc: """
            Bind-mounts (nullfs on FreeBSD) `source` on `target`. `target` must be a directory, never
            a symlink (a customer's FTP tree is full of them). Both are opened by the same walk as the
            fs primitives, and on Linux mount(8) is given the opened directories
            (`/proc/PID/fd/N`), so a mount point swapped for a link after the check is not mounted
            over. Undo: unmount (and the undo of `mount.unbind` mounts again the same way).
            """)
    }

    static func bind(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let source = try session.effectPath(try call.string(1))
        let target = try session.effectPath(try call.string(2))
        if mounts(session).contains(where: { $0.target == target.real }) {
            session.noChange("\(target.shown) is mounted")
            call.push(false)
            return 1
        }
        guard session.view.info(source.real)?.kind == .directory else { throw LuaHostFailure("mount.bind: \(source.shown) is not a directory") }
        guard session.view.info(target.real)?.kind == .directory else { throw LuaHostFailure("mount.bind: \(target.shown) is not a directory") }
        try session.perform(BindMount(source: source, target: target))
        call.push(true)
        return 1
    }

    // MARK: mount.unbind

    static var unbindDoc: APIFunction {
        APIFunction(.effect, "target: string  the mount point",
            returns: ["boolean  `true` if unmounted, `false` if nothing was mounted there"],
            doc: """
            Unmounts whatever is mounted on `target`. The source is read from the kernel's mount
            table (`/proc/self/mountinfo`, `mount -p`), so undo mounts the same source again; if the
            source cannot be known the effect is `!`.
            """)
    }

    static func unbind(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let target = try session.effectPath(try call.string(1))
        guard let entry = mounts(session).first(where: { $0.target == target.real }) else {
            session.noChange("nothing is mounted on \(target.shown)")
            call.push(false)
            return 1
        }
        let source = entry.source.hasPrefix("/") ? entry.source : nil
        try session.perform(Unmount(target: target, source: source))
        call.push(true)
        return 1
    }

    // MARK: mount.list

    static var listDoc: APIFunction {
        APIFunction(.read, "path: string  an absolute path",
            returns: ["mount.Mount[]  everything mounted at or under `path`"],
            doc: "What is mounted at or under `path` (a dry-run includes planned mounts).",
            example: "for _, m in ipairs(mount.list(home .. \"/tmp/ftp\")) do mount.unbind(m.target) end",
            classes: [APIClass("mount.Mount", "source: string", "target: string", "type: string  the filesystem type")])
    }

    static func list(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let base = try session.paths.real(try call.string(1))
        let entries = mounts(session).filter { $0.target == base || $0.target.hasPrefix(base == "/" ? "/" : base + "/") }
        try call.push(.table(LuaTable(array: entries.map { entry in
            ["source": .string(session.paths.virtual(entry.source)), "target": .string(session.paths.virtual(entry.target)),
             "type": .string(entry.type)]
        })))
        return 1
    }

    /// The kernel's mount table, with a dry-run's planned mounts laid over it.
    package static func mounts(_ session: RunSession) -> [MountEntry] {
        // On another host, its own table (its mount namespace), read there.
        var entries = MountTable.current(platform: session.platform, reading: session.currentHost == nil ? nil : session.reading)
        if let overlay = session.view as? Overlay {
            for (target, source) in overlay.plannedMounts {
                entries.removeAll { $0.target == target }
                if source != Overlay.unmounted { entries.append(MountEntry(source: source, target: target, type: "bind (planned)")) }
            }
        }
        return entries
    }
}
