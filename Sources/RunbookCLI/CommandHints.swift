// Errors that teach: a mistyped subcommand names the close ones, and every other command
// line ArgumentParser refuses points to the help of the subcommand in question.

import ArgumentParser
import RunbookConfig
import RunbookEngine

enum CommandHints {
    static var subcommandNames: [String] {
        RunbookCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" }.filter { !$0.isEmpty }
    }

    /// Refuses a first word that is no subcommand (after the engine options), naming the
    /// close ones; ArgumentParser would only say "Unexpected argument". (A ValidationError:
    /// runMain prints it and exits 2.)
    static func checkSubcommand(_ words: [String]) throws {
        guard let first = words.first, !first.hasPrefix("-"), first != "help" else { return }
        let names = subcommandNames
        guard !names.contains(first) else { return }
        let close = names.filter { ArgumentBinder.editDistance(Array($0), Array(first)) <= 2 }
        // `runbook demo` for `runbook run demo`.
        let isRunbook = (try? EngineConfig.resolve(EngineOverrides())).map {
            RunbookCatalog(directories: $0.runbookDirs).allNames().contains(first)
        } ?? false
        throw ValidationError("'\(first)' is not a runbook subcommand"
                                 + (close.isEmpty ? "" : " (did you mean \(close.joined(separator: ", "))?)")
                                 + (isRunbook ? " (to run the runbook: runbook run \(first))" : "")
                                 + "; the subcommands: \(names.joined(separator: ", ")) (see `runbook --help`)")
    }

    /// Where to read on after ArgumentParser refused `words`.
    static func helpHint(_ words: [String]) -> String {
        if let first = words.first, subcommandNames.contains(first) { return " (see `runbook \(first) --help`)" }
        return " (see `runbook --help`)"
    }
}
