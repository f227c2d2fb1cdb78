// Effects are values: what a primitive will change, how to apply it and how to undo it.

import RunbookSupport

/// How a plan line is marked, like a diff.
public enum ChangeSign: String, Sendable {
    case create = "+"
    case change = "~"
    case remove = "-"
    /// Cannot be undone (mail sent, a command without an undo).
    case irreversible = "!"
}

/// One change to the world. Built by a primitive (which reads the current state through the
/// run's view, so a dry-run sees earlier planned changes), then either applied by the live
/// executor or recorded by the planning executor — runbook code is the same in both modes.
public protocol Effect {
    /// The primitive's name, "fs.mkdir".
    var kind: String { get }
    var sign: ChangeSign { get }
    /// One line for the plan and the log; secrets are never part of it.
    var summary: String { get }
    /// The summary with the run's secrets masked. Effects that shorten long values must
    /// mask them first: a secret cut to "abc..." no longer matches the redactor.
    func maskedSummary(_ redactor: Redactor) -> String
    /// What is changed, as data: journaled, printed with --json, compared between a dry-run
    /// and a real run. No secrets.
    var identity: JSON { get }
    /// Effects that reach another host make the journal fsync first.
    var reachesAnotherHost: Bool { get }
    /// The real path of the one directory, link or file the effect makes (or replaces) in
    /// place, when that is all it changes: RunSession keeps what it knows of directories
    /// across such an effect and forgets it across any other.
    var newEntry: String? { get }

    /// Reads the state the effect will change and returns how to put it back (saving
    /// overwritten files under `world.backups`). nil: it cannot be undone.
    func prepareUndo(_ world: World) throws -> [any UndoAction]?
    /// Changes the world. The result is handed back to the runbook (an inserted id, ...);
    /// `undo` replaces the prepared undo when applying taught it more.
    func apply(_ world: World) throws -> EffectOutcome
    /// Records the change in the dry-run overlay; returns the result the runbook sees.
    func simulate(_ overlay: Overlay) -> EffectOutcome
}

extension Effect {
    public var reachesAnotherHost: Bool { false }
    public var newEntry: String? { nil }
    public func maskedSummary(_ redactor: Redactor) -> String { redactor.mask(summary) }
    public func simulate(_ overlay: Overlay) -> EffectOutcome { EffectOutcome() }
}

/// What applying an effect produced.
public struct EffectOutcome {
    public var result: JSON?
    public var undo: [any UndoAction]?
    public init(result: JSON? = nil, undo: [any UndoAction]? = nil) {
        self.result = result
        self.undo = undo
    }
}

/// What an effect may touch while it is applied or undone.
public final class World {
    public let paths: RootedPaths
    /// Where overwritten and removed files are kept for undo (in the run's journal folder).
    public let backups: BackupStore
    public let databases: DatabaseConnections
    public let platform: PlatformAdapter

    public init(paths: RootedPaths, backups: BackupStore, databases: DatabaseConnections,
                platform: PlatformAdapter = PlatformAdapter())
    {
        self.paths = paths
        self.backups = backups
        self.databases = databases
        self.platform = platform
    }
}
