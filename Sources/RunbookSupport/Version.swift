// The engine's version, shown by `runbook --version` and recorded in every run's log.

public enum RunbookVersion {
    public static let current = "0.1.0"
}
