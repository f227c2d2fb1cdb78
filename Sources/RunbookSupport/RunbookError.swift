// The engine's typed errors and the exit codes they map to.

/// Exit codes are part of the interface (cron lines and scripts depend on them).
public enum ExitStatus: Int32, Sendable {
    case done = 0
    case failed = 1
    case usage = 2
    case locked = 3
    case interrupted = 130
}

/// An error that ends a command with a specific exit status and one clear line.
public enum RunbookError: Error, CustomStringConvertible {
    /// Bad invocation or arguments: nothing was touched.
    case usage(String)
    /// A lock is held by another run.
    case locked(String)
    /// The runbook failed (after its failure path ran).
    case failed(String)
    case interrupted(String)

    public var description: String {
        switch self {
        case .usage(let message), .locked(let message), .failed(let message), .interrupted(let message): return message
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .usage: return .usage
        case .locked: return .locked
        case .failed: return .failed
        case .interrupted: return .interrupted
        }
    }
}
