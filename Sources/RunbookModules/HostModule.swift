// `on(HOST, fn)`: the primitives fn calls act on another host, through its agent (an ssh
// session to `runbook agent` there, opened once per run): planned there in a dry-run,
// journaled here and undone there.

import LuaBridge
import RunbookRun
import RunbookSupport

package enum HostModule: LuaModule {
    /// Every function of this module.
    package static var primitives: [LuaPrimitive] { [
        // on(host, fn) -> what fn returns (its first value)
        LuaPrimitive("on", doc: onDoc, on),
    ] }

    // MARK: on

    static var onDoc: APIFunction {
        APIFunction(.run, "host: string  a `[hosts.NAME]` of the configuration", "fn: fun(): any  the work to do there",
            returns: ["any  what `fn` returns"],
            doc: """
            Runs `fn` with the functions it calls acting on `host`: `fs.*` (`fs.chown` names that
            host's users and groups), `cmd.run`, `service.*`, `cron.*`, `net.*` and `mount.*`. Reads
            are made there (in a dry-run too) and changes are made there by runbook's agent on that
            host (`runbook agent`, started over `ssh -o BatchMode=yes`, one connection per host for
            the whole run, with the command `[hosts.NAME] runbook` gives). Each effect is journaled here before it
            is sent, its backups are kept on that host, and `runbook undo` reverses it there. A
            `service.reload` runs at the end of the step behind the config test run there. Plan and
            log lines start with `on HOST:`. Nested calls name the inner host. `db` acts on the
            server its connection names (a connection to this host's own server is refused there);
            `rsync` runs on that host (a `HOST:path` endpoint is refused there). `http`, `mail` and
            `remote` cannot run on another host yet: inside `on` they fail with a line saying so,
            rather than act on this host. An unreachable host fails the call with
            one line naming it and ssh's reason, before anything is done there.
            """,
            example: """
            on("d2", function()
              fs.mkdir("/usr/home/" .. name)
              fs.write("/usr/home/" .. name .. "/VERSION", revision .. "\\n")
            end)
            """)
    }

    static func on(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let host = try call.string(1)
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 32 && $0 != 127 }) else { throw call.argumentError(1, "'\(host)' is not a host name") }
        let body = try call.function(2)
        guard let state = session.lua else { return 0 }
        let results = try session.on(host) { try state.call(body) }
        try call.push(results.first ?? .nil)
        return 1
    }
}
