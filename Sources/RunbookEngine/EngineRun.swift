// One run of a runbook, in four phases: prepare (check the invocation, record the run, wire
// the session), execute (locks, the run function, queued reloads), fail and undo (the
// failure policy and cleanup hooks) and finish (finally hooks, the plan, the record, the
// summary). Each phase reads and updates one `RunInProgress`.

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookJournal
import RunbookModules
import RunbookRun
import RunbookSupport

/// What the phases of one run share.
final class RunInProgress {
    let nameOrPath: String
    let words: [String]
    let options: RunOptions
    let redactor: Redactor
    let output: RunOutput
    let state: LuaState
    let declaration: RunbookDeclaration
    let arguments: LuaTable
    let reviewed: ReviewedPlan?
    let journal: JournalWriter
    let locks: LockManager
    let world: World
    let session: RunSession
    var record: RunRecord
    let started = Clock.monotonic()

    /// Why the run function failed (nil: it succeeded).
    var failure: LuaError?
    /// What went wrong after it (a reviewed plan met a difference, the plan could not be saved).
    var lateFailure: String?
    var status = RunStatus.succeeded
    var exit = ExitStatus.done
    /// With RunOptions.keepPlan: the plan this dry-run made.
    var keptPlan: ReviewedPlan?

    init(nameOrPath: String, words: [String], options: RunOptions, redactor: Redactor, output: RunOutput, state: LuaState,
         declaration: RunbookDeclaration, arguments: LuaTable, reviewed: ReviewedPlan?, journal: JournalWriter,
         locks: LockManager, world: World, session: RunSession, record: RunRecord)
    {
        self.nameOrPath = nameOrPath
        self.words = words
        self.options = options
        self.redactor = redactor
        self.output = output
        self.state = state
        self.declaration = declaration
        self.arguments = arguments
        self.reviewed = reviewed
        self.journal = journal
        self.locks = locks
        self.world = world
        self.session = session
        self.record = record
    }

    var id: String { session.id }
    var live: LiveExecutor? { session.executor as? LiveExecutor }
    /// The error the run ends with, masked.
    var message: String? { failure.map { redactor.mask($0.description) } ?? lateFailure }
}

extension Engine {
    public func run(_ nameOrPath: String, words: [String], options: RunOptions) -> RunResult {
        // Held while the console's writer thread starts: it never takes SIGINT/SIGTERM.
        var heldSignals = StopSignals.hold()
        defer { heldSignals.release() }
        let redactor = Redactor()
        let output = RunOutput(mode: options.output, redactor: redactor, console: options.console)
        defer { output.close() }
        heldSignals.release()

        let run: RunInProgress
        switch prepare(nameOrPath, words: words, options: options, redactor: redactor, output: output) {
        case .failure(let refused): return refused
        case .success(let prepared): run = prepared
        }
        defer { SignalTrap.restore() }
        execute(run)
        if run.failure != nil { failAndUndo(run) }
        return finish(run)
    }

    private enum Prepared {
        case success(RunInProgress)
        case failure(RunResult)
    }

    /// Everything that can be wrong with the invocation is found before anything is
    /// touched; then the run is recorded, its session wired and its signal trap set.
    private func prepare(_ nameOrPath: String, words: [String], options: RunOptions, redactor: Redactor,
                         output: RunOutput) -> Prepared
    {
        let slot = SessionSlot()
        let state: LuaState
        let declaration: RunbookDeclaration
        let bound: BoundArguments
        let paths: RootedPaths
        let reviewed: ReviewedPlan?
        do {
            (state, declaration, bound) = try load(nameOrPath, words: words, slot: slot)
            paths = try RootedPaths(root: config.root)
            reviewed = try reviewedPlan(options, runbook: declaration.name, arguments: bound.masked(declaration))
        } catch {
            return .failure(invocationFailure(error, output: output))
        }
        bound.secrets.forEach(redactor.add)
        let databases = DatabaseConnections(configs: config.databases, redactor: redactor)
        var arguments = LuaTable()
        for (name, value) in bound.values { arguments[name] = JsonModule.luaValue(value.json) }

        // From here until the run's trap is in place, SIGINT/SIGTERM wait: a run stopped while
        // it is being recorded would leave a folder with half a record. Stopped before, the
        // run records nothing; after, it ends "interrupted" (exit 130) like any other.
        var heldSignals = StopSignals.hold()
        defer { heldSignals.release() }
        var record = RunRecord(id: "", runbook: declaration.name, arguments: bound.masked(declaration),
                               dryRun: options.dryRun, root: config.root)
        let journal: JournalWriter
        do {
            record.id = try store.createRun(record)
            journal = try JournalWriter(path: store.journalPath(record.id), durable: config.durable, redactor: redactor)
        } catch {
            return .failure(invocationFailure(RunbookError.usage("cannot write the run's state in \(store.directory): \(error)"),
                                              output: output))
        }
        let id = record.id
        SSHCommand.stateDirectory = store.directory
        journal.holdsEveryRecord = options.dryRun
        output.journal = journal
        let locks = LockManager(directory: store.locksDirectory, runID: id, timeout: options.lockTimeout,
                                databases: databases, lockDatabase: config.lockDatabase)
        let world = World(paths: paths, backups: BackupStore(directory: store.backupsDirectory(id)), databases: databases,
                          platform: PlatformAdapter(kind: config.platform))
        // A dry-run plans into the overlay and reads through it; a real run journals and applies.
        let overlay = Overlay(paths: paths)
        let executor: EffectExecutor = options.dryRun ? PlanExecutor(overlay: overlay) : LiveExecutor(world: world, journal: journal)
        let session = RunSession(id: id, paths: paths, view: options.dryRun ? overlay : LiveFileSystem(paths: paths), databases: databases,
                                 redactor: redactor, executor: executor, output: output, locks: locks, config: config)
        session.reviewed = reviewed
        slot.session = session
        session.lua = state
        session.phase = .running
        try? state.setGlobal("context", runContext(id: id, record: record, declaration: declaration, dryRun: options.dryRun,
                                                   json: output.mode == .json))

        output.runStarted(id: id, runbook: declaration.name, dryRun: options.dryRun, arguments: record.arguments,
                          file: declaration.file, config: config.sourcePath.map(EngineConfig.absolute), root: config.root,
                          planFile: options.planFile, planned: reviewed?.effects.count)
        if let shown = options.shownPlan {
            output.message("  held to the plan shown above (\(shown.effects.count) effect\(shown.effects.count == 1 ? "" : "s"), "
                           + "planned by dry-run \(shown.planRun))")
        }
        let run = RunInProgress(nameOrPath: nameOrPath, words: words, options: options, redactor: redactor, output: output,
                                state: state, declaration: declaration, arguments: arguments, reviewed: reviewed,
                                journal: journal, locks: locks, world: world, session: session, record: record)
        SignalTrap.install(state.interruptHandle)
        return .success(run)
    }

    /// The `context` global: the run's id, mode (dry-run, --json), root, platform, who and where, and (for a run that
    /// works a queue record, set by `runbook queue work`, stdlib/queue.lua) the record's id.
    private func runContext(id: String, record: RunRecord, declaration: RunbookDeclaration, dryRun: Bool, json: Bool) -> LuaValue {
        var context = LuaTable()
        context["run_id"] = .string(id)
        context["dry_run"] = .boolean(dryRun)
        // --json: a report meant for programs prints itself as one JSON object (ip-status).
        context["json"] = .boolean(json)
        context["platform"] = .string(config.platform.rawValue)
        context["root"] = .string(config.root)
        context["user"] = .string(record.user)
        context["host"] = .string(record.host)
        context["runbook"] = .string(declaration.name)
        context["hosts"] = .table(LuaTable(fields: Dictionary(uniqueKeysWithValues: config.hosts.keys.map { (LuaValue.string($0), LuaValue.boolean(true)) })))
        if let queueID = Posix.environment(QueueWorker.queueIDVariable).flatMap(Int64.init), queueID > 0 {
            context["queue_id"] = .integer(queueID)
        }
        return .table(context)
    }

    /// Takes the runbook's locks, calls its run function and runs the reloads queued outside
    /// any step; notes the first failure, including a difference from the reviewed plan the
    /// runbook caught with pcall and a failure the run must end on (RunSession.stopRun).
    private func execute(_ run: RunInProgress) {
        do {
            if let locksFunction = run.declaration.locks {
                let names = try run.state.call(locksFunction, [.table(run.arguments)])
                for name in lockNames(names) { try run.locks.acquire(name) }
            }
            try run.state.call(run.declaration.run, [.table(run.arguments)])
            try run.session.flushReloads()
        } catch let error as LuaError {
            run.failure = error
        } catch let error as LockHeld {
            var wrapped = LuaError(kind: .runtime, message: error.description)
            wrapped.hostError = error
            run.failure = wrapped
        } catch {
            run.failure = LuaError(kind: .runtime, message: String(describing: error))
        }
        if run.failure == nil, let divergence = run.session.divergence { run.failure = LuaError(kind: .runtime, message: divergence) }
        if run.failure == nil, let fatal = run.session.fatalFailure {
            var wrapped = LuaError(kind: .runtime, message: String(describing: fatal))
            wrapped.hostError = fatal
            run.failure = wrapped
        }
    }

    /// The failure policy: with `on_failure = "undo"` the applied effects are reversed,
    /// then the cleanup hooks run. Finally hooks run in `finish`, after this; their changes
    /// keep the run from counting as undone.
    private func failAndUndo(_ run: RunInProgress) {
        guard let failure = run.failure else { return }
        let session = run.session, output = run.output
        session.phase = .failing
        session.forgetKnownDirectories()  // the automatic undo below removes directories
        SignalTrap.ignoreFurther()
        run.state.clearStop()
        let interrupted = failure.kind == .interrupted || SignalTrap.wasReceived
        run.status = interrupted ? .interrupted : .failed
        run.exit = interrupted ? .interrupted : (failure.hostError is LockHeld ? .locked : .failed)
        output.event(.runFailing, [("error", .string(failure.description)), ("interrupted", .bool(interrupted))])
        var undoneUpTo = 0
        if let live = run.live, run.declaration.onFailure == .undo, !live.applied.isEmpty {
            output.message("undoing \(live.applied.count) applied effect\(live.applied.count == 1 ? "" : "s") (on_failure = \"undo\")")
            let entries = live.undoEntries()
            let tally = UndoProcess.run(entries, world: run.world, output: output, journal: run.journal, dryRun: false)
            if tally.ok && tally.irreversible.isEmpty { run.status = .undone }
            undoneUpTo = entries.map(\.seq).max() ?? 0
        }
        runHooks(session.cleanupHooks, kind: "cleanup", error: run.redactor.mask(failure.description), state: run.state, output: output)
        let effectsBeforeFinally = session.effects.count
        let failureStatus: RunStatus = interrupted ? .interrupted : .failed
        runHooks(session.finallyHooks, kind: "finally", error: run.redactor.mask(failure.description), state: run.state, output: output)
        // Changes made by hooks after the automatic undo are still applied: the run is not
        // "undone" then, so `runbook undo` can reverse them.
        if run.status == .undone, let live = run.live,
           live.applied.contains(where: { $0.record.seq > undoneUpTo }) || session.effects.count > effectsBeforeFinally
        {
            run.status = failureStatus
        }
        if run.status == .undone { run.world.forgetBackups(of: run.id) }
    }

    /// Finally hooks (of a run that succeeded: a failed one ran them in failAndUndo), the
    /// checks that can still fail a run that succeeded, the saved plan, the run's record,
    /// the lock release and the summary.
    private func finish(_ run: RunInProgress) -> RunResult {
        let session = run.session, output = run.output, options = run.options
        if run.failure == nil {
            runHooks(session.finallyHooks, kind: "finally", error: nil, state: run.state, output: output)
        }
        session.phase = .finished
        if run.failure == nil { checkAfterSuccess(run) }
        if run.failure == nil, run.lateFailure == nil, options.dryRun, options.savePlan != nil || options.keepPlan { keepPlan(run) }

        let duration = Clock.monotonic() - run.started
        let message = run.message
        output.event(.runFinished, [("status", .string(run.status.rawValue)), ("exit", .int(Int64(run.exit.rawValue))),
                                      ("duration", .double(duration)), ("effects", .int(Int64(session.effects.count)))]
                     + (message.map { [("error", JSON.string($0))] } ?? []))
        run.journal.sync()
        run.record.status = options.dryRun && message == nil ? .planned : run.status
        run.record.finished = Clock.wall()
        run.record.error = message
        try? store.save(run.record)
        // Released once the journal and the run's record say it finished: the next holder
        // of a lock never starts before them (`runbook history`, `log`, the load campaign).
        run.locks.releaseAll()
        summarize(session: session, id: run.id, status: run.status, exit: run.exit, failure: message, duration: duration, output: output)
        if message == nil, let path = options.savePlan, options.dryRun {
            // The runbook's arguments as typed (secrets never are: they come from the
            // environment or a --NAME-file).
            let command = (["runbook", "run", run.nameOrPath] + run.words + ["--plan-file", path]).map(Engine.shellWord).joined(separator: " ")
            output.message("Plan saved to \(path). To apply exactly this plan: \(command)", essential: true)
        }
        return RunResult(status: run.exit, runID: run.id, effects: session.effects, error: message, plan: run.keptPlan)
    }

    /// A run whose function succeeded still fails when a finally hook held to the reviewed
    /// plan met a difference (nothing after it was applied) or the run must end on a fatal
    /// failure; a reviewed plan with effects left over is only a warning (found done).
    private func checkAfterSuccess(_ run: RunInProgress) {
        let session = run.session
        if let divergence = session.divergence {
            run.lateFailure = divergence
            run.status = .failed
            run.exit = .failed
        } else if let fatal = session.fatalFailure {
            run.lateFailure = String(describing: fatal)
            run.status = .failed
            run.exit = fatal is LockHeld ? .locked : .failed
        } else if let reviewed = run.reviewed, session.effects.count < reviewed.effects.count {
            let next = reviewed.effects[session.effects.count]
            run.output.log("warn", "the run needed \(session.effects.count) of the \(reviewed.effects.count) reviewed effects; "
                           + "from effect \(next.seq) on (\(next.sign.rawValue) \(next.summary)) they were found already done")
        }
    }

    /// Saves the dry-run's plan (`--save-plan`) and keeps it for a confirmation (keepPlan).
    private func keepPlan(_ run: RunInProgress) {
        let session = run.session
        let plan = ReviewedPlan(runbook: run.declaration.name, file: run.declaration.file, arguments: run.record.arguments,
                                root: config.root, planRun: run.id, effects: session.effects)
        do {
            if let path = run.options.savePlan {
                try plan.save(path, redactor: run.redactor)
                run.output.event(.planSaved, [("path", .string(path)), ("effects", .int(Int64(session.effects.count)))])
            }
            if run.options.keepPlan { run.keptPlan = try ReviewedPlan.shown(plan, redactor: run.redactor) }
        } catch {
            run.lateFailure = "cannot save the plan: \(error)"
            run.status = .failed
            run.exit = .failed
        }
    }
}
