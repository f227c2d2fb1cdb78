// `runbook describe NAME`: a runbook's parameters, types, defaults and docs.

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookSupport

struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a runbook's parameters and docs.")

    @OptionGroup var options: EngineOptions
    @Argument(help: "Runbook name (or path to a .lua file).") var name: String
    @Flag(name: .long, help: "Print the description as JSON.") var json = false

    func run() throws {
        let declaration: RunbookDeclaration
        do { declaration = try options.engine().declaration(name) } catch { throw exitWith(error) }
        if json {
            printJSONLine(JSON.object([
                ("name", .string(declaration.name)), ("summary", .string(declaration.summary)), ("doc", .string(declaration.doc)),
                ("file", .string(declaration.file)), ("on_failure", .string(declaration.onFailure.rawValue)),
                ("runs_on", declaration.runsOn.isEmpty ? .null : .string(declaration.runsOn)),
                ("params", .array(declaration.parameters.map { spec in
                    var fields: [(String, JSON)] = [("name", .string(spec.name)), ("flag", .string(spec.flag)),
                                                    ("type", .string(spec.type.rawValue)), ("required", .bool(spec.required)),
                                                    ("secret", .bool(spec.secret)), ("list", .bool(spec.list)), ("doc", .string(spec.doc))]
                    if let value = spec.defaultValue { fields.append(("default", value.json)) }
                    if !spec.values.isEmpty { fields.append(("values", .array(spec.values.map { .string($0) }))) }
                    if let min = spec.min { fields.append(("min", .double(min))) }
                    if let max = spec.max { fields.append(("max", .double(max))) }
                    return .object(fields)
                })),
            ]).serialized)
            return
        }
        printLine("\(declaration.name): \(declaration.summary)")
        if !declaration.runsOn.isEmpty { printLine("Runs on: \(declaration.runsOn)") }
        if !declaration.doc.isEmpty { printLine("\n" + declaration.doc.trimmingLines()) }
        printLine("\nUsage: runbook run \(declaration.name)" + declaration.parameters.map { spec in
            let part = spec.secret ? "\(spec.flag)-file FILE" : spec.type == .bool ? spec.flag : "\(spec.flag) \(spec.name.uppercased())"
            return spec.required ? " " + part : " [" + part + "]"
        }.joined() + " [--dry-run]")
        if !declaration.parameters.isEmpty {
            printLine("\nArguments:")
            for spec in declaration.parameters {
                var notes: [String] = [spec.typeDescription]
                notes.append(spec.required ? "required" : (spec.defaultValue.map { "default \($0.display)" } ?? "optional"))
                if spec.secret { notes.append("secret: from RUNBOOK_ARG_\(spec.name.uppercased()) or \(spec.flag)-file FILE") }
                printLine("  \(spec.flag)  (\(notes.joined(separator: "; ")))")
                if !spec.doc.isEmpty { printLine("      \(spec.doc)") }
            }
        }
        printLine("\nOn failure: \(declaration.onFailure == .undo ? "applied effects are undone automatically" : "applied effects are kept (undo with `runbook undo RUN_ID`)")")
        printLine("File: \(declaration.file)")
    }
}

extension String {
    /// Removes the common indentation of a [[...]] doc string.
    func trimmingLines() -> String {
        let lines = split(separator: "\n", omittingEmptySubsequences: false)
        let indents = lines.filter { !$0.allSatisfy { $0 == " " } }.map { $0.prefix { $0 == " " }.count }
        let common = indents.min() ?? 0
        return lines.map { String($0.dropFirst(min(common, $0.count))) }.joined(separator: "\n")
            .trimmingCharacters(in: "\n")
    }

    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}
