// The command definitions as data: every subcommand with its options and arguments, read
// from ArgumentParser's own description of RunbookCommand. The man page and the shell
// completions are generated from it, so a new subcommand or option shows up in both
// without another list to keep in step.

import ArgumentParser
import RunbookEngine
import RunbookSupport

struct CommandTree {
    struct Option {
        var names: [String]        // "--dry-run", "-h"
        var takesValue: Bool
        var valueName: String
        var abstract: String
        var repeating: Bool
    }

    struct Positional {
        var valueName: String
        var abstract: String
        var optional: Bool
    }

    var name: String
    var abstract: String
    var discussion: String
    var options: [Option]
    var positionals: [Positional]
    var subcommands: [CommandTree]

    /// The whole tree, from `runbook`.
    static func root() -> CommandTree {
        let dump = (try? JSON.parse(RunbookCommand._dumpHelp())) ?? .null
        return CommandTree(dump["command"] ?? .null)
    }

    init(_ json: JSON) {
        name = json["commandName"]?.stringValue ?? ""
        abstract = json["abstract"]?.stringValue ?? ""
        discussion = json["discussion"]?.stringValue ?? ""
        var options: [Option] = []
        var positionals: [Positional] = []
        for argument in json["arguments"]?.arrayValue ?? [] where argument["shouldDisplay"]?.boolValue != false {
            let abstract = argument["abstract"]?.stringValue ?? ""
            let valueName = argument["valueName"]?.stringValue ?? ""
            switch argument["kind"]?.stringValue {
            case "positional":
                positionals.append(Positional(valueName: valueName, abstract: abstract,
                                              optional: argument["isOptional"]?.boolValue ?? false))
            case let kind:
                let names = (argument["names"]?.arrayValue ?? []).compactMap { name -> String? in
                    guard let text = name["name"]?.stringValue else { return nil }
                    return (name["kind"]?.stringValue == "short" ? "-" : "--") + text
                }
                options.append(Option(names: names, takesValue: kind == "option", valueName: valueName, abstract: abstract,
                                      repeating: argument["isRepeating"]?.boolValue ?? false))
            }
        }
        self.options = options
        self.positionals = positionals
        subcommands = (json["subcommands"]?.arrayValue ?? []).map(CommandTree.init).filter { $0.name != "help" }
    }

    func subcommand(_ name: String) -> CommandTree? { subcommands.first { $0.name == name } }

    /// Long option names, the ones completion offers.
    var longOptions: [String] { options.flatMap(\.names).filter { $0.hasPrefix("--") } }

    func option(named name: String) -> Option? { options.first { $0.names.contains(name) } }
}
