// Options every subcommand accepts, before or after the runbook name.

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookRun
import RunbookSupport

struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (TOML). Also RUNBOOK_CONFIG.")
    var config: String?

    @Option(name: .long, help: "A directory of runbooks, searched first (repeatable).")
    var runbooks: [String] = []

    @Option(name: .customLong("state-dir"), help: "Journals, logs, history and locks. Also RUNBOOK_STATE_DIR.")
    var stateDir: String?

    @Option(name: .long, help: "Confine every filesystem path of the run under this directory.")
    var root: String?

    func engine(durable: Bool = false) throws -> Engine {
        try EngineOptions.engine(overrides(durable: durable))
    }

    func overrides(durable: Bool = false) -> EngineOverrides {
        var overrides = EngineOverrides()
        overrides.configPath = config
        overrides.runbookDirs = runbooks
        overrides.stateDir = stateDir
        overrides.root = root
        overrides.durable = durable
        return overrides
    }

    static func engine(_ overrides: EngineOverrides) throws -> Engine {
        Engine(config: try EngineConfig.resolve(overrides))
    }
}

/// Prints one line to stderr and exits with the error's status (2 for bad invocations).
/// With `json` (run/undo --json) the line is the one `run_finished` event a program
/// reading the stream waits for, on stdout, and stderr stays empty.
func exitWith(_ error: any Error, json: Bool = false) -> ExitCode {
    let status = (error as? RunbookError)?.exitStatus ?? .failed
    if json, status == .usage {
        printJSONLine(RunOutput.invalidInvocationEvent(String(describing: error)))
        return ExitCode(status.rawValue)
    }
    printError("runbook: \(error)")
    return ExitCode(status.rawValue)
}

/// One line for a person on stdout. Whatever it quotes from the world (file names, run
/// records, journal text) is escaped for the terminal here, the last point before it.
func printLine(_ text: String) {
    let line = TerminalText.escape(text, keepingLines: true) + "\n"
    _ = try? Posix.writeAll(1, Array(line.utf8), path: "stdout")
}

/// One JSON line on stdout: exact JSON, with the characters JSON leaves raw that a
/// terminal acts on (C1 controls, bidi overrides) as \u escapes.
func printJSONLine(_ line: String) {
    _ = try? Posix.writeAll(1, Array((TerminalText.jsonLine(line) + "\n").utf8), path: "stdout")
}
