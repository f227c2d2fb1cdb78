// The state of one run that primitives reach: mode, paths, the executor, the current step,
// hooks and locks. Primitives build effects and hand them to `perform`.

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookSupport

public final class RunSession {
    public enum Phase { case loading, running, failing, finished }

    public let id: String
    /// This host's paths, or (inside `on(HOST, ...)`) that host's.
    public var paths: RootedPaths { otherHost?.paths ?? localPaths }
    /// The files as this run sees them, here or on the host `on` names.
    public var view: FileSystemView { otherHost?.view ?? localView }
    private let localPaths: RootedPaths
    private let localView: FileSystemView
    public let databases: DatabaseConnections
    public let redactor: Redactor
    /// How system commands are spelled here, or on the host `on` names.
    public var platform: PlatformAdapter { otherHost?.platform ?? localPlatform }
    private let localPlatform: PlatformAdapter
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
    /// `view` with what the run has learned about directories (fs reads through it).
    package var files: CachingFileView { otherHost?.files ?? localFiles }
    private let localFiles: CachingFileView

    /// The agents of the other hosts this run reached (`on(HOST, ...)`).
    package var agents: AgentConnections?
    /// The host primitives act on now: nil for this one.
    package private(set) var currentHost: String?
    private var otherHost: OtherHostBinding?
    private var otherHostBindings: [String: OtherHostBinding] = [:]

    /// Forgets what `files` knows of directories: something outside `perform` (an undo) may
    /// have removed or filled them.
    package func forgetKnownDirectories() {
        localFiles.forgetAll()
        for binding in otherHostBindings.values { binding.files.forgetAll() }
    }

    /// Runs `body` with every primitive acting on `host` (`on(HOST, function() ... end)`);
    /// nested calls name the inner host. The host is reached before `body` runs: one line
    /// naming it and the reason when it cannot be.
    package func on<T>(_ host: String, _ body: () throws -> T) throws -> T {
        let binding = try bindingFor(host)
        let outer = (currentHost, otherHost)
        (currentHost, otherHost) = (host, binding)
        defer { (currentHost, otherHost) = outer }
        return try body()
    }

    // MARK: parallel

    /// What a branch of `parallel` has of its own while the others take their turns: the
    /// host `on` names for it and its label on the console.
    package struct BranchContext {
        fileprivate var host: String?
        fileprivate var binding: OtherHostBinding?
        package var label: String?
    }

    package var branchContext: BranchContext {
        get { BranchContext(host: currentHost, binding: otherHost, label: output.branch) }
        set { (currentHost, otherHost, output.branch) = (newValue.host, newValue.binding, newValue.label) }
    }

    /// Set when a branch of the running `parallel` failed: the other branches stop at their
    /// next call (each finishes the effect it is in).
    package var failedBranch: String?

    /// This run's agents, made on first use.
    private func agentConnections() -> AgentConnections {
        if let agents { return agents }
        let agents = AgentConnections(config: config, runID: id)
        agents.onLost = { [weak self] error in self?.stopRun(because: error) }
        self.agents = agents
        (executor as? LiveExecutor)?.world.otherHosts = agents
        return agents
    }

    /// The folder on `host` where its agent keeps what this run replaced there (reached
    /// now if it was not yet).
    package func agentStateDirectory(on host: String) throws -> String {
        let agents = agentConnections()
        try agents.connect(host)
        guard let state = agents.stateDirectories[host] else { throw LuaHostFailure("host \(host) did not say where it keeps its state") }
        return state + "/agent/" + id
    }

    private func bindingFor(_ host: String) throws -> OtherHostBinding {
        if let binding = otherHostBindings[host] { return binding }
        let agents = agentConnections()
        let root = try agents.connect(host)
        let paths = RootedPaths(anotherHostsRoot: root)
        var view: FileSystemView = OtherHostFileSystem(host: host, agents: agents)
        if let plan = executor as? PlanExecutor {
            // A dry-run plans that host's changes over its real files.
            let overlay = Overlay(over: view)
            overlay.runProgram = { argv, input, timeout in try agents.exec(argv, input: input, timeout: timeout, on: host) }
            plan.overlay.otherHosts[host] = overlay
            view = overlay
        }
        let binding = OtherHostBinding(paths: paths, view: view, files: CachingFileView(view: view, paths: paths),
                                       platform: agents.platforms[host] ?? localPlatform)
        otherHostBindings[host] = binding
        return binding
    }


    /// Runs a program that only reads (real in a dry-run too, never journaled) here, or on
    /// the host `on` names, through its agent.
    package func runRead(_ argv: [String], input: [UInt8] = [], timeout: Double?) throws -> ProcessResult {
        guard let currentHost, let agents else { return try ProcessRunner.run(argv, input: input, timeout: timeout) }
        return try agents.exec(argv, input: input, timeout: timeout, on: currentHost)
    }

    /// `runRead` as a ProgramReader, for the reads Core and Support make (addresses, mounts, crontabs).
    package var reading: ProgramReader { { [self] argv, timeout in try runRead(argv, timeout: timeout) } }

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
        localPlatform = PlatformAdapter(kind: config.platform)
        self.id = id
        localPaths = paths
        localView = view
        localFiles = CachingFileView(view: view, paths: paths)
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

    /// The highest seq given to an effect inside `parallel` (effects.count lags there: the
    /// effects in flight are not in it yet).
    private var highestParallelSeq = 0

    /// Applies (or plans) one effect and reports it.
    @discardableResult
    public func perform(_ effect: any Effect) throws -> EffectOutcome {
        try requireRunning(effect.kind)
        files.note(effect)
        var effect = effect
        if let currentHost, !(effect is any DatabaseServerEffect) {
            guard let there = OnHost(effect, host: currentHost, run: id) else {
                throw LuaHostFailure("\(effect.kind) cannot run on another host yet: call it outside on(\"\(currentHost)\", ...)")
            }
            for argv in (effect as? any WireEffect)?.commandLines ?? [] {
                if let problem = ChildEnvironment.secretOnCommandLine(argv, host: currentHost) {
                    throw LuaHostFailure("\(effect.kind): \(problem)")
                }
            }
            effect = there
        }
        // Inside `parallel` a branch starts its effect while another's is still in flight (the
        // gate is let go while an agent answers or the journal syncs): each gets its own seq.
        let seq = max(effects.count, highestParallelSeq) + 1
        if ParallelGate.current != nil { highestParallelSeq = seq }
        var record = EffectRecord(seq: seq, step: currentStep, kind: effect.kind, sign: effect.sign,
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
        for note in outcome.notes { output.log("info", note) }
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

/// What primitives act on inside `on(HOST, ...)`: that host's paths (named here, walked
/// there), its files through its agent (under the plan, in a dry-run), and what the run
/// learned of its directories.
private struct OtherHostBinding {
    let paths: RootedPaths
    let view: FileSystemView
    let files: CachingFileView
    let platform: PlatformAdapter
}
