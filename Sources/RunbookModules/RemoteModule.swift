// The `remote` module: commands and runbooks on other hosts named in the config, through
// the system's OpenSSH client.

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookRun
import RunbookSupport

package enum RemoteModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("remote", title: "remote: other hosts", doc: """
            Hosts are named in the configuration:

            ```toml
            [hosts.d2]
            address = "10.0.0.2"
            user = "root"
            identity_file = "/root/.ssh/runbook"
            ssh_options = ["StrictHostKeyChecking=yes"]
            ```
            """),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // remote.run(host, argv [, {timeout=, undo=argv, read_only=false}]) -> {status=, stdout=, stderr=}
        LuaPrimitive("remote.run", doc: runDoc, run),
        // remote.runbook(host, name, args) -> true: runs a runbook there with this run's
        // dry-run flag; its step log is streamed back into this run's log.
        LuaPrimitive("remote.runbook", doc: runbookDoc, runbook),
    ] }

    // MARK: remote.run

    static var runDoc: APIFunction {
        APIFunction(.effect, "host: string  a `[hosts.NAME]` of the configuration", "argv: string[]  the program and its arguments",
            "options?: cmd.RunOptions",
            returns: ["cmd.Result"],
            doc: """
            Runs `argv` on a host named in the config through the system's OpenSSH client
            (`BatchMode=yes`, connection reuse with `ControlMaster`/`ControlPersist`). Each word is
            quoted for the remote shell, so the remote side runs exactly this argv. `read_only`
            commands run in a dry-run; others are effects (`!` unless `undo`), journaled and fsynced
            before they run because they reach another host.
            """)
    }

    static func run(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let host = try hostConfig(call, session)
        let argv = try CmdModule.argvList(try call.table(2), call: call, position: 2)
        let options = try call.optionalTable(3) ?? LuaTable()
        let timeout = try call.timeout(options, position: 3)
        if options["read_only"].boolValue == true {
            let result = try ProcessRunner.run(SSHCommand.argv(host, argv), timeout: timeout)
            try call.push(["status": .integer(Int64(result.status)), "stdout": .string(result.outputText), "stderr": .string(result.errorText)])
            return 1
        }
        let undo = try options["undo"].tableValue.map { try CmdModule.argvList($0, call: call, position: 3) }
        let outcome = try session.perform(RemoteCommand(host: host, command: argv, undo: undo, timeout: timeout))
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    // MARK: remote.runbook

    static var runbookDoc: APIFunction {
        APIFunction(.effect, "host: string  a `[hosts.NAME]` of the configuration", "name: string  the runbook",
            "args: table<string, any>  its arguments, by parameter name",
            returns: ["boolean  `true`"],
            doc: """
            Runs the runbook `name` on that host (`runbook run NAME --json --yes --args-stdin`, with
            `--dry-run` when this run is a dry-run; the arguments go over ssh's stdin as that run's
            `RUNBOOK_ARG_*` values, so a secret among them is on no command line of either host)
            and streams its step log back into this run's log
            as `[host] ...` lines. Fails when the remote run fails. Configure how runbook is started
            there with `runbook = ["/usr/local/bin/runbook", "--config", "..."]` in `[hosts.NAME]`.
            """)
    }

    static func runbook(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let host = try hostConfig(call, session)
        let name = try call.string(2)
        guard RunbookCatalog.isValidName(name) else { throw call.argumentError(2, "'\(name)' is not a runbook name") }
        let arguments = try call.optionalTable(3) ?? LuaTable()
        var remote = host.runbookCommand + ["run", name, "--json", "--yes", "--args-stdin"]
        if session.isDryRun { remote.append("--dry-run") }
        // The arguments go over ssh's stdin as RUNBOOK_ARG_* values of the run there: a
        // secret among them is on no command line of either host.
        var values: [String: String] = [:]
        for (key, value) in arguments.sortedStringFields {
            guard let text = value.scalarText else {
                throw call.argumentError(3, "argument '\(key)' must be a string, number or boolean")
            }
            values[ArgumentBinder.environmentName(key)] = text
        }
        let input = Array(RunArguments(words: [], secrets: values).json.serialized.utf8)
        let result = try ProcessRunner.run(SSHCommand.argv(host, remote), input: input, timeout: nil)
        for line in result.output.split(separator: UInt8(ascii: "\n")) {
            guard let event = try? JSON.parse(String(decoding: line, as: UTF8.self)) else { continue }
            let type = event["event"]?.stringValue ?? ""
            let text = event["summary"]?.stringValue ?? event["step"]?.stringValue ?? event["message"]?.stringValue ?? ""
            if ["step_started", "effect_applied", "effect_planned", "log", "step_finished"].contains(type) {
                session.output.log("info", "[\(host.name)] \(type.replacingAll("_", with: " ")): \(text)")
            }
        }
        guard result.succeeded else {
            throw LuaHostFailure("runbook \(name) on \(host.name) failed (exit \(result.status))" + (result.errorText.isEmpty ? "" : ": " + result.diagnostic))
        }
        call.push(true)
        return 1
    }

    package static func hostConfig(_ call: LuaCall, _ session: RunSession) throws -> HostConfig {
        let name = try call.string(1)
        guard let host = session.config.hosts[name] else {
            let known = session.config.hosts.keys.sorted()
            throw call.argumentError(1, "unknown host '\(name)' (\(known.isEmpty ? "no [hosts] in the config" : "known: " + known.joined(separator: ", ")))")
        }
        return host
    }
}
