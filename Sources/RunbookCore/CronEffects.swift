// A user's crontab as an effect: replaced through `crontab` (which validates it), and put
// back by undo if nobody changed it since.

import RunbookSupport

/// Replaces a user's crontab (through `crontab`, which validates it). Undo puts the old
/// one back if nobody changed it since.
package struct CrontabEdit: Effect {
    package let user: String
    package let before: String
    package let after: String
    package let change: String
    package var kind: String { "cron.edit" }
    package var sign: ChangeSign { .change }
    package var summary: String { "\(change) in the crontab of \(user)" }
    package var identity: JSON { .object([("user", .string(user)), ("crontab", .string(after))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [RestoreCrontabUndo(user: user, content: before, expected: after)]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try Crontab.write(user: user, after)
        return EffectOutcome()
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedCrontabs[user] = after
        return EffectOutcome()
    }

    package init(user: String, before: String, after: String, change: String) {
        self.user = user
        self.before = before
        self.after = after
        self.change = change
    }
}

package enum Crontab {
    /// The user's crontab ("" when there is none), read by `run` (here, or on another host).
    package static func read(user: String, reading run: ProgramReader = ProcessRunner.reading) throws -> String {
        let result = try run(["crontab", "-l", "-u", user], 30)
        if result.succeeded { return result.outputText }
        if result.errorText.contains("no crontab") { return "" }
        throw ProcessFailure(argv: ["crontab", "-l"], result: result, problem: "failed")
    }

    package static func write(user: String, _ content: String) throws {
        let argv = content.isEmpty ? ["crontab", "-r", "-u", user] : ["crontab", "-u", user, "-"]
        let result = try ProcessRunner.run(argv, input: Array(content.utf8), timeout: 30)
        guard result.succeeded || (content.isEmpty && result.errorText.contains("no crontab")) else {
            throw ProcessFailure(argv: argv, result: result, problem: "failed")
        }
    }

}

/// Puts a user's old crontab back if nobody changed it since the run edited it.
package struct RestoreCrontabUndo: UndoAction {
    package static let op = "cron.restore"
    package let user: String
    /// The crontab before the run.
    package let content: String
    /// The crontab the run left.
    package let expected: String

    package var description: String { "put the crontab of \(user) back" }

    package func run(in world: World) throws {
        guard try Crontab.read(user: user) == expected else {
            throw UndoError("the crontab of \(user) changed since this run edited it; left as it is")
        }
        try Crontab.write(user: user, content)
    }
}

extension RestoreCrontabUndo {
    package init(args: JSON) throws {
        user = try args.undoString("user", of: Self.op)
        content = args["content"]?.stringValue ?? ""
        expected = args["expected"]?.stringValue ?? ""
    }

    package var args: [(String, JSON)] { [("user", .string(user)), ("content", .string(content)), ("expected", .string(expected))] }
}
