// "Undo restores the world" as one expectation: snapshot the world, make the change, undo
// it, and compare, with the differences listed item by item. Every world a test builds
// (a sandbox, a demo world, a campaign world) says what its snapshot holds and how a run
// in it is undone; the tests then read as the specification they are.

import Testing
import RunbookEngine

/// A world a test changes with runbooks and expects undo to restore.
package protocol UndoableWorld {
    /// Everything a runbook could change in this world, as comparable text.
    func snapshot() throws -> Fingerprint
    /// The snapshot once it can be compared with `expected` (a world whose servers take a
    /// moment to settle waits for them; the others take it at once).
    func settledSnapshot(like expected: Fingerprint) throws -> Fingerprint
    /// `runbook undo RUN` in this world.
    func undo(_ runID: String) throws -> ChildResult
}

extension UndoableWorld {
    package func settledSnapshot(like expected: Fingerprint) throws -> Fingerprint { try snapshot() }
}

/// Snapshots `world`, runs `change`, undoes the run it returns and expects the world as
/// before, listing what differs. `change` returns the id of the run to undo, or nil when the
/// run has undone itself (on_failure = "undo", an interrupted run). A run to undo must first
/// have changed the world: otherwise the comparison would prove nothing. `ignoring` names
/// "section item" prefixes that may differ (see Fingerprint), `what` says which check this
/// is. Returns the undo's result (nil when there was no run to undo).
@discardableResult
package func expectUndoRestores(_ world: some UndoableWorld, _ what: String = "undo", ignoring: [String] = [],
                                sourceLocation: SourceLocation = #_sourceLocation,
                                _ change: () throws -> String?) throws -> ChildResult?
{
    try expectUndosRestore(world, what, ignoring: ignoring, sourceLocation: sourceLocation) {
        try change().map { [$0] } ?? []
    }.first
}

/// expectUndoRestores for several runs: `change` returns the ids of the runs to undo in the
/// order to undo them (newest first). Returns the undos' results in that order.
@discardableResult
package func expectUndosRestore(_ world: some UndoableWorld, _ what: String = "undo", ignoring: [String] = [],
                                sourceLocation: SourceLocation = #_sourceLocation,
                                _ change: () throws -> [String]) throws -> [ChildResult]
{
    let before = try world.snapshot()
    let runIDs = try change()
    if !runIDs.isEmpty {
        let changed = try world.snapshot()
        #expect(!relevantDifferences(changed, before, ignoring: ignoring).isEmpty,
                "\(what): the runs changed nothing, so undoing them proves nothing", sourceLocation: sourceLocation)
    }
    var undos: [ChildResult] = []
    for runID in runIDs {
        let undo = try world.undo(runID)
        #expect(undo.exitCode == 0, "\(what): runbook undo \(runID) failed\n\(undo)", sourceLocation: sourceLocation)
        undos.append(undo)
    }
    expectSame(before, try world.settledSnapshot(like: before), what, ignoring: ignoring, sourceLocation: sourceLocation)
    return undos
}

/// Snapshots `world`, runs `action` (a dry-run, a refused invocation, an undo --dry-run)
/// and expects the world exactly as before. Returns what `action` returned.
@discardableResult
package func expectUnchanged<Result>(_ world: some UndoableWorld, _ what: String, ignoring: [String] = [],
                                     sourceLocation: SourceLocation = #_sourceLocation,
                                     _ action: () throws -> Result) throws -> Result
{
    let before = try world.snapshot()
    let result = try action()
    expectSame(before, try world.settledSnapshot(like: before), what, ignoring: ignoring, sourceLocation: sourceLocation)
    return result
}

/// Expects `now` to equal `before` apart from the `ignoring` prefixes.
package func expectSame(_ before: Fingerprint, _ now: Fingerprint, _ what: String, ignoring: [String] = [],
                        sourceLocation: SourceLocation = #_sourceLocation)
{
    let differing = relevantDifferences(now, before, ignoring: ignoring)
    #expect(differing.isEmpty, "\(what): the world differs from before:\n\(now.differences(from: before, only: differing))",
            sourceLocation: sourceLocation)
}

/// The "section item" keys that differ, less those `ignoring` allows.
package func relevantDifferences(_ now: Fingerprint, _ before: Fingerprint, ignoring: [String]) -> [String] {
    now.differingKeys(from: before).filter { key in !ignoring.contains { key.hasPrefix($0) } }
}
