// The `rsync` module: push or pull trees between local paths, rsync daemons
// (rsync://host/module, password from a secret through a file) and configured hosts (ssh).

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookRun
import RunbookSupport

package enum RsyncModule {
    package static func register(into state: LuaState, slot: SessionSlot) {
        state.document(module: APIModule("rsync", title: "rsync: copying trees", doc: """
            Each endpoint is a local path (under the root), an rsync daemon address
            `rsync://[user@]host[:port]/module/path`, or `HOST:path` for a host named in the config
            (`[hosts.HOST]`, over ssh).
            """))
        state.register(primitives, slot: slot)
    }

    /// Every `rsync` function, in the order docs/api.md shows them.
    static var primitives: [LuaPrimitive] { [
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
            a dry-run rsync itself runs with `--dry-run --itemize-changes` (read-only) and the plan
            lists the files it would move.
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
        if session.isDryRun, let planned = [source, destination].first(where: { onlyPlanned($0, session) }) {
            // rsync cannot read a tree this dry-run only planned (an install's new home).
            session.output.log("info", "rsync would copy \(source.shown) to \(destination.shown); "
                               + "\(planned.shown) is created by this run, so its files are known after apply")
        } else if session.isDryRun {
            // rsync --dry-run reads both sides and changes neither.
            var preview = argv
            preview.insert("--dry-run", at: 1)
            let result = try RsyncRunner.run(preview, password: password, timeout: 300)
            guard result.succeeded else { throw ProcessFailure(argv: ["rsync --dry-run"], result: result, problem: "failed") }
            let lines = result.outputText.split(separator: "\n")
            session.output.log("info", "rsync would change \(lines.count) item\(lines.count == 1 ? "" : "s")"
                               + (lines.isEmpty ? "" : ":\n    " + lines.prefix(50).joined(separator: "\n    ")))
        }
        let outcome = try session.perform(RsyncEffect(
            argv: argv, source: source.shown, destination: destination.shown, delete: options["delete"].boolValue == true,
            password: password, undoArgv: undo, remote: source.remote || destination.remote))
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    package struct Endpoint {
        package var argument: String
        package var shown: String
        package var host: HostConfig?
        package var remote: Bool
    }

    /// A local endpoint (or, for a destination, its folder) that exists in the dry-run's
    /// overlay but not on disk yet.
    package static func onlyPlanned(_ endpoint: Endpoint, _ session: RunSession) -> Bool {
        guard !endpoint.remote else { return false }
        var path = endpoint.argument
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        for candidate in [path, PathName.parent(path)] where Posix.lstatInfo(candidate) == nil {
            if session.view.info(candidate) != nil { return true }
        }
        return false
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
