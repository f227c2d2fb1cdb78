// The `rsync` module: push or pull trees between local paths, rsync daemons
// (rsync://host/module, password from a secret through a file) and configured hosts (ssh).

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookRun
import RunbookSupport

package enum RsyncModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("rsync", title: "rsync: copying trees", doc: """
            Each endpoint is a local path (under the root), an rsync daemon address
            `rsync://[user@]host[:port]/module/path`, or `HOST:path` for a host named in the config
            (`[hosts.HOST]`, over ssh).
            """),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // rsync.push(source, destination [, options]) / rsync.pull(source, destination [, options])
        // options: delete=bool, password=secret (daemon), excludes={...}, undo=argv, checksum=bool
        // Endpoints: a local path, "rsync://host/module/path", or "HOST:path" for a [hosts.HOST].
        // In a dry-run rsync itself runs with --dry-run --itemize-changes and the plan lists the files.
        LuaPrimitive("rsync.push", doc: copyDoc("push"), copy),
        LuaPrimitive("rsync.pull", doc: copyDoc("pull"), copy),
    ] }

    // MARK: rsync.push, rsync.pull

    static func copyDoc(_ direction: String) -> APIFunction {
        APIFunction(.effect, "source: string  a local path, `rsync://...` or `HOST:path`",
            "destination: string  a local path, `rsync://...` or `HOST:path`", "options?: rsync.Options",
            returns: ["rsync.Result"],
            doc: """
            Copies a tree with `rsync -a`\(direction == "push" ? "" : " (the same as `rsync.push`; the name says which side is remote)"). \
            A daemon `password` goes to rsync's stdin (`--password-file=-`), never to the command
            line or a file; `password_file` names a file rsync reads it from instead (the guide's
            `/usr/local/etc/rsyncd_www.pwd`). A push to `HOST:path` of a host whose
            `[hosts.HOST]` says how runbook starts there (`runbook = ...`: it has runbook's agent) is
            undone there: rsync keeps on that host what it overwrites or deletes (`--backup-dir` in
            the run's folder of that host's state), the journal names what it creates (from a
            `--dry-run` before the push), and undo removes the one and puts back the other. Any
            other copy without `undo` is `!`. In
            a dry-run rsync itself runs with `--dry-run --itemize-changes` (read-only): the plan
            lists the files it would move, and the result's `changes` are those lines (none when a
            side is a folder this dry-run only plans to create). Inside `on(HOST, ...)` rsync runs
            on that host (its dry-run too), between that host's paths and rsync daemons; a
            `HOST:path` endpoint there is refused (it would need ssh from that host: push from
            here to `HOST:path` instead).
            """,
            example: direction == "pull" ? nil : """
            rsync.push(home .. "/", "rsync://sync@10.0.0.2/homes/" .. name .. "/", { password = args.rsync_password })
            rsync.push(home .. "/", "d2:" .. home .. "/", { delete = true })
            """,
            classes: [APIClass("rsync.Options", "delete?: boolean  remove extra files", "checksum?: boolean  compare checksums",
                               "excludes?: string[]  patterns to leave out", "password?: string  for a daemon (a secret)",
                               "password_file?: string  for a daemon: the file holding its password (mode 0600)",
                               "undo?: string[]  the argv that reverses it"),
                      APIClass("rsync.Result", "changes: string[]  rsync's itemized lines")])
    }

    static func copy(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let source = try endpoint(try call.string(1), session, call, 1)
        let destination = try endpoint(try call.string(2), session, call, 2)
        let options = try call.optionalTable(3) ?? LuaTable()
        if let host = session.currentHost, let other = source.host ?? destination.host {
            throw LuaHostFailure("rsync inside on(\"\(host)\", ...) cannot reach \(other.name): that needs ssh from \(host); "
                                 + "push from here to \"\(other.name):PATH\" instead")
        }
        let password = options["password"].stringValue
        if let password { session.redactor.add(password) }
        var argv = ["rsync", "-a", "--itemize-changes"]
        if let file = options["password_file"].stringValue {
            guard password == nil else { throw call.argumentError(3, "give password or password_file, not both") }
            guard source.daemon || destination.daemon else { throw call.argumentError(3, "password_file is for an rsync daemon (rsync://...)") }
            argv.append("--password-file=" + (try session.paths.real(file)))
        }
        if options["delete"].boolValue == true { argv.append("--delete") }
        if options["checksum"].boolValue == true { argv.append("--checksum") }
        for exclude in options["excludes"].tableValue?.array.compactMap(\.stringValue) ?? [] { argv.append("--exclude=" + exclude) }
        if let host = source.host ?? destination.host { argv += ["-e", SSHCommand.rsyncShell(host)] }
        let undo = try options["undo"].tableValue.map { try CmdModule.argvList($0, call: call, position: 3) }
        let receiver = try undo == nil ? receiverKeepingBackups(destination, session) : nil
        argv += (receiver?.rsyncOptions ?? []) + [source.argument, destination.argument]
        let outcome = try session.perform(RsyncEffect(
            argv: argv, source: source.shown, destination: destination.shown, delete: options["delete"].boolValue == true,
            password: password, undoArgv: undo, remote: source.remote || destination.remote,
            localPaths: [source, destination].filter { !$0.remote }.map(\.argument), receiver: receiver))
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    /// A push to a host with runbook's agent (`[hosts.NAME] runbook = ...`) keeps what it
    /// replaces there, in this run's folder of that host's state, so undo puts it back (a
    /// dry-run reaches the agent too: its plan shows the push as undoable, as it will be).
    static func receiverKeepingBackups(_ destination: Endpoint, _ session: RunSession) throws -> RsyncReceiver? {
        guard let host = destination.host, host.hasAgent, let path = destination.path else { return nil }
        let state = try session.agentStateDirectory(on: host.name)
        return RsyncReceiver(host: host.name, run: session.id, destination: path,
                             backupDirectory: state + "/rsync/" + String(session.effects.count + 1))
    }

    package struct Endpoint {
        package var argument: String
        package var shown: String
        package var host: HostConfig?
        package var remote: Bool
        /// The path on `host` (`HOST:path`).
        package var path: String?
        /// An rsync daemon (`rsync://...`).
        package var daemon: Bool { remote && host == nil }
    }

    package static func endpoint(_ text: String, _ session: RunSession, _ call: LuaCall, _ position: Int32) throws -> Endpoint {
        guard !text.isEmpty, !text.hasPrefix("-") else { throw call.argumentError(position, "'\(text)' is not a path or an rsync address") }
        if text.hasPrefix("rsync://") { return Endpoint(argument: text, shown: text, host: nil, remote: true, path: nil) }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            let name = String(text[..<colon])
            guard let host = session.config.hosts[name] else {
                throw call.argumentError(position, "'\(name)' is not a host in the config ([hosts.\(name)])")
            }
            let path = String(text[text.index(after: colon)...])
            let user = host.user.map { $0 + "@" } ?? ""
            return Endpoint(argument: "\(user)\(host.address):\(path)", shown: text, host: host, remote: true, path: path)
        }
        // A trailing slash means "the contents of" to rsync: keep it.
        let real = try session.paths.real(text)
        return Endpoint(argument: real + (text.hasSuffix("/") && !real.hasSuffix("/") ? "/" : ""), shown: text, host: nil, remote: false,
                        path: nil)
    }
}
