// Effects that reach beyond this host's files: rsync transfers, commands on other hosts,
// mail. None of them can be undone unless the runbook says how.

import RunbookConfig
import RunbookSupport

/// An rsync transfer. A daemon password goes to rsync's stdin, never argv or a file.
package struct RsyncEffect: Effect {
    package let argv: [String]
    package let source: String
    package let destination: String
    package let delete: Bool
    package let password: String?
    package let undoArgv: [String]?
    package let remote: Bool
    /// The real paths of its local endpoints (the plan checks whether they exist yet).
    package let localPaths: [String]
    /// A push to a host whose agent keeps what it replaces: undone there.
    package let receiver: RsyncReceiver?
    package var kind: String { "rsync" }
    package var sign: ChangeSign { undoArgv == nil && receiver == nil ? .irreversible : .change }
    package var summary: String { "sync \(source) -> \(destination)\(delete ? " (deleting extra files)" : "")" }
    package var identity: JSON { .object([("source", .string(source)), ("destination", .string(destination)), ("delete", .bool(delete))]) }
    package var reachesAnotherHost: Bool { remote }

    /// A push to an agent's host: what it will create, from rsync's own dry-run, so the
    /// journaled intent names it before anything is copied.
    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        if let receiver {
            var preview = argv
            preview.insert("--dry-run", at: 1)
            let result = try RsyncRunner.run(preview, password: password, timeout: 300)
            guard result.succeeded else { throw ProcessFailure(argv: ["rsync --dry-run"], result: result, problem: "failed") }
            return receiver.undo(afterItemized: result.outputText)
        }
        return undoArgv.map { [RunCommandUndo(argv: $0)] }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        let result = try RsyncRunner.run(argv, password: password, timeout: nil)
        guard result.succeeded else { throw ProcessFailure(argv: ["rsync"], result: result, problem: "failed") }
        let changes = result.outputText.split(separator: "\n").map { JSON.string(String($0)) }
        return EffectOutcome(result: .object([("changes", .array(changes))]), undo: receiver?.undo(afterItemized: result.outputText))
    }

    /// Planned from both sides as they are: `rsync --dry-run` reads them and changes
    /// neither, and its itemized lines are the plan's `changes`. A side this plan only
    /// creates (an install's new home) cannot be read: its files are known after apply.
    package func simulate(_ overlay: Overlay) throws -> EffectOutcome {
        if let planned = localPaths.first(where: { Self.onlyPlanned($0, overlay) }) {
            return EffectOutcome(result: .object([("changes", .array([]))]),
                                 notes: ["rsync would copy \(source) to \(destination); \(planned) is created by this run, "
                                         + "so its files are known after apply"])
        }
        var preview = argv
        preview.insert("--dry-run", at: 1)
        let result = try RsyncRunner.run(preview, password: password, timeout: 300, with: overlay.runProgram)
        guard result.succeeded else { throw ProcessFailure(argv: ["rsync --dry-run"], result: result, problem: "failed") }
        let lines = result.outputText.split(separator: "\n").map(String.init)
        return EffectOutcome(result: .object([("changes", .array(lines.map { .string($0) }))]),
                             notes: ["rsync would change \(lines.count) item\(lines.count == 1 ? "" : "s")"
                                     + (lines.isEmpty ? "" : ":\n    " + lines.prefix(50).joined(separator: "\n    "))])
    }

    /// True when `path` (or, for a new entry, its folder) exists only in the plan.
    private static func onlyPlanned(_ path: String, _ overlay: Overlay) -> Bool {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        for candidate in [path, PathName.parent(path)] where overlay.unplanned.info(candidate) == nil {
            if overlay.info(candidate) != nil { return true }
        }
        return false
    }

    package init(argv: [String], source: String, destination: String, delete: Bool, password: String?, undoArgv: [String]?, remote: Bool,
                 localPaths: [String] = [], receiver: RsyncReceiver? = nil) {
        self.argv = argv
        self.source = source
        self.destination = destination
        self.delete = delete
        self.password = password
        self.undoArgv = undoArgv
        self.remote = remote
        self.localPaths = localPaths
        self.receiver = receiver
    }
}

package enum RsyncRunner {
    /// Runs rsync with `runner` (here, or on another host); a daemon password goes to its
    /// stdin (`--password-file=-`), never to argv or a file.
    package static func run(_ argv: [String], password: String?, timeout: Double?,
                            with runner: ProgramRunner = ProcessRunner.running) throws -> ProcessResult {
        guard let password else { return try runner(argv, [], timeout) }
        var withPassword = argv
        withPassword.insert("--password-file=-", at: 1)
        return try runner(withPassword, Array((password + "\n").utf8), timeout)
    }
}

/// A command on another host through ssh.
package struct RemoteCommand: Effect {
    package let host: HostConfig
    package let command: [String]
    package let undo: [String]?
    package let timeout: Double?
    package var kind: String { "remote.run" }
    package var sign: ChangeSign { undo == nil ? .irreversible : .change }
    package var summary: String { "run on \(host.name): " + command.map(ShellWords.quote).joined(separator: " ") }
    package var identity: JSON { .object([("host", .string(host.name)), ("argv", .array(command.map { .string($0) }))]) }
    package var reachesAnotherHost: Bool { true }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        undo.map { [RunCommandUndo(argv: SSHCommand.argv(host, $0))] }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try .finishedCommand(try ProcessRunner.run(SSHCommand.argv(host, command), timeout: timeout), shown: ["ssh " + host.name])
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome { .plannedCommand }

    package init(host: HostConfig, command: [String], undo: [String]?, timeout: Double?) {
        self.host = host
        self.command = command
        self.undo = undo
        self.timeout = timeout
    }
}

/// A mail handed to the local sendmail. Sent mail cannot be recalled.
package struct SendMail: Effect {
    package let sendmail: String
    package let to: [String]
    package let subject: String
    package let message: [UInt8]
    package var kind: String { "mail.send" }
    package var sign: ChangeSign { .irreversible }
    package var summary: String { "mail \"\(subject)\" to \(to.joined(separator: ", "))" }
    package var identity: JSON { .object([("to", .array(to.map { .string($0) })), ("subject", .string(subject))]) }
    package var reachesAnotherHost: Bool { true }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    package func apply(_ world: World) throws -> EffectOutcome {
        // -t: recipients from the headers; -i: a lone "." line does not end the message.
        let result = try ProcessRunner.run([sendmail, "-t", "-i"], input: message, timeout: 60)
        guard result.succeeded else { throw ProcessFailure(argv: [sendmail], result: result, problem: "failed") }
        return EffectOutcome()
    }

    package init(sendmail: String, to: [String], subject: String, message: [UInt8]) {
        self.sendmail = sendmail
        self.to = to
        self.subject = subject
        self.message = message
    }
}
