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
            A daemon `password` is written to a private temporary file passed as
            `--password-file`, never put on the command line. Without `undo` the effect is `!`. In
            a dry-run rsync itself runs with `--dry-run --itemize-changes` (read-only): the plan
            lists the files it would move, and the result's `changes` are those lines (none when a
            side is a folder this dry-run only plans to create).
            """,
            example: direction == "pull" ? nil : """
            rsync.push(home .. "/", "rsync://sync@10.0.0.2/homes/" .. name .. "/", { password = args.rsync_password })
            rsync.push(home .. "/", "d2:" .. home .. "/", { delete = true })
            """,
            classes: [APIClass("rsync.Options", "delete?: boolean  remove extra files", "checksum?: boolean  compare checksums",
                               "excludes?: string[]  patterns to leave out", "password?: string  for a daemon (a secret)",
                               "undo?: string[]  the argv that reverses it"),
                      APIClass("rsync.Result", "changes: string[]  rsync's itemized lines")])
    }

    static func copy(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let source = try endpoint(try call.string(1), session, call, 1)
        let destination = try endpoint(try call.string(2), session, call, 2)
        let options = try call.optionalTable(3) ?? LuaTable()
        let password = options["password"].stringValue
        if let password { session.redactor.add(password) }
        var argv = ["rsync", "-a", "--itemize-changes"]
        if options["delete"].boolValue == true { argv.append("--delete") }
        if options["checksum"].boolValue == true { argv.append("--checksum") }
        for exclude in options["excludes"].tableValue?.array.compactMap(\.stringValue) ?? [] { argv.append("--exclude=" + exclude) }
        if let host = source.host ?? destination.host { argv += ["-e", SSHCommand.rsyncShell(host)] }
        argv += [source.argument, destination.argument]
        let undo = try options["undo"].tableValue.map { try CmdModule.argvList($0, call: call, position: 3) }
        let outcome = try session.perform(RsyncEffect(
            argv: argv, source: source.shown, destination: destination.shown, delete: options["delete"].boolValue == true,
            password: password, undoArgv: undo, remote: source.remote || destination.remote,
            localPaths: [source, destination].filter { !$0.remote }.map(\.argument)))
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    package struct Endpoint {
        package var argument: String
        package var shown: String
        package var host: HostConfig?
        package var remote: Bool
    }

    package static func endpoint(_ text: String, _ session: RunSession, _ call: LuaCall, _ position: Int32) throws -> Endpoint {
        guard !text.isEmpty, !text.hasPrefix("-") else { throw call.argumentError(position, "'\(text)' is not a path or an rsync address") }
        if text.hasPrefix("rsync://") { return Endpoint(argument: text, shown: text, host: nil, remote: true) }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            let name = String(text[..<colon])
            guard let host = session.config.hosts[name] else {
                throw call.argumentError(position, "'\(name)' is not a host in the config ([hosts.\(name)])")
            }
            let path = String(text[text.index(after: colon)...])
            let user = host.user.map { $0 + "@" } ?? ""
            return Endpoint(argument: "\(user)\(host.address):\(path)", shown: text, host: host, remote: true)
        }
        // A trailing slash means "the contents of" to rsync: keep it.
        let real = try session.paths.real(text)
        return Endpoint(argument: real + (text.hasSuffix("/") && !real.hasSuffix("/") ? "/" : ""), shown: text, host: nil, remote: false)
    }
}
