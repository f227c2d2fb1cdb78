// The `cron` module: one line in a user's crontab, or in a file of a cron.d folder —
// added or removed idempotently, with undo.

import LuaBridge
import RunbookCore
import RunbookRun
import RunbookSupport

package enum CronModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("cron", title: "cron: crontab lines", doc: """
            One line in a user's crontab (through `crontab -u USER`, which validates it) or in a file
            of a cron.d folder. Idempotent: a line already present (or already absent) is no change.
            Undo puts the crontab back as it was, unless it changed since; for a file, the usual
            `fs.write` undo.
            """),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // cron.add(line [, {user="root"} | {file="/etc/cron.d/NAME"}]) -> true if added
        LuaPrimitive("cron.add", doc: addDoc, add),
        // cron.remove(line [, {user=} | {file=}]) -> true if removed
        LuaPrimitive("cron.remove", doc: removeDoc, remove),
        // cron.list([{user=} | {file=}]) -> the lines (comments and blanks left out)
        LuaPrimitive("cron.list", doc: listDoc, list),
    ] }

    // MARK: cron.add

    static var addDoc: APIFunction {
        APIFunction(.effect, "line: string  the crontab line", "options?: cron.Options",
            returns: ["boolean  `true` if added"],
            doc: "Adds the line unless it is there.",
            example: #"cron.add("*/5 * * * * /usr/local/bin/php /home/internal/lib/cron/cron.php", { user = "www" })"#,
            classes: [APIClass("cron.Options", "user?: string  whose crontab (default: the user running runbook)",
                               "file?: string  a file of a cron.d folder instead")])
    }

    static func add(_ call: LuaCall, _ session: RunSession) throws -> Int32 { try edit(call, session, adding: true) }

    // MARK: cron.remove

    static var removeDoc: APIFunction {
        APIFunction(.effect, "line: string  the crontab line", "options?: cron.Options",
            returns: ["boolean  `true` if removed"],
            doc: "Removes the line if it is there.")
    }

    static func remove(_ call: LuaCall, _ session: RunSession) throws -> Int32 { try edit(call, session, adding: false) }

    // MARK: cron.list

    static var listDoc: APIFunction {
        APIFunction(.read, "options?: cron.Options",
            returns: ["string[]  the lines, comments and blanks left out"],
            doc: "The lines of the crontab or file.")
    }

    static func list(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let options = try call.optionalTable(1) ?? LuaTable()
        let lines = try current(options, session).split(separator: "\n").map(String.init)
            .filter { !$0.trimmed.isEmpty && !$0.trimmed.hasPrefix("#") }
        try call.push(.table(LuaTable(array: lines.map { .string($0) })))
        return 1
    }

    package static func current(_ options: LuaTable, _ session: RunSession) throws -> String {
        if let file = options["file"].stringValue {
            let real = try session.paths.real(file)
            return session.view.info(real) == nil ? "" : String(decoding: try session.view.read(real), as: UTF8.self)
        }
        let user = options["user"].stringValue ?? Posix.userName
        if let overlay = session.view as? Overlay, let planned = overlay.plannedCrontabs[user] { return planned }
        return try Crontab.read(user: user, reading: session.reading)
    }

    /// Adds or removes one line: cron.add and cron.remove.
    package static func edit(_ call: LuaCall, _ session: RunSession, adding: Bool) throws -> Int32 {
        let line = try call.string(1).trimmed
        guard !line.isEmpty, !line.contains("\n") else { throw call.argumentError(1, "a cron entry is one non-empty line") }
        let options = try call.optionalTable(2) ?? LuaTable()
        let before = try current(options, session)
        var lines = before.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let present = lines.contains { $0.trimmed == line }
        if present == adding {
            session.noChange("cron entry \(adding ? "present" : "absent"): \(line)")
            call.push(false)
            return 1
        }
        if adding { lines.append(line) } else { lines.removeAll { $0.trimmed == line } }
        let after = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        if let file = options["file"].stringValue {
            let path = try session.effectPath(file)
            try session.perform(WriteFile(path: path, bytes: Array(after.utf8), mode: session.view.info(path.real)?.mode ?? 0o644,
                                          replacing: session.view.info(path.real) != nil, secret: false))
        } else {
            let user = options["user"].stringValue ?? Posix.userName
            // On another host, `crontab -l -u` above has already named an unknown user.
            guard session.currentHost != nil || getpwnam(user) != nil else { throw call.argumentError(2, "no user '\(user)' on this host") }
            try session.perform(CrontabEdit(user: user, before: before, after: after, change: (adding ? "add " : "remove ") + line))
        }
        call.push(true)
        return 1
    }
}
