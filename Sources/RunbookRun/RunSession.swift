// The state of one run that primitives reach: mode, paths, the executor, the current step,
// hooks and locks. Primitives build effects and hand them to `perform`.

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookSupport

public final class RunSession {
    public enum Phase { case loading, running, failing, finished }

    public let id: String
    public let paths: RootedPaths
    public let view: FileSystemView
    public let databases: DatabaseConnections
    public let redactor: Redactor
    public let platform: PlatformAdapter
    /// The engine's configuration (hosts, sendmail, settings).
    public let config: EngineConfig
    package let executor: EffectExecutor
    package let output: RunOutput
    package let locks: LockManager?
    package var phase: Phase = .loading
    /// The runbook's Lua state, stopped by `stopRun`.
    package weak var lua: LuaState?
    /// The first failure the run had to end on, whatever the runbook did with its error.
    package private(set) var fatalFailure: (any Error)?

    /// Step names, outermost first (steps may nest).
    package private(set) var steps: [String] = [] {
        // Joined once per step, not once per effect.
        didSet { currentStep = steps.isEmpty ? "(outside any step)" : steps.joined(separator: " / ") }
    }
    private var stepCount = 0
    package private(set) var effects: [EffectRecord] = []
    package var effectsInCurrentStep = 0
    package var cleanupHooks: [LuaRef] = []
    /// service.reload calls waiting for the end of the step.
    package var pendingReloads: [PendingReload] = []
    package var finallyHooks: [LuaRef] = []
    /// The real path of the directory fs.mkdir last made or found, and the existing parent
    /// it last looked up, while no effect that could remove or change them has run since:
    /// a loop of fs.mkdir and fs.symlink looks each up once (W1, docs/performance.md).
    package var knownDirectory: String?
    package var knownParent: (path: String, info: FileInfo, modesExact: Bool)?

    /// The directory fs.mkdir has just created in this run, and the paths the run has put in
    /// it since: nothing else is there but what another process may add meanwhile, and that
    /// makes mkdir(2) or symlink(2) fail with EEXIST, not be replaced. So a new name in it
    /// is not looked up (W1: a site's folder, then its link).
    private var freshDirectory: String?
    private var freshEntries: [String] = []

    /// Forgets what it knows of directories: something outside `perform` (an undo) may have
    /// removed or filled them.
    package func forgetKnownDirectories() {
        paths.forgetOpenedDirectories()
        knownDirectory = nil
        knownParent = nil
        freshDirectory = nil
    }

    /// `real` is the directory fs.mkdir has just created (an effect of this run).
    package func createdDirectory(_ real: String) {
        freshDirectory = real
        freshEntries.removeAll(keepingCapacity: true)
    }

    /// True when `real` is known not to exist without looking: a path in the directory the
    /// run has just created that the run has not made since.
    package func isKnownAbsent(_ real: String) -> Bool {
        guard let freshDirectory, PathName.isEntry(real, of: freshDirectory) else { return false }
        return !freshEntries.contains(real)
    }

    /// Keeps the knowledge above true across the run's own effects: a file, link or directory
    /// made in the fresh directory is remembered; any other effect forgets it all.
    private func noteEffect(_ effect: any Effect) {
        guard let made = effect.newEntry else { return forgetKnownDirectories() }
        guard freshDirectory != nil else { return }
        // A few names (a site's links and files) are checked by a linear search; a loop that
        // fills the directory with thousands would make that quadratic, so past 32 the
        // directory is no longer "fresh" and its names are looked up on disk again.
        if freshEntries.count >= 32 { freshDirectory = nil } else { freshEntries.append(made) }
    }
    /// The reviewed plan the run is held to (`--plan-file`), and the first difference found.
    package var reviewed: ReviewedPlan?
    package private(set) var divergence: String?

    public var isDryRun: Bool { executor.isDryRun }
    /// Databases and users this run planned (a dry-run's), consulted before the server.
    package var plannedDatabases: DatabasePlan { executor.plannedDatabases }

    package init(id: String, paths: RootedPaths, view: FileSystemView, databases: DatabaseConnections, redactor: Redactor,
         executor: EffectExecutor, output: RunOutput, locks: LockManager?, config: EngineConfig)
    {
        self.config = config
        platform = PlatformAdapter(kind: config.platform)
        self.id = id
        self.paths = paths
        self.view = view
        self.databases = databases
        self.redactor = redactor
        self.executor = executor
        self.output = output
        self.locks = locks
    }

    public private(set) var currentStep = "(outside any step)"

    /// Ends the run because of `error` (a lock it cannot take, an intent the journal cannot
    /// take), which the caller then throws: the script is stopped, so a runbook that
    /// catches the error (pcall, xpcall, a coroutine) gets it back at once and cannot go on,
    /// and the failure path runs. On the failure path itself it is an ordinary error: the
    /// run fails already, and the other hooks still run.
    package func stopRun(because error: any Error) {
        guard phase == .running else { return }
        if fatalFailure == nil { fatalFailure = error }
        lua?.stopFatally(error)
    }

    /// Refuses changes while the runbook file is only being loaded (`check`, `describe`).
    package func requireRunning(_ primitive: String) throws {
        guard phase == .running || phase == .failing else {
            throw LuaHostFailure("\(primitive) changes the world and may only be called while the runbook runs (inside run = function ...)")
        }
    }

    /// Applies (or plans) one effect and reports it.
    @discardableResult
    public func perform(_ effect: any Effect) throws -> EffectOutcome {
        try requireRunning(effect.kind)
        noteEffect(effect)
        var record = EffectRecord(seq: effects.count + 1, step: currentStep, kind: effect.kind, sign: effect.sign,
                                  summary: effect.maskedSummary(redactor), identity: effect.identity, result: nil)
        // Held to a reviewed plan: nothing is applied once the run differs from it. The
        // failure path (cleanup hooks, phase .failing) is not part of the plan.
        if let reviewed, phase == .running {
            if let divergence { throw LuaHostFailure(divergence) }
            if let difference = reviewed.difference(reviewed.comparable(record, runID: id, redactor: redactor)) {
                divergence = difference + "; the world changed since the review: stopped before it (\(reviewed.remedy))"
                throw LuaHostFailure(divergence!)
            }
        }
        let outcome: EffectOutcome
        do {
            outcome = try executor.perform(effect, record: record)
        } catch let error as JournalUnwritable {
            stopRun(because: error)
            throw error
        }
        record.result = outcome.result
        effects.append(record)
        effectsInCurrentStep += 1
        output.effect(record, dryRun: isDryRun)
        return outcome
    }

    /// A primitive found the world already as asked: logged, no effect.
    public func noChange(_ summary: String) { output.noChange(summary) }

    // MARK: Steps

    package func beginStep(_ name: String) -> (index: Int, started: Double, outerCount: Int) {
        stepCount += 1
        steps.append(name)
        let outer = effectsInCurrentStep
        effectsInCurrentStep = 0
        output.stepStarted(currentStep, index: stepCount)
        return (stepCount, Clock.monotonic(), outer)
    }

    package func endStep(_ token: (index: Int, started: Double, outerCount: Int), failure: String?) {
        output.stepFinished(currentStep, failed: failure, duration: Clock.monotonic() - token.started, effects: effectsInCurrentStep)
        if let journal = output.journal { isDryRun ? journal.flush() : journal.sync() }
        steps.removeLast()
        effectsInCurrentStep += token.outerCount
    }

    /// The path a runbook named, under the root, for an effect.
    public func effectPath(_ path: String) throws -> EffectPath {
        EffectPath(shown: path, real: try paths.real(path))
    }
}
