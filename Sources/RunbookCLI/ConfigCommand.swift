// `runbook config parse FILE`: the configuration reader's view of a TOML file, as the TOML
// test suites' tagged JSON — so the reader's conformance can be checked by any TOML 1.0
// suite (a decoder reads TOML on stdin when FILE is `-` and prints the tagged document).

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookSupport

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Read configuration files as runbook reads them.",
        subcommands: [Parse.self])

    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "parse",
            abstract: "Print a TOML file as tagged JSON ({\"type\": \"integer\", \"value\": \"1\"}); invalid TOML: one line, exit 1.",
            discussion: "FILE `-` reads standard input (the decoder interface of the TOML test suites).")

        // Accepted (and unused) so `runbook --config C config parse F` works like every other subcommand.
        @OptionGroup var options: EngineOptions
        @Argument(help: "The TOML file, or - for standard input.") var file: String

        func run() throws {
            let bytes: [UInt8]
            do {
                bytes = file == "-" ? try Posix.readAll(0, path: "stdin") : try Posix.readFile(file)
            } catch {
                printError("runbook: cannot read \(file): \(error)")
                throw ExitCode(2)
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                printError("runbook: \(file == "-" ? "stdin" : file): the file is not valid UTF-8")
                throw ExitCode(1)
            }
            do {
                printLine(try TOMLReader.parseTagged(text, file: file == "-" ? "stdin" : file).serialized)
            } catch {
                printError("runbook: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
