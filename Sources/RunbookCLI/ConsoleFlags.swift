// `--color`, `-q/--quiet` and `-v/--verbose` of `run` and `undo`: how the console looks.

import ArgumentParser
import RunbookEngine
import RunbookRun

struct ConsoleFlags: ParsableArguments {
    @Option(name: .customLong("color"),
            help: ArgumentHelp("auto: colour on a terminal unless NO_COLOR is set or TERM=dumb; always; never.", valueName: "WHEN"))
    var color: String = "auto"
    @Flag(name: [.customShort("q"), .long], help: "Print only errors and the final line.") var quiet = false
    @Flag(name: [.customShort("v"), .long], help: "Also print log.debug messages and each effect's kind.") var verbose = false

    func validate() throws {
        guard ColourChoice(rawValue: color) != nil else {
            throw ValidationError("--color must be auto, always or never, got '\(color)'")
        }
        if quiet && verbose { throw ValidationError("-q/--quiet and -v/--verbose do not go together: choose one") }
    }

    /// The same choices, for a runbook started on another host (`--on`).
    var forwarded: [String] {
        (color == "auto" ? [] : ["--color", color]) + (quiet ? ["--quiet"] : []) + (verbose ? ["--verbose"] : [])
    }

    var console: ConsoleOptions {
        ConsoleOptions(colour: ColourChoice(rawValue: color) ?? .auto, verbosity: quiet ? .quiet : verbose ? .verbose : .normal)
    }
}
