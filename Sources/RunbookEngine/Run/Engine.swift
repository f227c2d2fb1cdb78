// The engine's front door: load runbooks, run them (for real or as a dry-run), undo runs,
// list history. The CLI is a thin shell over this.

import LuaBridge

public struct RunOptions: Sendable {
    public var dryRun = false
    public var output: OutputMode = .human
    /// Seconds to wait for a lock held by another run (0: fail at once).
    public var lockTimeout: Double = 0
    /// A dry-run that succeeds writes its plan here (`--save-plan FILE`).
    public var savePlan: String?
    /// Hold the run to this reviewed plan (`--plan-file FILE`).
    public var planFile: String?
    /// Hold the run to this plan, reviewed in this process (the confirmation's: what it
    /// showed and the operator answered "y" to), as to a `--plan-file`.
    public var shownPlan: ReviewedPlan?
    /// A dry-run that succeeds gives back its plan, ready to hold a run to (RunResult.plan).
    public var keepPlan = false
    /// Colour and how much the console shows (--color, -q, -v).
    public var console = ConsoleOptions()
    public init() {}
}

public struct RunResult {
    public var status: ExitStatus
    public var runID: String?
    /// The effects applied (or, in a dry-run, planned), in order.
    public var effects: [EffectRecord]
    public var error: String?
    /// With RunOptions.keepPlan: the plan a successful dry-run made.
    public var plan: ReviewedPlan?
}

public final class Engine {
    public let config: EngineConfig
    public let store: RunStore

    public init(config: EngineConfig) {
        self.config = config
        store = RunStore(directory: config.stateDir)
    }

    public var catalog: RunbookCatalog { RunbookCatalog(directories: config.runbookDirs) }

    /// A sandboxed state with every module registered, bound to `slot`.
    func makeState(slot: SessionSlot) throws -> LuaState {
        let state = try LuaState(sandbox: LuaSandbox(modulePaths: config.stdlibDirs))
        Engine.registerModules(into: state, slot: slot)
        try state.setGlobal("settings", JsonModule.luaValue(config.settings))
        return state
    }

    /// Every Lua module, in the order docs/api.md shows them. A new module is one line here;
    /// its docs come with its registrations (APIDoc.swift).
    static func registerModules(into state: LuaState, slot: SessionSlot) {
        RunModule.register(into: state, slot: slot)
        FsModule.register(into: state, slot: slot)
        DbModule.register(into: state, slot: slot)
        TemplateModule.register(into: state, slot: slot)
        JsonModule.register(into: state)
        CmdModule.register(into: state, slot: slot)
        MountModule.register(into: state, slot: slot)
        NetModule.register(into: state, slot: slot)
        ServiceModule.register(into: state, slot: slot)
        RsyncModule.register(into: state, slot: slot)
        RemoteModule.register(into: state, slot: slot)
        MailModule.register(into: state, slot: slot)
        CronModule.register(into: state, slot: slot)
        VcsModule.register(into: state, slot: slot)
        HttpModule.register(into: state, slot: slot)
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
    private func load(_ nameOrPath: String, words: [String], slot: SessionSlot) throws
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

    public func run(_ nameOrPath: String, words: [String], options: RunOptions) -> RunResult {
        // Held while the console's writer thread starts: it never takes SIGINT/SIGTERM.
        var heldSignals = StopSignals.hold()
        defer { heldSignals.release() }
        let redactor = Redactor()
        let output = RunOutput(mode: options.output, redactor: redactor, console: options.console)
        defer { output.close() }
        heldSignals.release()
        let slot = SessionSlot()
        let state: LuaState
        let declaration: RunbookDeclaration
        let bound: BoundArguments
        let paths: RootedPaths
        var reviewed: ReviewedPlan?
        // Everything that can be wrong with the invocation is found before anything is touched.
        do {
            (state, declaration, bound) = try load(nameOrPath, words: words, slot: slot)
            paths = try RootedPaths(root: config.root)
            reviewed = try reviewedPlan(options, runbook: declaration.name, arguments: bound.masked(declaration))
        } catch {
            return invocationFailure(error, output: output)
        }
        bound.secrets.forEach(redactor.add)
        let databases = DatabaseConnections(configs: config.databases, redactor: redactor)
        var argumentTable = LuaTable()
        for (name, value) in bound.values { argumentTable[name] = value.lua }

        // From here until the run's trap is in place, SIGINT/SIGTERM wait: a run stopped while
        // it is being recorded would leave a folder with half a record. Stopped before, the
        // run records nothing; after, it ends "interrupted" (exit 130) like any other.
        heldSignals = StopSignals.hold()
        var record = RunRecord(id: "", runbook: declaration.name, arguments: bound.masked(declaration),
                               dryRun: options.dryRun, root: config.root)
        let id: String
        let journal: JournalWriter
        do {
            id = try store.createRun(record)
            record.id = id
            journal = try JournalWriter(path: store.journalPath(id), durable: config.durable, redactor: redactor)
        } catch {
            return invocationFailure(RunbookError.usage("cannot write the run's state in \(store.directory): \(error)"), output: output)
        }
        journal.holdsEveryRecord = options.dryRun
        output.journal = journal
        let locks = LockManager(directory: store.locksDirectory, runID: id, timeout: options.lockTimeout,
                                databases: databases, lockDatabase: config.lockDatabase)
        let world = World(paths: paths, backups: BackupStore(directory: store.backupsDirectory(id)), databases: databases,
                          platform: PlatformAdapter(kind: config.platform))
        let overlay = Overlay(paths: paths)
        let executor: EffectExecutor = options.dryRun ? PlanExecutor(overlay: overlay) : LiveExecutor(world: world, journal: journal)
        let session = RunSession(id: id, paths: paths, view: options.dryRun ? overlay : LiveFileSystem(paths: paths), databases: databases,
                                 redactor: redactor, executor: executor, output: output, locks: locks, config: config)
        session.reviewed = reviewed
        slot.session = session
        session.lua = state
        session.phase = .running
        var context: LuaValue = [
            "run_id": .string(id), "dry_run": .boolean(options.dryRun), "root": .string(config.root),
            "user": .string(record.user), "host": .string(record.host), "runbook": .string(declaration.name),
        ]
        // Set by `runbook queue work` for the run that works a queue record (stdlib/queue.lua).
        if case .table(var table) = context, let queueID = Posix.environment(QueueWorker.queueIDVariable).flatMap(Int64.init),
           queueID > 0
        {
            table["queue_id"] = .integer(queueID)
            context = .table(table)
        }
        try? state.setGlobal("context", context)

        output.runStarted(id: id, runbook: declaration.name, dryRun: options.dryRun, arguments: record.arguments,
                          file: declaration.file, config: config.sourcePath.map(EngineConfig.absolute), root: config.root,
                          planFile: options.planFile, planned: reviewed?.effects.count)
        if let shown = options.shownPlan {
            output.message("  held to the plan shown above (\(shown.effects.count) effect\(shown.effects.count == 1 ? "" : "s"), "
                           + "planned by dry-run \(shown.planRun))")
        }
        let started = Clock.monotonic()
        SignalTrap.install(state.interruptHandle)
        defer { SignalTrap.restore() }
        heldSignals.release()

        var failure: LuaError?
        do {
            if let locksFunction = declaration.locks {
                let names = try state.call(locksFunction, [.table(argumentTable)])
                for name in lockNames(names) { try locks.acquire(name) }
            }
            try state.call(declaration.run, [.table(argumentTable)])
            // Reloads queued outside any step run at the end of the run.
            try session.flushReloads()
        } catch let error as LuaError {
            failure = error
        } catch let error as LockHeld {
            var wrapped = LuaError(kind: .runtime, message: error.description)
            wrapped.hostError = error
            failure = wrapped
        } catch {
            failure = LuaError(kind: .runtime, message: String(describing: error))
        }
        // A difference from the reviewed plan that the runbook caught with pcall still fails the run.
        if failure == nil, let divergence = session.divergence { failure = LuaError(kind: .runtime, message: divergence) }
        // So does a failure the run must end on (RunSession.stopRun).
        if failure == nil, let fatal = session.fatalFailure {
            failure = LuaError(kind: .runtime, message: String(describing: fatal))
            failure?.hostError = fatal
        }

        var status = RunStatus.succeeded
        var exit = ExitStatus.done
        var undoneUpTo = 0
        var failureStatus = RunStatus.failed
        if let failure {
            session.phase = .failing
            session.forgetKnownDirectories()  // the automatic undo below removes directories
            SignalTrap.ignoreFurther()
            state.clearStop()
            let interrupted = failure.kind == .interrupted || SignalTrap.wasReceived
            status = interrupted ? .interrupted : .failed
            failureStatus = status
            exit = interrupted ? .interrupted : (failure.hostError is LockHeld ? .locked : .failed)
            output.event(.runFailing, [("error", .string(failure.description)), ("interrupted", .bool(interrupted))])
            if let live = executor as? LiveExecutor, declaration.onFailure == .undo, !live.applied.isEmpty {
                output.message("undoing \(live.applied.count) applied effect\(live.applied.count == 1 ? "" : "s") (on_failure = \"undo\")")
                let entries = live.applied.map { UndoEntry(seq: $0.record.seq, summary: $0.record.summary, undo: $0.undo, uncertain: false) }
                let tally = UndoProcess.run(entries, world: world, output: output, journal: journal, dryRun: false)
                if tally.ok && tally.irreversible.isEmpty { status = .undone }
                undoneUpTo = entries.map(\.seq).max() ?? 0
            }
            runHooks(session.cleanupHooks, kind: "cleanup", error: redactor.mask(failure.description), state: state, output: output)
        }
        let effectsBeforeFinally = session.effects.count
        runHooks(session.finallyHooks, kind: "finally", error: failure.map { redactor.mask($0.description) }, state: state, output: output)
        // Changes made by hooks after the automatic undo are still applied: the run is not
        // "undone" then, so `runbook undo` can reverse them.
        if status == .undone, let live = executor as? LiveExecutor,
           live.applied.contains(where: { $0.record.seq > undoneUpTo }) || session.effects.count > effectsBeforeFinally
        {
            status = failureStatus
        }
        session.phase = .finished
        // Found after the run function: a finally hook held to the reviewed plan met a
        // difference (nothing after it was applied), or the plan could not be saved.
        var lateFailure: String?
        if failure == nil, let divergence = session.divergence {
            lateFailure = divergence
            status = .failed
            exit = .failed
        }
        if failure == nil, lateFailure == nil, let fatal = session.fatalFailure {
            lateFailure = String(describing: fatal)
            status = .failed
            exit = fatal is LockHeld ? .locked : .failed
        }
        if failure == nil, lateFailure == nil, let reviewed, session.effects.count < reviewed.effects.count {
            let next = reviewed.effects[session.effects.count]
            output.log("warn", "the run needed \(session.effects.count) of the \(reviewed.effects.count) reviewed effects; "
                       + "from effect \(next.seq) on (\(next.sign.rawValue) \(next.summary)) they were found already done")
        }
        var keptPlan: ReviewedPlan?
        if failure == nil, lateFailure == nil, options.dryRun, options.savePlan != nil || options.keepPlan {
            let plan = ReviewedPlan(runbook: declaration.name, file: declaration.file, arguments: record.arguments,
                                    root: config.root, planRun: id, effects: session.effects)
            do {
                if let path = options.savePlan {
                    try plan.save(path, redactor: redactor)
                    output.event(.planSaved, [("path", .string(path)), ("effects", .int(Int64(session.effects.count)))])
                }
                if options.keepPlan { keptPlan = try ReviewedPlan.shown(plan, redactor: redactor) }
            } catch {
                lateFailure = "cannot save the plan: \(error)"
                status = .failed
                exit = .failed
            }
        }

        let duration = Clock.monotonic() - started
        let message = failure.map { redactor.mask($0.description) } ?? lateFailure
        output.event(.runFinished, [("status", .string(status.rawValue)), ("exit", .int(Int64(exit.rawValue))),
                                      ("duration", .double(duration)), ("effects", .int(Int64(session.effects.count)))]
                     + (message.map { [("error", JSON.string($0))] } ?? []))
        journal.sync()
        record.status = options.dryRun && failure == nil && lateFailure == nil ? .planned : status
        record.finished = Clock.wall()
        record.error = message
        try? store.save(record)
        // Released once the journal and the run's record say it finished: the next holder
        // of a lock never starts before them (`runbook history`, `log`, the load campaign).
        locks.releaseAll()
        summarize(session: session, id: id, status: status, exit: exit, failure: message, duration: duration, output: output)
        if lateFailure == nil, failure == nil, let path = options.savePlan, options.dryRun {
            // The runbook's arguments as typed (secrets never are: they come from the
            // environment or a --NAME-file).
            let command = (["runbook", "run", nameOrPath] + words + ["--plan-file", path]).map(Engine.shellWord).joined(separator: " ")
            output.message("Plan saved to \(path). To apply exactly this plan: \(command)", essential: true)
        }
        return RunResult(status: exit, runID: id, effects: session.effects, error: message, plan: keptPlan)
    }

    /// The reviewed plan this run is held to (`--plan-file`), after checking it was made
    /// for this runbook and these arguments; also checks `--save-plan`. Errors are exit 2.
    private func reviewedPlan(_ options: RunOptions, runbook: String, arguments: JSON) throws -> ReviewedPlan? {
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
    static func shellWord(_ word: String) -> String {
        let plain = !word.isEmpty && word.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || "-_./=:@,+%".utf8.contains(byte)
        }
        return plain ? word : "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    private func lockNames(_ results: [LuaValue]) -> [String] {
        var names: [String] = []
        for value in results {
            if let name = value.stringValue { names.append(name) }
            if let table = value.tableValue { names.append(contentsOf: table.array.compactMap(\.stringValue)) }
        }
        return names
    }

    /// Runs the hooks, last registered first; each gets the run's error (nil when it succeeded).
    private func runHooks(_ hooks: [LuaRef], kind: String, error: String?, state: LuaState, output: RunOutput) {
        for hook in hooks.reversed() {
            do {
                try state.call(hook, [error.map { LuaValue.string(Array($0.utf8)) } ?? .nil])
                output.hook(kind, failed: nil)
            } catch {
                output.hook(kind, failed: String(describing: error))
            }
        }
    }

    private func summarize(session: RunSession, id: String, status: RunStatus, exit: ExitStatus, failure: String?, duration: Double,
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

    private func invocationFailure(_ error: any Error, output: RunOutput) -> RunResult {
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
                     console: ConsoleOptions = ConsoleOptions()) -> RunResult {
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
        output.message("  \(record.runbook) (\(record.status), \(entries.count) effect\(entries.count == 1 ? "" : "s") to reverse)"
                       + (dryRun ? "  (dry-run)" : ""), lead: "undo of run \(runID)", code: "1")
        output.event(.undoStarted, [("run", .string(runID)), ("effects", .int(Int64(entries.count))), ("dry_run", .bool(dryRun)),
                                      ("pid", .int(Int64(getpid()))), ("user", .string(Posix.userName))])
        if !later.isEmpty {
            output.log("warn", dryRun ? LaterRuns.refusal(runID, later) : "undoing with --force: " + LaterRuns.refusal(runID, later))
        }
        if dryRun {
            let tally = UndoProcess.run(entries, world: world, output: output, journal: nil, dryRun: true)
            output.event(.undoFinished, [("run", .string(runID)), ("dry_run", .bool(true)), ("undone", .int(0)), ("failed", .int(0)),
                                           ("irreversible", .int(Int64(tally.irreversible.count)))])
            return RunResult(status: .done, runID: runID, effects: [], error: nil)
        }
        let previousStatus = record.status
        record.status = .undoing
        record.pid = getpid()
        try? store.save(record)
        let tally = UndoProcess.run(entries, world: world, output: output, journal: journal, dryRun: false)
        // Some reversed, some not: history says so, and `runbook undo` takes the rest.
        record.status = tally.ok ? .undone : tally.undone > 0 || previousStatus == .partlyUndone ? .partlyUndone : previousStatus
        try? store.save(record)
        output.event(.undoFinished, [("run", .string(runID)), ("dry_run", .bool(false)), ("undone", .int(Int64(tally.undone))),
                                       ("failed", .int(Int64(tally.failed))), ("irreversible", .int(Int64(tally.irreversible.count)))])
        if tally.ok {
            output.message(": \(tally.undone) effect\(tally.undone == 1 ? "" : "s") reversed"
                           + (tally.irreversible.isEmpty ? "" : "; \(tally.irreversible.count) could not be undone (listed above)"),
                           lead: "undone", code: "32", essential: true)
            return RunResult(status: .done, runID: runID, effects: [], error: nil)
        }
        output.error("undo of run \(runID) is incomplete: \(tally.failed) effect\(tally.failed == 1 ? "" : "s") could not be reversed (see above); fix the cause and run `runbook undo \(runID)` again")
        return RunResult(status: .failed, runID: runID, effects: [], error: "undo incomplete")
    }
}
