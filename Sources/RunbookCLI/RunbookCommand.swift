// The `runbook` command line: the root command and its subcommands.

import ArgumentParser
import RunbookEngine

public struct RunbookCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "runbook",
        abstract: "Run named operational runbooks (Lua) with typed arguments, dry-run and undo.",
        version: RunbookVersion.current
    )

    public init() {}
}
