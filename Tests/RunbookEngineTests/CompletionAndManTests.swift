// Shell completion (bash, zsh, fish) with subcommands, runbook names from the configured
// directories and each runbook's own arguments; the man page generated from the command
// definitions. The shells run the real scripts against the real binary.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Shell completion and the man page")
struct CompletionAndManTests {
    static let subcommands = ["list", "describe", "run", "check", "history", "log", "undo", "queue", "completion", "man"]

    static let deploy = """
        return runbook { summary = "deploy a site",
          params = { hostname = { type = "hostname", required = true }, tier = { type = "enum", values = { "free", "paid" } },
                     force = { type = "bool", default = false }, token = { type = "string", secret = true },
                     email = { type = "email" } },
          run = function(args) end }
        """

    /// The candidates the binary gives for the words after `runbook` (the last one is being typed).
    func candidates(_ sandbox: Sandbox, _ words: [String]) throws -> [String] {
        let result = try sandbox.runbook(["completion", "--words", "--"] + sandbox.engineOptions + words)
        #expect(result.exitCode == 0, "\(words)\n\(result)")
        return result.stdoutLines
    }

    @Test("candidates: subcommands, runbook names, a runbook's arguments and enum values, statuses, run ids")
    func candidateWords() throws {
        let sandbox = try Sandbox(runbook: "deploy", CompletionAndManTests.deploy)
        #expect(Set(try candidates(sandbox, [""])).isSuperset(of: CompletionAndManTests.subcommands))
        #expect(try candidates(sandbox, ["hi"]) == ["history"])
        #expect(try candidates(sandbox, ["run", "deploy", "--color", ""]) == ["auto", "always", "never"])
        #expect(try candidates(sandbox, ["undo", "--"]).contains("--force"))
        let names = try candidates(sandbox, ["run", ""])
        #expect(names.contains("deploy") && names.contains("demo"), "runbooks of --runbooks and of the project\n\(names)")
        #expect(try candidates(sandbox, ["run", "dep"]) == ["deploy"])
        let flags = try candidates(sandbox, ["run", "deploy", "--"])
        for flag in ["--hostname", "--tier", "--force", "--no-force", "--email", "--token-file", "--dry-run", "--plan-file",
                     "--save-plan", "--yes", "--json"]
        {
            #expect(flags.contains(flag), "\(flag) in \(flags)")
        }
        #expect(!flags.contains("--token"), "a secret is never offered on the command line\n\(flags)")
        #expect(try candidates(sandbox, ["run", "deploy", "--hostname", "a.example.com", "--t"]) == ["--tier", "--token-file"])
        #expect(try candidates(sandbox, ["run", "deploy", "--tier", ""]) == ["free", "paid"])
        #expect(try candidates(sandbox, ["run", "deploy", "--plan-file", "pl"]) == [":files"])
        #expect(try candidates(sandbox, ["history", "--status", "und"]) == ["undone", "undoing", "undo-crashed"])
        #expect(try candidates(sandbox, ["history", "--runbook", "dep"]) == ["deploy"])
        #expect(try candidates(sandbox, ["completion", ""]) == ["bash", "zsh", "fish"])

        let run = try sandbox.runbook(["run", "demo", "--dir", sandbox.tree + "/d", "--count", "1"])
        let id = try #require(run.runID)
        #expect(try candidates(sandbox, ["log", ""]) == [id])
        #expect(try candidates(sandbox, ["undo", String(id.prefix(8))]) == [id])
    }

    /// The shell command line `runbook <engine options> WORDS`, for the completion scripts.
    func line(_ sandbox: Sandbox, _ words: String) -> String {
        "runbook " + sandbox.engineOptions.map(shellQuoted).joined(separator: " ") + " " + words
    }

    func shell(_ sandbox: Sandbox, _ program: String, _ script: String) throws -> ChildResult {
        let binary = try RunbookBinary.require()
        let child = try ChildProcess(executable: program, arguments: program.hasSuffix("zsh") ? ["-f", "-c", script] : ["-c", script],
                                     environment: sandbox.environment(["PATH": PathName.parent(binary) + ":/usr/bin:/bin"]),
                                     stdoutPath: sandbox.base + "/out/shell.stdout", stderrPath: sandbox.base + "/out/shell.stderr")
        return child.wait(timeout: 60)
    }

    @Test("bash, zsh and fish complete through the generated scripts")
    func shellScripts() throws {
        let sandbox = try Sandbox(runbook: "deploy", CompletionAndManTests.deploy)
        let options = sandbox.engineOptions.map(shellQuoted).joined(separator: " ")

        // bash: the function the script registers, called as bash calls it on TAB.
        let bash = try shell(sandbox, "/bin/bash", """
            source <(runbook completion bash)
            complete -p runbook
            COMP_WORDS=(runbook \(options) run deploy --ti); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _runbook
            printf 'A:%s\\n' "${COMPREPLY[@]}"
            COMP_WORDS=(runbook \(options) run deploy --tier ''); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _runbook
            printf 'B:%s\\n' "${COMPREPLY[@]}"
            COMP_WORDS=(runbook hist); COMP_CWORD=1; _runbook
            printf 'C:%s\\n' "${COMPREPLY[@]}"
            """)
        #expect(bash.exitCode == 0, "\(bash)")
        #expect(bash.stdout.contains("complete -F _runbook runbook"), "\(bash)")
        #expect(bash.stdoutLines.filter { $0.hasPrefix("A:") } == ["A:--tier"], "\(bash)")
        #expect(bash.stdoutLines.filter { $0.hasPrefix("B:") } == ["B:free", "B:paid"], "\(bash)")
        #expect(bash.stdoutLines.filter { $0.hasPrefix("C:") } == ["C:history"], "\(bash)")

        // fish: its own completion engine, asked for a command line.
        let fish = try shell(sandbox, "/usr/bin/fish", """
            source (runbook completion fish | psub)
            complete -C \(shellQuoted(line(sandbox, "run dep")))
            complete -C \(shellQuoted(line(sandbox, "run deploy --hos")))
            complete -C \(shellQuoted(line(sandbox, "run deploy --tier ")))
            """)
        #expect(fish.exitCode == 0, "\(fish)")
        #expect(fish.stdoutLines == ["deploy", "--hostname", "free", "paid"], "\(fish)")

        // zsh: the script's function with zsh's completion builtins standing in (compadd
        // prints what it is given), since compsys needs an interactive terminal.
        let zsh = try shell(sandbox, "/usr/bin/zsh", """
            compdef() { print "compdef $*" }
            source <(runbook completion zsh)
            compadd() { print -l -- "${@:2}" }
            _files() { print FILES }
            words=(runbook \(options) run deploy --tier ''); CURRENT=${#words}; _runbook
            words=(runbook \(options) run deploy --plan-file x); CURRENT=${#words}; _runbook
            """)
        #expect(zsh.exitCode == 0, "\(zsh)")
        #expect(zsh.stdoutLines == ["compdef _runbook runbook", "free", "paid", "FILES"], "\(zsh)")

        let unknown = try sandbox.runbook(["completion", "tcsh"])
        #expect(unknown.exitCode == 2 && unknown.stderr.contains("runbook completion bash|zsh|fish"), "\(unknown)")
    }

    @Test("the man page is generated from the command definitions and names every subcommand and option")
    func manPage() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.runbook(["man"])
        #expect(result.exitCode == 0, "\(result)")
        let page = result.stdout
        #expect(page.hasPrefix(".TH RUNBOOK 1"))
        for name in CompletionAndManTests.subcommands {
            #expect(page.contains(".SS \"runbook \(name)"), "the man page has no section for \(name)")
        }
        for option in ["--dry-run", "--save-plan", "--plan-file", "--lock-timeout", "--failures", "--follow", "--since", "--arg",
                       "--state-dir", "--runbooks"]
        {
            #expect(page.contains("\\fB" + option.replacingAll("-", with: "\\-") + "\\fR"), "the man page lacks \(option)")
        }
        #expect(page.contains(".SS \"runbook queue work"), "nested subcommands too")
        // man(1) renders it without complaint.
        let rendered = try shell(sandbox, "/bin/sh", "runbook man | MANWIDTH=80 man -l - 2>&1")
        #expect(rendered.exitCode == 0 && rendered.stdout.contains("runbook run NAME") && !rendered.stdout.contains("man: "),
                "\(rendered)")
    }
}
