// What a caller asks of one run (dry-run, output, locks, plans) and what it gets back.

import RunbookCore
import RunbookSupport

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

    package init(status: ExitStatus, runID: String? = nil, effects: [EffectRecord], error: String? = nil, plan: ReviewedPlan? = nil) {
        self.status = status
        self.runID = runID
        self.effects = effects
        self.error = error
        self.plan = plan
    }
}
