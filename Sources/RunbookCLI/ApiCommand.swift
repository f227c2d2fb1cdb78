// `runbook api`: the Lua API the engine registers — a list, docs/api.md (--markdown) or the
// Lua Language Server definition file editors read (--luals).

import ArgumentParser
import RunbookEngine
import RunbookSupport

struct ApiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Print the Lua API runbooks can call: a list, Markdown (docs/api.md) or Lua Language Server definitions.")

    // Accepted like every subcommand's; the API does not depend on them.
    @OptionGroup var options: EngineOptions

    @Flag(name: .long, help: "Lua Language Server definitions (---@meta), for editor completion and type checks.")
    var luals = false

    @Flag(name: .long, help: "The Markdown reference (docs/api.md is this output).")
    var markdown = false

    func validate() throws {
        if luals && markdown { throw ValidationError("give --luals or --markdown, not both") }
    }

    func run() throws {
        let reference = try APIReference.registered()
        if luals {
            writeOut(reference.luals())
        } else if markdown {
            writeOut(reference.markdown())
        } else {
            let width = reference.functions.map { $0.signature.count }.max() ?? 0
            for function in reference.functions {
                let returns = function.returns.isEmpty ? "" : " -> " + function.returns.map(\.type).joined(separator: ", ")
                let head = function.signature + returns
                printLine(head + String(repeating: " ", count: max(1, width + 24 - head.count)) + function.kind.rawValue)
            }
        }
    }
}

/// Writes `text` to stdout as it is.
func writeOut(_ text: String) {
    _ = try? Posix.writeAll(1, Array(text.utf8), path: "stdout")
}
