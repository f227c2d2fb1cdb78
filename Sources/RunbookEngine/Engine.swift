// The engine's front door: load runbooks, run them (for real or as a dry-run), undo runs,
// list history. The CLI is a thin shell over this.

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookJournal
import RunbookModules
import RunbookRun
import RunbookSupport

public final class Engine {
    public let config: EngineConfig
    public let store: RunStore

    public init(config: EngineConfig) {
        self.config = config
        store = RunStore(directory: config.stateDir)
    }

    public var catalog: RunbookCatalog { RunbookCatalog(directories: config.runbookDirs) }

    /// A sandboxed state with every module registered, bound to `slot`.
    package func makeState(slot: SessionSlot) throws -> LuaState {
        let state = try LuaState(sandbox: LuaSandbox(modulePaths: config.stdlibDirs))
        Engine.registerModules(into: state, slot: slot)
        try state.setGlobal("settings", JsonModule.luaValue(config.settings))
        return state
    }

    /// Every Lua module, in the order docs/api.md shows them. A new module is one entry here;
    /// its docs come with its registrations (APIDoc.swift).
    package static var modules: [any LuaModule.Type] { [
        RunModule.self, HostModule.self, ParallelModule.self, FsModule.self, DbModule.self, TemplateModule.self, JsonModule.self,
        CmdModule.self, MountModule.self, NetModule.self, ServiceModule.self, RsyncModule.self, RemoteModule.self,
        MailModule.self, CronModule.self, VcsModule.self, HttpModule.self,
    ] }

    package static func registerModules(into state: LuaState, slot: SessionSlot) {
        for module in modules { module.register(into: state, slot: slot) }
    }

    /// Loads a runbook's declaration (its top level runs; effects are refused).
    public func declaration(_ nameOrPath: String) throws -> RunbookDeclaration {
        let (name, path) = try catalog.locate(nameOrPath)
        let state = try makeState(slot: SessionSlot())
        return try RunbookCatalog.loadDeclaration(name: name, path: path, into: state)
    }

    // MARK: Running

    /// Finds what is wrong with invoking runbook `nameOrPath` with `words` (an unknown
    /// runbook, a file that does not load, a bad argument, a bad root), as `run` would
    /// before it touches anything; the error is exit 2. The confirmation checks this
    /// before it refuses a run for want of consent: a typo is reported first.
    public func checkInvocation(_ nameOrPath: String, words: [String]) throws {
        _ = try load(nameOrPath, words: words, slot: SessionSlot())
        _ = try RootedPaths(root: config.root)
    }

    /// The runbook loaded into a fresh state bound to `slot`, and its arguments bound.
    func load(_ nameOrPath: String, words: [String], slot: SessionSlot) throws
        -> (LuaState, RunbookDeclaration, BoundArguments)
    {
        let (name, path) = try catalog.locate(nameOrPath)
        let state = try makeState(slot: slot)
        let declaration = try RunbookCatalog.loadDeclaration(name: name, path: path, into: state)
        do {
            return (state, declaration, try ArgumentBinder.bind(words, to: declaration))
        } catch let error as RunbookError where error.exitStatus == .usage {
            // Where to read what the runbook takes.
            throw RunbookError.usage("\(error) (see `runbook describe \(declaration.name)`)")
        }
    }

    /// The reviewed plan this run is held to (`--plan-file`), after checking it was made
    /// for this runbook and these arguments; also checks `--save-plan`. Errors are exit 2.
    func reviewedPlan(_ options: RunOptions, runbook: String, arguments: JSON) throws -> ReviewedPlan? {
        if let path = options.savePlan {
            guard options.dryRun else {
                throw RunbookError.usage("--save-plan \(path) needs --dry-run: a plan is saved by a dry-run, then run with --plan-file \(path)")
            }
            let directory = PathName.parent(path)
            guard Posix.lstatInfo(directory.isEmpty ? "." : directory)?.kind == .directory else {
                throw RunbookError.usage("--save-plan \(path): the directory \(directory) does not exist")
            }
        }
        if let shown = options.shownPlan {
            if let refusal = shown.refusal(path: "shown above", runbook: runbook, arguments: arguments, root: config.root) {
                throw RunbookError.usage(refusal)
            }
            return shown
        }
        guard let path = options.planFile else { return nil }
        let plan = try ReviewedPlan.load(path)
        if let refusal = plan.refusal(path: path, runbook: runbook, arguments: arguments, root: config.root) {
            throw RunbookError.usage(refusal)
        }
        return plan
    }

    /// `word` as a shell would need it typed.
    package static func shellWord(_ word: String) -> String {
        let plain = !word.isEmpty && word.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || "-_./=:@,+%".utf8.contains(byte)
        }
        return plain ? word : "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    func lockNames(_ results: [LuaValue]) -> [String] {
        var names: [String] = []
        for value in results {
            if let name = value.stringValue { names.append(name) }
            if let table = value.tableValue { names.append(contentsOf: table.array.compactMap(\.stringValue)) }
        }
        return names
    }

    /// Runs the hooks, last registered first; each gets the run's error (nil when it succeeded).
    func runHooks(_ hooks: [LuaRef], kind: String, error: String?, state: LuaState, output: RunOutput) {
        for hook in hooks.reversed() {
            do {
                try state.call(hook, [error.map { LuaValue.string(Array($0.utf8)) } ?? .nil])
                output.hook(kind, failed: nil)
            } catch {
                output.hook(kind, failed: String(describing: error))
            }
        }
    }

    func summarize(session: RunSession, id: String, status: RunStatus, exit: ExitStatus, failure: String?, duration: Double,
                           output: RunOutput)
    {
        let effects = session.effects
        if session.isDryRun && failure == nil {
            output.message("Plan: \(PlanSummary.counts(effects)). Nothing was changed (dry-run).", essential: true)
            return
        }
        switch status {
        case .succeeded:
            output.message(" in \(Clock.duration(duration)): \(effects.count) effect\(effects.count == 1 ? "" : "s") applied (run \(id))",
                           lead: "done", code: "32", essential: true)
        case .undone:
            output.error("run \(id) failed: \(failure ?? "")")
            output.error("  its changes were undone. Details: runbook log \(id) --failures")
        default:
            output.error("run \(id) \(status): \(failure ?? "")")
            if exit == .locked {
                output.error("  nothing was changed. To wait for the lock, run again with --lock-timeout SECONDS. Details: runbook log \(id)")
            } else if session.isDryRun {
                output.error("  nothing was changed (dry-run). Details: runbook log \(id) --failures")
            } else if effects.isEmpty {
                output.error("  nothing was changed. Details: runbook log \(id) --failures")
            } else {
                output.error("  \(effects.count) effect\(effects.count == 1 ? "" : "s") applied. Details: runbook log \(id) --failures   Reverse them: runbook undo \(id)")
            }
        }
    }

    func invocationFailure(_ error: any Error, output: RunOutput) -> RunResult {
        let text = String(describing: error)
        if output.mode == .json {
            _ = try? Posix.writeAll(1, Array((TerminalText.jsonLine(RunOutput.invalidInvocationEvent(output.redactor.mask(text))) + "\n").utf8), path: "stdout")
        } else {
            output.error("runbook: " + text)
        }
        return RunResult(status: .usage, runID: nil, effects: [], error: text)
    }

    /// A lock held by another process: one line (or the one --json event), exit 3.
    private func lockedFailure(_ text: String, output: RunOutput) -> RunResult {
        if output.mode == .json {
            let event = JSON.object([("event", .string("run_finished")), ("v", .int(RunOutput.schemaVersion)),
                                     ("at", .string(Clock.iso8601(Clock.wall()))), ("status", .string("locked")),
                                     ("exit", .int(Int64(ExitStatus.locked.rawValue))), ("error", .string(text))])
            _ = try? Posix.writeAll(1, Array((TerminalText.jsonLine(event.serialized) + "\n").utf8), path: "stdout")
        } else {
            output.error(text)
        }
        return RunResult(status: .locked, runID: nil, effects: [], error: text)
    }

    // MARK: Undo

    /// Reverses what a run's journal says was applied and not yet undone.
    /// `force`: undo even when later runs built on the run's changes (LaterRuns).
    public func undo(_ runID: String, dryRun: Bool, output mode: OutputMode, force: Bool = false,
                     console: ConsoleOptions = ConsoleOptions(), abandon: [String] = []) -> RunResult {
        let redactor = Redactor()
        let output = RunOutput(mode: mode, redactor: redactor, console: console)
        defer { output.close() }
        var record: RunRecord
        // Held until this function returns: a second undo of the run is refused (exit 3).
        var undoLock: UndoLock?
        do {
            record = try store.load(runID)
            if !dryRun {
                undoLock = try UndoLock(folder: store.runDirectory(runID), runID: runID)
                // Read again under the lock: an undo that just ended has changed it.
                record = try store.load(runID)
            }
        } catch let held as LockHeld {
            return lockedFailure("runbook: \(held); wait for it to end, then see `runbook log \(runID)`", output: output)
        } catch {
            return invocationFailure(error, output: output)
        }
        defer { withExtendedLifetime(undoLock) {} }
        let refusal: String?
        switch record.status {
        case .running: refusal = "run \(runID) is still running (pid \(record.pid) on \(record.host)); stop it first, or watch it: runbook log \(runID) --follow"
        case .undoing: refusal = "run \(runID) is being undone right now (pid \(record.pid))"
        case .undone: refusal = "run \(runID) was already undone; there is nothing left to reverse"
        case .planned: refusal = "run \(runID) was a dry-run: it changed nothing"
        default: refusal = record.dryRun ? "run \(runID) was a dry-run: it changed nothing" : nil
        }
        if let refusal { return invocationFailure(RunbookError.usage(refusal), output: output) }
        for host in abandon where config.hosts[host] == nil {
            let known = config.hosts.keys.sorted().joined(separator: ", ")
            return invocationFailure(RunbookError.usage("--abandon \(host): no [hosts.\(host)] in the configuration (known: \(known.isEmpty ? "none" : known))"),
                                     output: output)
        }
        // Later runs that built on these changes are undone first (or the operator insists).
        let later = (try? LaterRuns.builtOn(record, in: store)) ?? []
        if !later.isEmpty, !force, !dryRun {
            return invocationFailure(RunbookError.usage(LaterRuns.refusal(runID, later)), output: output)
        }
        let entries: [UndoEntry]
        do {
            // A run stopped before its journal was created applied nothing.
            let journalPath = store.journalPath(runID)
            entries = Posix.lstatInfo(journalPath) == nil ? [] : try UndoProcess.entries(fromJournalAt: journalPath)
        } catch {
            return invocationFailure(RunbookError.failed("cannot read the journal of run \(runID): \(error)"), output: output)
        }
        // From its first journal record on, nothing stops an undo but its end.
        if !dryRun { SignalTrap.ignoreFurther() }
        defer { SignalTrap.restore() }
        let journal = dryRun ? nil : try? JournalWriter(path: store.journalPath(runID), durable: true, redactor: redactor)
        output.journal = journal
        let databases = DatabaseConnections(configs: config.databases, redactor: redactor)
        // Anchored at the run's own root: its effects name paths under it.
        var root = record.root
        var rootInfo = stat()
        if stat(root, &rootInfo) != 0 || rootInfo.st_mode & S_IFMT != S_IFDIR {
            output.log("warn", "the run's root \(root) no longer exists; undoing with paths from /")
            root = "/"
        }
        guard let paths = try? RootedPaths(root: root) else {
            return invocationFailure(RunbookError.failed("cannot open the run's root \(root)"), output: output)
        }
        let world = World(paths: paths, backups: BackupStore(directory: store.backupsDirectory(runID)), databases: databases,
                          platform: PlatformAdapter(kind: config.platform))
        // Steps of effects made on other hosts run there, through their agents.
        SSHCommand.stateDirectory = store.directory
        world.otherHosts = AgentConnections(config: config, runID: runID)
        output.message("  \(record.runbook) (\(record.status), \(entries.count) effect\(entries.count == 1 ? "" : "s") to reverse)"
                       + (dryRun ? "  (dry-run)" : ""), lead: "undo of run \(runID)", code: "1")
        output.event(.undoStarted, [("run", .string(runID)), ("effects", .int(Int64(entries.count))), ("dry_run", .bool(dryRun)),
                                      ("pid", .int(Int64(getpid()))), ("user", .string(Posix.userName))])
        if !later.isEmpty {
            output.log("warn", dryRun ? LaterRuns.refusal(runID, later) : "undoing with --force: " + LaterRuns.refusal(runID, later))
        }
        if dryRun {
            let tally = UndoProcess.run(entries, world: world, output: output, journal: nil, dryRun: true, abandoned: Set(abandon))
            output.event(.undoFinished, [("run", .string(runID)), ("dry_run", .bool(true)), ("undone", .int(0)), ("failed", .int(0)),
                                           ("irreversible", .int(Int64(tally.irreversible.count)))])
            return RunResult(status: .done, runID: runID, effects: [], error: nil)
        }
        let previousStatus = record.status
        record.status = .undoing
        record.pid = getpid()
        try? store.save(record)
        let tally = UndoProcess.run(entries, world: world, output: output, journal: journal, dryRun: false, abandoned: Set(abandon))
        // Some reversed, some not: history says so, and `runbook undo` takes the rest.
        record.status = tally.ok ? .undone : tally.undone > 0 || previousStatus == .partlyUndone ? .partlyUndone : previousStatus
        try? store.save(record)
        output.event(.undoFinished, [("run", .string(runID)), ("dry_run", .bool(false)), ("undone", .int(Int64(tally.undone))),
                                       ("failed", .int(Int64(tally.failed))), ("irreversible", .int(Int64(tally.irreversible.count))),
                                       ("abandoned", .int(Int64(tally.abandoned.values.reduce(0, +))))])
        if tally.ok {
            world.forgetBackups(of: runID)
            let gone = tally.abandoned.sorted { $0.key < $1.key }.map { "\($0.value) on \($0.key)" }
            output.message(": \(tally.undone) effect\(tally.undone == 1 ? "" : "s") reversed"
                           + (tally.irreversible.isEmpty ? "" : "; \(tally.irreversible.count) could not be undone (listed above)")
                           + (gone.isEmpty ? "" : "; abandoned (host declared gone): " + gone.joined(separator: ", ")),
                           lead: "undone", code: "32", essential: true)
            return RunResult(status: .done, runID: runID, effects: [], error: nil)
        }
        output.error("undo of run \(runID) is incomplete: \(tally.failed) effect\(tally.failed == 1 ? "" : "s") could not be reversed (see above); fix the cause and run `runbook undo \(runID)` again")
        return RunResult(status: .failed, runID: runID, effects: [], error: "undo incomplete")
    }
}
