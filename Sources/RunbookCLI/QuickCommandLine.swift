// The common `runbook run ...` and `runbook undo ...` invocations, read without
// ArgumentParser. ArgumentParser builds its command tree by reflection at every start:
// ~2 ms of a ~8 ms `runbook run noop` (W0 in docs/performance.md). This reader takes only
// invocations whose meaning is beyond doubt — known flags, `--option value` pairs,
// `--name` runbook arguments — and gives back nil for anything else (help, versions,
// `--option=value`, single-dash words, `--`, repeated options, bad values, ...), which
// then goes through ArgumentParser as before, with its exact messages and exit codes.
// QuickCommandLineTests checks it against ArgumentParser word for word.

import RunbookConfig
import RunbookEngine

/// A `run` or `undo` invocation read from the command line.
struct QuickInvocation: Equatable {
    enum Command: Equatable {
        case run(name: String, words: [String], dryRun: Bool, json: Bool, yes: Bool, durable: Bool, lockTimeout: Double,
                 savePlan: String? = nil, planFile: String? = nil)
        case undo(runID: String, dryRun: Bool, json: Bool)
    }

    var command: Command
    var configPath: String?
    var runbookDirs: [String]
    var stateDir: String?
    var root: String?

    func execute() throws {
        var overrides = EngineOverrides()
        overrides.configPath = configPath
        overrides.runbookDirs = runbookDirs
        overrides.stateDir = stateDir
        overrides.root = root
        switch command {
        case .run(let name, let words, let dryRun, let json, let yes, let durable, let lockTimeout, let savePlan, let planFile):
            overrides.durable = durable
            try RunCommand.execute(overrides, name: name, words: words, dryRun: dryRun, json: json, yes: yes,
                                   lockTimeout: lockTimeout, savePlan: savePlan, planFile: planFile)
        case .undo(let runID, let dryRun, let json):
            try UndoCommand.execute(overrides, runID: runID, dryRun: dryRun, json: json)
        }
    }
}

enum QuickCommandLine {
    /// Words that ask ArgumentParser for something of its own (help, version, completion).
    static let reserved: Set<String> = ["help", "--help", "-help", "--version", "--generate-completion-script",
                                        "--experimental-dump-help"]
    /// The console's options (ConsoleFlags) and undo's --force: rarer, and ArgumentParser's
    /// to read (after a runbook's name they would otherwise pass for its arguments).
    static let leftToArgumentParser: Set<String> = ["--color", "--quiet", "--verbose", "--force", "--on", "--args-stdin", "--abandon"]
    /// The engine options (EngineOptions) every command takes, with a value.
    static let engineOptions: Set<String> = ["--config", "--runbooks", "--state-dir", "--root"]
    /// `run`'s own options with a value.
    static let runOptions: Set<String> = ["--lock-timeout", "--save-plan", "--plan-file"]

    /// The invocation, when `arguments` (already normalized, subcommand first) is a plain
    /// `run` or `undo`; nil sends it through ArgumentParser.
    static func parse(_ arguments: [String]) -> QuickInvocation? {
        guard let subcommand = arguments.first, subcommand == "run" || subcommand == "undo" else { return nil }
        let isRun = subcommand == "run"
        let flags: Set<String> = isRun ? ["--dry-run", "--json", "--yes", "--durable"] : ["--dry-run", "--json"]
        var seenFlags = Set<String>()
        var values: [String: String] = [:]
        var runbookDirs: [String] = []
        var positional: String?
        var words: [String] = []

        var index = 1
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if reserved.contains(word) || leftToArgumentParser.contains(word) { return nil }
            if flags.contains(word) {
                // A repeated flag is ArgumentParser's to judge.
                guard seenFlags.insert(word).inserted else { return nil }
                continue
            }
            if engineOptions.contains(word) || (isRun && runOptions.contains(word)) {
                guard index < arguments.count else { return nil }
                let value = arguments[index]
                index += 1
                // A value that looks like an option, or one given twice: ArgumentParser decides.
                guard !value.hasPrefix("-"), !reserved.contains(value) else { return nil }
                if word == "--runbooks" {
                    runbookDirs.append(value)
                } else {
                    guard values.updateValue(value, forKey: word) == nil else { return nil }
                }
                continue
            }
            if word.hasPrefix("-") {
                // `--name` for the runbook, after the runbook's name (ArgumentParser refuses
                // one before it); never `-x`, `--`, or `--name=value`.
                guard isRun, positional != nil, word.hasPrefix("--"), word.utf8.count > 2, !word.contains("=") else {
                    return nil
                }
                words.append(word)
                continue
            }
            if positional == nil {
                positional = word
            } else {
                guard isRun else { return nil }
                words.append(word)
            }
        }
        guard let positional else { return nil }

        let command: QuickInvocation.Command
        if isRun {
            var lockTimeout = 0.0
            if let text = values["--lock-timeout"] {
                guard let value = Double(text) else { return nil }
                lockTimeout = value
            }
            command = .run(name: positional, words: words, dryRun: seenFlags.contains("--dry-run"),
                           json: seenFlags.contains("--json"), yes: seenFlags.contains("--yes"),
                           durable: seenFlags.contains("--durable"), lockTimeout: lockTimeout,
                           savePlan: values["--save-plan"], planFile: values["--plan-file"])
        } else {
            command = .undo(runID: positional, dryRun: seenFlags.contains("--dry-run"), json: seenFlags.contains("--json"))
        }
        return QuickInvocation(command: command, configPath: values["--config"], runbookDirs: runbookDirs,
                               stateDir: values["--state-dir"], root: values["--root"])
    }
}
