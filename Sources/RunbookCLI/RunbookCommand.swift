// The `runbook` command line: the root command and its subcommands.

import ArgumentParser
import RunbookEngine
import RunbookSupport

public struct RunbookCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "Run named operational runbooks (Lua) with typed arguments, dry-run and undo.",
        discussion: """
            Exit codes: 0 done, 1 the runbook failed (after its failure path ran), 2 bad invocation \
            or arguments (nothing touched), 3 a lock is held by another run, 130 interrupted.
            """,
        version: RunbookVersion.current,
        subcommands: [ListCommand.self, DescribeCommand.self, RunCommand.self, CheckCommand.self,
                      HistoryCommand.self, LogCommand.self, UndoCommand.self, QueueCommand.self,
                      ApiCommand.self, NewCommand.self, ConfigCommand.self,
                      CompletionCommand.self, ManCommand.self]
    )

    public init() {}
}

extension RunbookCommand {
    /// Options that may come before the subcommand (`runbook --state-dir D history`).
    static let engineOptionsWithValue: Set<String> = ["--config", "--runbooks", "--state-dir", "--root"]

    /// Moves engine options given before the subcommand to after it.
    static func normalize(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            let name = String(word.split(separator: "=", maxSplits: 1).first ?? "")
            guard engineOptionsWithValue.contains(name) else { break }
            leading.append(word)
            if !word.contains("="), index + 1 < arguments.count {
                leading.append(arguments[index + 1])
                index += 1
            }
            index += 1
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        // `queue` and `config` have subcommands of their own: the options go after `queue work`.
        let command = ["queue", "config"].contains(arguments[index]) && index + 1 < arguments.count ? 2 : 1
        return Array(arguments[index..<(index + command)]) + leading + Array(arguments[(index + command)...])
    }

    /// The entry point: parse, run, and map every failure to the documented exit codes
    /// (a bad invocation is 2, not the parser's default 64).
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let words = normalize(arguments)
        do {
            // Plain `run`/`undo` invocations skip ArgumentParser's start-up cost.
            if let quick = QuickCommandLine.parse(words) {
                try quick.execute()
            } else {
                try CommandHints.checkSubcommand(words)
                var command = try parseAsRoot(words)
                try command.run()
            }
            Posix.terminate(0)
        } catch {
            let code = exitCode(for: error)
            if code.rawValue == 0 || code.rawValue == ExitStatus.failed.rawValue || code.rawValue == ExitStatus.locked.rawValue
                || code.rawValue == ExitStatus.interrupted.rawValue || code.rawValue == ExitStatus.usage.rawValue
            {
                if code.rawValue == 0 { printLine(fullMessage(for: error)) }
                Posix.terminate(code.rawValue)
            }
            let text = message(for: error)
            let hint = text.contains("`runbook") ? "" : CommandHints.helpHint(words)
            printError("runbook: " + text + hint)
            Posix.terminate(ExitStatus.usage.rawValue)
        }
    }
}
