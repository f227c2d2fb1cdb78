// Where a run stands, as its record (run.json) says and `runbook history` shows it.

/// The status of a run. The raw values are what run.json holds and `--status` takes; they
/// never change (records of older runs hold them).
public enum RunStatus: String, Sendable, CaseIterable, CustomStringConvertible {
    case running
    case succeeded
    /// A dry-run that finished: it changed nothing.
    case planned
    case failed
    case interrupted
    /// Failed, and every change was undone (automatically or by `runbook undo`).
    case undone
    /// `runbook undo` reversed some of its effects and could not reverse the others (run it again).
    case partlyUndone = "partly-undone"
    /// Marked running, but its process is gone (SIGKILL, power loss).
    case crashed
    case undoing
    /// Marked undoing, but the undo's process is gone.
    case undoCrashed = "undo-crashed"
    /// A record whose status this binary does not know (written by a newer one, or damaged).
    case unknown

    /// Every status a run record can have, in the order docs/cli.md lists them.
    public static let known: [RunStatus] = [.running, .succeeded, .planned, .failed, .interrupted, .undone, .partlyUndone,
                                            .crashed, .undoing, .undoCrashed]

    public var description: String { rawValue }

    /// Its process may still be at work: running or undoing.
    public var isTransient: Bool { self == .running || self == .undoing }

    /// What a transient status becomes once its process is gone.
    package var afterItsProcessDied: RunStatus {
        switch self {
        case .running: return .crashed
        case .undoing: return .undoCrashed
        default: return self
        }
    }
}
