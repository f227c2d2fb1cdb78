// `runbook man`: the manual page (roff), generated from the command definitions
// (CommandTree), so every subcommand and option in it is the one the parser knows.
// Install: runbook man > /usr/local/share/man/man1/runbook.1   View: runbook man | man -l -

import ArgumentParser
import RunbookEngine
import RunbookSupport

struct ManCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "man", abstract: "Print the manual page (roff), generated from the command definitions.",
        discussion: "View it with `runbook man | man -l -`; install it with `runbook man > /usr/local/share/man/man1/runbook.1`.")

    // Accepted (and unused) so `runbook --state-dir D man` works like every other subcommand.
    @OptionGroup var options: EngineOptions

    func run() throws { printLine(ManPage.render(CommandTree.root())) }
}

enum ManPage {
    static func render(_ tree: CommandTree) -> String {
        var out: [String] = []
        out.append(".TH RUNBOOK 1 \"\" \"runbook \(RunbookVersion.current)\" \"User Commands\"")
        out.append(".SH NAME")
        out.append("runbook \\- " + escape(tree.abstract))
        out.append(".SH SYNOPSIS")
        out.append(".B runbook")
        out.append("[\\fIENGINE OPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fIARGUMENTS\\fR]")
        out.append(".SH DESCRIPTION")
        out.append(escape("runbook runs named operational runbooks: Lua files that declare typed arguments and change the "
                          + "world through primitives that can be planned (--dry-run), journaled and undone. Engine options "
                          + "(--config, --runbooks, --state-dir, --root) may come before or after the subcommand."))
        // The engine options every subcommand takes, once (as `run` defines them).
        out.append(".SH ENGINE OPTIONS")
        for option in tree.subcommand("run")?.options ?? [] where isEngineOption(option) { describe(option, into: &out) }
        out.append(".SH COMMANDS")
        for command in tree.subcommands { section(command, prefix: "runbook", into: &out) }
        out.append(".SH EXIT STATUS")
        out.append(escape(tree.discussion))
        out.append(".SH ENVIRONMENT")
        for (name, text) in environment {
            out.append(".TP")
            out.append(".B " + escape(name))
            out.append(escape(text))
        }
        out.append(".SH FILES")
        out.append(".TP")
        out.append(".I /etc/runbook/config.toml")
        out.append("The configuration file when neither --config nor RUNBOOK_CONFIG is given.")
        out.append(".TP")
        out.append(".I /var/lib/runbook")
        out.append(escape("The state directory for root (runs, journals, backups, locks); $HOME/.local/state/runbook otherwise."))
        out.append(".SH SEE ALSO")
        out.append(escape("docs/cli.md, docs/events.md, docs/dry-run-and-undo.md and docs/runbook-format.md in the runbook "
                          + "sources; runbook describe NAME for one runbook's arguments."))
        return out.joined(separator: "\n")
    }

    static let environment: [(String, String)] = [
        ("RUNBOOK_CONFIG", "The configuration file (like --config)."),
        ("RUNBOOK_STATE_DIR", "The state directory (like --state-dir)."),
        ("RUNBOOK_HOME", "The project directory with runbooks/ and stdlib/."),
        ("RUNBOOK_ARG_NAME", "The value of runbook parameter name when it is not on the command line (secrets)."),
        ("NO_COLOR", "Set to anything but empty: no colour in the output (TERM=dumb: none either)."),
        ("SUDO_USER", "Recorded as the user of a run when set."),
    ]

    private static func section(_ command: CommandTree, prefix: String, into out: inout [String]) {
        let name = prefix + " " + command.name
        let positionals = command.positionals.map { $0.optional ? "[\($0.valueName.uppercased())]" : $0.valueName.uppercased() }
        out.append(".SS \"" + escape(([name] + positionals).joined(separator: " ")) + "\"")
        out.append(escape(command.abstract))
        if !command.discussion.isEmpty {
            out.append(".PP")
            out.append(escape(command.discussion))
        }
        for positional in command.positionals where !positional.abstract.isEmpty {
            out.append(".TP")
            out.append(".I " + escape(positional.valueName.uppercased()))
            out.append(escape(positional.abstract))
        }
        for option in command.options where !option.names.contains("--help") && !option.names.contains("--version")
            && !isEngineOption(option)
        {
            describe(option, into: &out)
        }
        for sub in command.subcommands { section(sub, prefix: name, into: &out) }
    }

    static func isEngineOption(_ option: CommandTree.Option) -> Bool {
        option.names.contains { RunbookCommand.engineOptionsWithValue.contains($0) }
    }

    private static func describe(_ option: CommandTree.Option, into out: inout [String]) {
        out.append(".TP")
        let names = option.names.map { "\\fB" + escape($0) + "\\fR" }.joined(separator: ", ")
        out.append(names + (option.takesValue ? " \\fI" + escape(option.valueName.uppercased()) + "\\fR" : ""))
        out.append(escape(option.abstract))
    }

    /// Text safe in roff: backslashes, hyphens (so they are not broken or turned into
    /// typographic dashes), and a leading dot or quote that would start a request.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\e"
            case "-": result += "\\-"
            case "\n": result += "\n"
            default: result.append(character)
            }
        }
        return result.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
        }.joined(separator: "\n")
    }
}
