// Test hooks of the reliability campaigns: where a run stops itself (docs/reliability.md).

import RunbookSupport

/// Where the reliability campaigns stop a process (environment variables, read once; for
/// tests only):
///
///   RUNBOOK_CRASH_AFTER_EFFECT=N   SIGKILL right after effect N is applied (LiveExecutor)
///   RUNBOOK_CRASH_BEFORE_EFFECT=N  SIGKILL right after effect N's intent is journaled, before
///                                  it is applied (undo sees an intent without an outcome)
///   RUNBOOK_SIGNAL_AFTER_EFFECT=N  SIGTERM to itself right after effect N is applied
///   RUNBOOK_SIGNAL_AT_STEP=N       SIGTERM to itself right as the Nth step starts
///   RUNBOOK_CRASH_AFTER_UNDONE=N   SIGKILL right after the Nth effect is undone (by the
///                                  automatic undo of a failed run or by `runbook undo`)
///   RUNBOOK_PAUSE_AFTER_EFFECT=N   SIGSTOP to itself right after effect N: the fault campaign
///                                  breaks a dependency, then sends SIGCONT
package struct FaultHooks {
    package var crashAfterEffect: Int?
    package var crashBeforeEffect: Int?
    package var signalAfterEffect: Int?
    package var signalAtStep: Int?
    package var crashAfterUndone: Int?
    package var pauseAfterEffect: Int?

    package static let fromEnvironment: FaultHooks? = {
        func number(_ name: String) -> Int? { Posix.environment(name).flatMap { Int($0) } }
        let hooks = FaultHooks(crashAfterEffect: number("RUNBOOK_CRASH_AFTER_EFFECT"),
                               crashBeforeEffect: number("RUNBOOK_CRASH_BEFORE_EFFECT"),
                               signalAfterEffect: number("RUNBOOK_SIGNAL_AFTER_EFFECT"),
                               signalAtStep: number("RUNBOOK_SIGNAL_AT_STEP"),
                               crashAfterUndone: number("RUNBOOK_CRASH_AFTER_UNDONE"),
                               pauseAfterEffect: number("RUNBOOK_PAUSE_AFTER_EFFECT"))
        let none = hooks.crashAfterEffect == nil && hooks.crashBeforeEffect == nil && hooks.signalAfterEffect == nil && hooks.signalAtStep == nil
            && hooks.crashAfterUndone == nil && hooks.pauseAfterEffect == nil
        return none ? nil : hooks
    }()
}
