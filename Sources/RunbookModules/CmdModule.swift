// The `cmd` module: running a program by argv — the explicit escape hatch.

import LuaBridge
import RunbookCore
import RunbookRun
import RunbookSupport

package enum CmdModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("platform", title: "Platform primitives", doc: """
            The modules from `cmd` to `vcs` reach the system beyond files and rows. Each renders its
            action through the platform adapter as an argv — never a shell string — spelled for the
            host it runs on:

            | action | Linux (Debian: cloud handlers, this machine) | FreeBSD (production) |
            |---|---|---|
            | bind mount | `mount --bind SRC DST` | `mount_nullfs SRC DST` |
            | unmount | `umount DST` | `umount DST` |
            | add an address | `ip addr add ADDR/32 dev IF` | `ifconfig IF inet ADDR/32 alias` |
            | remove an address | `ip addr del ADDR/32 dev IF` | `ifconfig IF inet ADDR -alias` |
            | list addresses | `ip -o addr show dev IF` | `ifconfig IF` |
            | ping | `ping -4 -c 1 -W 1 -n -q ADDR` | `ping -c 1 -t 1 -n -q ADDR` |
            | reload nginx | `nginx [-c CONF] -s reload` (no systemd) | `service nginx reload` |
            | reload another service | `service NAME reload` | `service NAME reload` |
            | config test | `nginx -t -q [-c CONF]`, `php-fpm -t [-y CONF]` | the same |

            The platform is detected; `platform = "freebsd"` or `"linux"` in the config forces it.
            IPv6 addresses use `/128` and `inet6`.
            """),
        APIModule("cmd", title: "cmd: programs", doc: ""),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // cmd.run(argv [, {timeout=seconds, undo=argv, read_only=false}]) -> {status=, stdout=, stderr=}
        // Not run in a dry-run unless read_only; shown with `!` unless it declares its undo.
        LuaPrimitive("cmd.run", doc: runDoc, run),
    ] }

    // MARK: cmd.run

    static var runDoc: APIFunction {
        APIFunction(.effect, "argv: string[]  the program and its arguments; there is no shell", "options?: cmd.RunOptions",
            returns: ["cmd.Result"],
            doc: """
            The explicit escape hatch. A command marked `read_only = true` is not an effect: it runs
            in a dry-run too and is not journaled. Otherwise it is an effect: not run in a dry-run
            (its `stdout` there is the symbolic "(known after apply: output)"), shown with `!` unless
            it declares `undo`, which is an argv run by `runbook undo` — also when the run died
            between the command's start and its end, so the command may not have happened: make
            it safe to run then (`rm -f`, not `rm`). A non-zero exit fails with
            the command's stderr. The program's environment is the engine's without `RUNBOOK_ARG_*`
            and without any variable that holds a secret of the run; it is killed if the engine dies.
            """,
            example: """
            local seen = cmd.run({ "svn", "st", codebase }, { read_only = true })
            cmd.run({ "apachectl", "graceful" })                                 -- ! cannot be undone
            cmd.run({ "touch", "/var/run/maint" }, { undo = { "rm", "-f", "/var/run/maint" } })
            """,
            classes: [APIClass("cmd.RunOptions", "timeout?: number  seconds before the command is killed (more than 0, at most a week)",
                               "undo?: string[]  the argv that reverses it", "read_only?: boolean  only reads: runs in a dry-run, not journaled"),
                      APIClass("cmd.Result", "status: integer  the exit status", "stdout: string", "stderr: string")])
    }

    static func run(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let argv = try argvList(try call.table(1), call: call, position: 1)
        let options = try call.optionalTable(2) ?? LuaTable()
        let timeout = try call.timeout(options, position: 2)
        let undo = try options["undo"].tableValue.map { try argvList($0, call: call, position: 2) }
        if options["read_only"].boolValue == true {
            let result = try session.runRead(argv, timeout: timeout)
            try call.push(["status": .integer(Int64(result.status)), "stdout": .string(result.outputText),
                           "stderr": .string(result.errorText)])
            return 1
        }
        let outcome = try session.perform(RunCommandEffect(argv: argv, undoArgv: undo, timeout: timeout))
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    /// An argv from a Lua array of strings: never a shell string.
    package static func argvList(_ table: LuaTable, call: LuaCall, position: Int32) throws -> [String] {
        guard !table.array.isEmpty, table.fields.isEmpty else {
            throw call.argumentError(position, "argv must be an array of strings like {\"nginx\", \"-t\"}, never a shell string")
        }
        return try table.array.map { value in
            guard let word = value.stringValue else { throw call.argumentError(position, "argv holds a \(value.typeName)") }
            guard !word.utf8.contains(0) else { throw call.argumentError(position, "argv contains a NUL byte") }
            return word
        }
    }
}
