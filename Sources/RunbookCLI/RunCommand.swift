// `runbook run NAME [--ARG VALUE | --FLAG]... [--dry-run] [--json] [--yes] [--color WHEN] [-q | -v]`

import ArgumentParser
import RunbookConfig
import RunbookEngine
import RunbookRun
import RunbookSupport

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a runbook (or plan it with --dry-run).",
        discussion: "Runbook arguments follow the name as --name value (see `runbook describe NAME`).")

    @OptionGroup var options: EngineOptions
    @OptionGroup var console: ConsoleFlags
    @Flag(name: .customLong("dry-run"), help: "Plan only: show every change, make none.") var dryRun = false
    @Flag(name: .long, help: "One JSON object per line for every event; nothing else on stdout.") var json = false
    @Flag(name: .long, help: "Apply without asking (needed off a terminal, and with --json, unless --plan-file).") var yes = false
    @Option(name: .customLong("save-plan"), help: ArgumentHelp("With --dry-run: save the plan for review to this file.", valueName: "FILE")) var savePlan: String?
    @Option(name: .customLong("plan-file"), help: ArgumentHelp("Run only while every effect matches this reviewed plan.", valueName: "FILE")) var planFile: String?
    @Flag(name: .long, help: "fsync the journal before every effect (power-loss safety, slower).") var durable = false
    @Option(name: .customLong("lock-timeout"), help: "Seconds to wait for a lock held by another run.") var lockTimeout: Double = 0
    @Option(name: .customLong("on"), help: ArgumentHelp("Run it on this [hosts.NAME] of the configuration, over ssh, streaming its output.",
                                                        valueName: "HOST")) var on: String?
    @Flag(name: .customLong("args-stdin"), help: .hidden) var argumentsOnStdin = false
    @Argument(help: "Runbook name (or path to a .lua file).") var name: String
    @Argument(parsing: .allUnrecognized, help: "Runbook arguments: --name value ...") var arguments: [String] = []

    func run() throws {
        if let on { return try runOnHost(on) }
        var arguments = self.arguments
        if argumentsOnStdin {
            // `--on` on another host sent the runbook's arguments here, off every command line.
            guard let sent = try? RunArguments(json: JSON.parse(utf8: Posix.readAll(0, path: "stdin"))) else {
                throw exitWith(RunbookError.usage("--args-stdin: stdin is not the arguments `--on` sends"), json: json)
            }
            arguments += sent.words
            sent.exportSecrets()
        }
        try RunCommand.execute(options.overrides(durable: durable), name: name, words: arguments, dryRun: dryRun,
                               json: json, yes: yes, lockTimeout: lockTimeout, savePlan: savePlan, planFile: planFile,
                               console: console.console)
    }

    /// The command's work, from plain values: also reached without ArgumentParser by
    /// `QuickCommandLine` (start-up time, see docs/performance.md).
    static func execute(_ overrides: EngineOverrides, name: String, words: [String], dryRun: Bool, json: Bool, yes: Bool,
                        lockTimeout: Double, savePlan: String? = nil, planFile: String? = nil,
                        console: ConsoleOptions = ConsoleOptions()) throws
    {
        let engine: Engine
        do { engine = try EngineOptions.engine(overrides) } catch { throw exitWith(error, json: json) }
        var runOptions = RunOptions()
        runOptions.dryRun = dryRun
        runOptions.output = json ? .json : .human
        runOptions.lockTimeout = max(0, lockTimeout)
        runOptions.savePlan = savePlan
        runOptions.planFile = planFile
        runOptions.console = console
        switch Confirmation.decide(dryRun: dryRun, json: json, yes: yes, planFile: planFile, savePlan: savePlan) {
        case .proceed:
            break
        case .refuse(let reason):
            // A mistake in the command line is worth more than the missing consent.
            do { try engine.checkInvocation(name, words: words) } catch { throw exitWith(error, json: json) }
            throw exitWith(RunbookError.usage(reason), json: json)
        case .ask(let descriptor):
            switch Confirmation.ask(engine: engine, name: name, words: words, options: runOptions, on: descriptor) {
            case .success(let plan): runOptions.shownPlan = plan
            case .failure(let status): throw status
            }
        }
        let result = engine.run(name, words: words, options: runOptions)
        if result.status != .done { throw ExitCode(result.status.rawValue) }
    }
}

extension RunCommand {
    /// `--on HOST`: the same run made by runbook on that host (OnHostInvocation.swift).
    func runOnHost(_ host: String) throws {
        guard savePlan == nil, planFile == nil else {
            throw exitWith(RunbookError.usage("--on \(host) does not take --save-plan or --plan-file: the plan is made and kept on \(host)"), json: json)
        }
        guard dryRun || yes else {
            throw exitWith(RunbookError.usage("--on \(host) needs --yes or --dry-run: the confirmation cannot be asked across hosts"), json: json)
        }
        let config: EngineConfig
        do { config = try EngineConfig.resolve(options.overrides()) } catch { throw exitWith(error, json: json) }
        var words = ["run", name]
        if dryRun { words.append("--dry-run") }
        if yes { words.append("--yes") }
        if json { words.append("--json") }
        if durable { words.append("--durable") }
        if lockTimeout > 0 { words += ["--lock-timeout", String(lockTimeout)] }
        words += console.forwarded
        let status: Int32
        do {
            status = try OnHostInvocation.execute(host: host, config: config, words: words, arguments: arguments, json: json)
        } catch { throw exitWith(error, json: json) }
        if status != 0 { throw ExitCode(status) }
    }
}
