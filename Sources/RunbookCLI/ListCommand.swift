// `runbook list`: every runbook, one line each.

import ArgumentParser
import RunbookEngine
import RunbookSupport

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every runbook, one line each.")

    @OptionGroup var options: EngineOptions
    @Flag(name: .long, help: "One JSON object per runbook.") var json = false

    func run() throws {
        let engine: Engine
        do { engine = try options.engine() } catch { throw exitWith(error) }
        let names = engine.catalog.allNames()
        var rows: [(String, String)] = []
        for name in names {
            do {
                let declaration = try engine.declaration(name)
                rows.append((name, declaration.summary))
                if json {
                    printJSONLine(JSON.object([("name", .string(name)), ("summary", .string(declaration.summary)),
                                          ("file", .string(declaration.file))]).serialized)
                }
            } catch {
                rows.append((name, "(cannot load: \(error))"))
                if json { printJSONLine(JSON.object([("name", .string(name)), ("error", .string(String(describing: error)))]).serialized) }
            }
        }
        guard !json else { return }
        if rows.isEmpty { printLine("no runbooks found in: " + engine.config.runbookDirs.joined(separator: ", ")) }
        let width = rows.map(\.0.count).max() ?? 0
        for (name, summary) in rows { printLine(name + String(repeating: " ", count: width - name.count + 2) + summary) }
    }
}
