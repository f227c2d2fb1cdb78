// `runbook completion bash|zsh|fish`: a completion script for the shell. The scripts are
// thin: at each TAB they ask `runbook completion --words -- WORDS...` for the candidates,
// so runbook names (from the configured directories, --runbooks included), each
// runbook's own arguments and their enum values, run ids and statuses are always current.

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookRun
import RunbookJournal
import RunbookSupport

struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion", abstract: "Print a shell completion script (bash, zsh or fish).",
        discussion: """
            bash: add `source <(runbook completion bash)` to ~/.bashrc. zsh: `runbook completion zsh > \
            "${fpath[1]}/_runbook"` (or source it after compinit). fish: `runbook completion fish > \
            ~/.config/fish/completions/runbook.fish`.
            """)

    @OptionGroup var options: EngineOptions
    @Argument(help: "bash, zsh or fish.") var shell: String?
    @Flag(name: .customLong("words"), help: .hidden) var wordsMode = false
    @Argument(parsing: .postTerminator, help: .hidden) var words: [String] = []

    func run() throws {
        if wordsMode {
            // Engine options given to `completion` itself apply too (the words' own come after).
            for candidate in Completion.candidates(words.isEmpty ? [""] : words, defaults: options.overrides()) { printLine(candidate) }
            return
        }
        switch shell {
        case "bash": printLine(Completion.bash)
        case "zsh": printLine(Completion.zsh)
        case "fish": printLine(Completion.fish)
        default:
            let what = shell.map { "'\($0)' is not a shell runbook completes for" } ?? "completion needs a shell"
            throw exitWith(RunbookError.usage("\(what): runbook completion bash|zsh|fish"))
        }
    }
}

enum Completion {
    /// Printed instead of candidates when the word is a file name: the shell completes it.
    static let files = ":files"

    static let statuses = RunFilter.knownStatuses
    static let shells = ["bash", "zsh", "fish"]

    /// The candidates for the last of `words` (the words after `runbook`, the last one
    /// being completed), those that start with it.
    static func candidates(_ words: [String], defaults: EngineOverrides = EngineOverrides()) -> [String] {
        let current = words.last ?? ""
        let before = Array(words.dropLast())
        let tree = CommandTree.root()
        var command = tree
        var path: [String] = []
        var runbook: String?
        var positionals = 0
        var overrides = defaults
        var declaration: RunbookDeclaration?
        func loadDeclaration() -> RunbookDeclaration? {
            guard let runbook else { return nil }
            if declaration == nil { declaration = try? Engine(config: EngineConfig.resolve(overrides)).declaration(runbook) }
            return declaration
        }

        var index = 0
        while index < before.count {
            let word = before[index]
            index += 1
            if word.hasPrefix("-") {
                let name = String(word.split(separator: "=", maxSplits: 1).first ?? "")
                let takesValue = RunbookCommand.engineOptionsWithValue.contains(name) || command.option(named: name)?.takesValue == true
                if takesValue, !word.contains("="), index < before.count {
                    let value = before[index]
                    index += 1
                    switch name {
                    case "--runbooks": overrides.runbookDirs.append(value)
                    case "--config": overrides.configPath = value
                    case "--state-dir": overrides.stateDir = value
                    default: break
                    }
                }
                continue
            }
            if let sub = command.subcommand(word), positionals == 0 {
                command = sub
                path.append(word)
            } else if path == ["run"], runbook == nil {
                runbook = word
            } else {
                positionals += 1
            }
        }

        let all: [String]
        let previous = before.last ?? ""
        if previous.hasPrefix("--"), !previous.contains("="), let valueCandidates = values(for: previous, command: path,
                                                                                            declaration: loadDeclaration(),
                                                                                            overrides: overrides, tree: command)
        {
            all = valueCandidates
        } else if current.hasPrefix("-") {
            // The runbook's own arguments first: they are what the operator is looking for.
            var options: [String] = []
            if let declaration = loadDeclaration() {
                for spec in declaration.parameters {
                    if spec.secret { options.append(spec.flag + "-file"); continue }
                    options.append(spec.flag)
                    if spec.type == .bool { options.append("--no-" + spec.flag.dropFirst(2)) }
                }
            }
            options += command.longOptions.filter { !path.isEmpty ? $0 != "--version" : true }
            if path.isEmpty { options += RunbookCommand.engineOptionsWithValue.sorted() }
            all = options
        } else if !command.subcommands.isEmpty, positionals == 0 {
            all = command.subcommands.map(\.name)
        } else {
            switch path.last ?? "" {
            case "run" where runbook == nil, "describe" where positionals == 0, "check":
                all = runbookNames(overrides)
            case "log" where positionals == 0, "undo" where positionals == 0:
                all = runIDs(overrides)
            case "completion" where positionals == 0:
                all = shells
            default:
                all = []
            }
        }
        if all == [files] { return all }
        return all.filter { $0.hasPrefix(current) }
    }

    /// Candidates for the value of `option`, or nil when it takes no value.
    private static func values(for option: String, command: [String], declaration: RunbookDeclaration?,
                               overrides: EngineOverrides, tree: CommandTree) -> [String]?
    {
        if let spec = declaration?.parameters.first(where: { $0.flag == option }) {
            switch spec.type {
            case .enum: return spec.values
            case .bool: return nil  // `--force` alone is true: the next word is free.
            case .path: return [files]
            default: return []
            }
        }
        if declaration?.parameters.contains(where: { $0.flag + "-file" == option }) == true { return [files] }
        switch option {
        case "--runbooks", "--state-dir", "--root", "--config", "--save-plan", "--plan-file": return [files]
        case "--status": return statuses
        case "--color": return ColourChoice.allCases.map(\.rawValue)
        case "--runbook": return runbookNames(overrides)
        default:
            guard tree.option(named: option)?.takesValue == true else { return nil }
            return []
        }
    }

    private static func runbookNames(_ overrides: EngineOverrides) -> [String] {
        guard let config = try? EngineConfig.resolve(overrides) else { return [] }
        return RunbookCatalog(directories: config.runbookDirs).allNames().sorted()
    }

    private static func runIDs(_ overrides: EngineOverrides) -> [String] {
        guard let config = try? EngineConfig.resolve(overrides) else { return [] }
        return RunStore(directory: config.stateDir).all().prefix(30).map(\.id)
    }

    // MARK: The scripts

    static let bash = #"""
        # bash completion for runbook: source <(runbook completion bash)
        _runbook() {
            local IFS=$'\n' candidates
            candidates=($("${COMP_WORDS[0]}" completion --words -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
            if [[ "${candidates[0]}" == ":files" ]]; then
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
            else
                COMPREPLY=("${candidates[@]}")
            fi
        }
        complete -F _runbook runbook
        """#

    static let zsh = #"""
        #compdef runbook
        # zsh completion for runbook: runbook completion zsh > "${fpath[1]}/_runbook"
        _runbook() {
            local -a candidates
            candidates=("${(@f)$("${words[1]}" completion --words -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
            if [[ "${candidates[1]}" == ":files" ]]; then
                _files
            else
                compadd -- "${(@)candidates:#}"
            fi
        }
        if [[ "${funcstack[1]}" == "_runbook" ]]; then
            _runbook "$@"
        else
            compdef _runbook runbook
        fi
        """#

    static let fish = #"""
        # fish completion for runbook: runbook completion fish > ~/.config/fish/completions/runbook.fish
        function __runbook_complete
            set -l words (commandline -opc)
            set -l program $words[1]
            set -e words[1]
            set -l current (commandline -ct)
            set -l candidates ($program completion --words -- $words "$current" 2>/dev/null)
            if test "$candidates[1]" = ":files"
                __fish_complete_path "$current"
            else
                printf '%s\n' $candidates
            end
        end
        complete -c runbook -f -a '(__runbook_complete)'
        """#
}
