// The two ways to perform an effect: apply it (journaled first) or plan it (overlay).

import RunbookSupport
import LuaBridge
import RunbookCore
import RunbookJournal

/// Performs effects for a run. Runbook code is the same whichever executor it gets.
package protocol EffectExecutor: AnyObject {
    var isDryRun: Bool { get }
    /// What this run planned of databases so far, for reads that must see it: always
    /// empty for a live run, whose changes are on the server.
    var plannedDatabases: DatabasePlan { get }
    func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome
}

/// Applies effects, writing each intent (with its undo) to the journal before it happens
/// and its outcome after.
package final class LiveExecutor: EffectExecutor {
    package let world: World
    package let journal: JournalWriter
    /// Effects applied so far, with how to undo each: the failure path reads this.
    package private(set) var applied: [(record: EffectRecord, undo: [any UndoAction]?)] = []
    /// Test hooks: SIGKILL the process right before or after effect number k (crash campaigns).
    private let crashBefore = FaultHooks.fromEnvironment?.crashBeforeEffect
    private let crashAfter = FaultHooks.fromEnvironment?.crashAfterEffect

    package var isDryRun: Bool { false }
    package let plannedDatabases = DatabasePlan()

    package init(world: World, journal: JournalWriter) {
        self.world = world
        self.journal = journal
    }

    /// Drops entries that were undone already (restored after a failed config test).
    package func forget(_ seqs: [Int]) { applied.removeAll { seqs.contains($0.record.seq) } }

    /// The applied effects `including` keeps (all of them by default), as entries to undo.
    package func undoEntries(including: (EffectRecord, [any UndoAction]?) -> Bool = { _, _ in true }) -> [UndoEntry] {
        applied.filter { including($0.record, $0.undo) }
            .map { UndoEntry(seq: $0.record.seq, summary: $0.record.summary, undo: $0.undo, uncertain: false) }
    }

    package func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome {
        let undo = try effect.prepareUndo(world)
        // Write-ahead: an effect the journal does not hold is not applied.
        do {
            try journal.intent(record, undo: undo, sync: journal.durable || undo == nil || effect.reachesAnotherHost)
        } catch {
            throw JournalUnwritable(description: "\(record.summary): not done, the run's journal cannot record it (\(error))")
        }
        if let crashBefore, crashBefore == record.seq { kill(getpid(), SIGKILL) }
        let outcome: EffectOutcome
        do {
            outcome = try effect.apply(world)
        } catch {
            journal.effectFailed(seq: record.seq, error: error)
            throw error
        }
        journal.applied(seq: record.seq, result: outcome.result, undo: outcome.undo)
        var appliedRecord = record
        appliedRecord.result = outcome.result
        applied.append((appliedRecord, outcome.undo ?? undo))
        // What a crash right here leaves: the journal as written, nothing flushed for it.
        if let crashAfter, crashAfter == record.seq { kill(getpid(), SIGKILL) }
        return outcome
    }
}

/// An effect's intent the journal could not take: the effect was not applied, and the run
/// ends (RunSession.stopRun), since nothing more can be applied safely.
package struct JournalUnwritable: Error, CustomStringConvertible {
    package var description: String
}

/// Records effects in the plan and lays them over the real filesystem; writes nothing.
package final class PlanExecutor: EffectExecutor {
    package let overlay: Overlay
    package var isDryRun: Bool { true }
    package var plannedDatabases: DatabasePlan { overlay.databases }

    package init(overlay: Overlay) { self.overlay = overlay }

    package func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome {
        try effect.simulate(overlay)
    }
}
