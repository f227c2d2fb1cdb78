// Effects that reach beyond this host's files: rsync transfers, commands on other hosts,
// mail. None of them can be undone unless the runbook says how.

/// An rsync transfer. A daemon password goes through a temporary 0600 file, never argv.
struct RsyncEffect: Effect {
    let argv: [String]
    let source: String
    let destination: String
    let delete: Bool
    let password: String?
    let undoArgv: [String]?
    let remote: Bool
    var kind: String { "rsync" }
    var sign: ChangeSign { undoArgv == nil ? .irreversible : .change }
    var summary: String { "sync \(source) -> \(destination)\(delete ? " (deleting extra files)" : "")" }
    var identity: JSON { .object([("source", .string(source)), ("destination", .string(destination)), ("delete", .bool(delete))]) }
    var reachesAnotherHost: Bool { remote }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        undoArgv.map { [RunCommandUndo(argv: $0)] }
    }

    func apply(_ world: World) throws -> EffectOutcome {
        let result = try RsyncRunner.run(argv, password: password, timeout: nil)
        guard result.succeeded else { throw ProcessFailure(argv: ["rsync"], result: result, problem: "failed") }
        let changes = result.outputText.split(separator: "\n").map { JSON.string(String($0)) }
        return EffectOutcome(result: .object([("changes", .array(changes))]))
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome { EffectOutcome(result: .object([("changes", .array([]))])) }
}

enum RsyncRunner {
    /// Runs rsync; with a password, through a private temporary password file.
    static func run(_ argv: [String], password: String?, timeout: Double?) throws -> ProcessResult {
        guard let password else { return try ProcessRunner.run(argv, timeout: timeout) }
        var template = Array("/tmp/runbook-rsync-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw SystemError("create password file in", "/tmp") }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(path) }
        fchmod(descriptor, 0o600)
        try Posix.writeAll(descriptor, Array((password + "\n").utf8), path: path)
        close(descriptor)
        var withFile = argv
        withFile.insert("--password-file=" + path, at: 1)
        return try ProcessRunner.run(withFile, timeout: timeout)
    }
}

/// A command on another host through ssh.
struct RemoteCommand: Effect {
    let host: HostConfig
    let command: [String]
    let undo: [String]?
    let timeout: Double?
    var kind: String { "remote.run" }
    var sign: ChangeSign { undo == nil ? .irreversible : .change }
    var summary: String { "run on \(host.name): " + command.map(ShellWords.quote).joined(separator: " ") }
    var identity: JSON { .object([("host", .string(host.name)), ("argv", .array(command.map { .string($0) }))]) }
    var reachesAnotherHost: Bool { true }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        undo.map { [RunCommandUndo(argv: SSHCommand.argv(host, $0))] }
    }

    func apply(_ world: World) throws -> EffectOutcome {
        let result = try ProcessRunner.run(SSHCommand.argv(host, command), timeout: timeout)
        guard result.succeeded else { throw ProcessFailure(argv: ["ssh " + host.name], result: result, problem: "failed") }
        return EffectOutcome(result: .object([("status", .int(Int64(result.status))), ("stdout", .string(result.outputText)),
                                              ("stderr", .string(result.errorText))]))
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        EffectOutcome(result: .object([("status", .int(0)), ("stdout", .string(SymbolicValue.text("output"))), ("stderr", .string(""))]))
    }
}

/// A mail handed to the local sendmail. Sent mail cannot be recalled.
struct SendMail: Effect {
    let sendmail: String
    let to: [String]
    let subject: String
    let message: [UInt8]
    var kind: String { "mail.send" }
    var sign: ChangeSign { .irreversible }
    var summary: String { "mail \"\(subject)\" to \(to.joined(separator: ", "))" }
    var identity: JSON { .object([("to", .array(to.map { .string($0) })), ("subject", .string(subject))]) }
    var reachesAnotherHost: Bool { true }

    func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    func apply(_ world: World) throws -> EffectOutcome {
        // -t: recipients from the headers; -i: a lone "." line does not end the message.
        let result = try ProcessRunner.run([sendmail, "-t", "-i"], input: message, timeout: 60)
        guard result.succeeded else { throw ProcessFailure(argv: [sendmail], result: result, problem: "failed") }
        return EffectOutcome()
    }
}
