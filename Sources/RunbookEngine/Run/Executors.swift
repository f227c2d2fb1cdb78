// The two ways to perform an effect: apply it (journaled first) or plan it (overlay).

import LuaBridge

/// Performs effects for a run. Runbook code is the same whichever executor it gets.
public protocol EffectExecutor: AnyObject {
    var isDryRun: Bool { get }
    func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome
}

/// Applies effects, writing each intent (with its undo) to the journal before it happens
/// and its outcome after.
final class LiveExecutor: EffectExecutor {
    let world: World
    let journal: JournalWriter
    /// Effects applied so far, with how to undo each: the failure path reads this.
    private(set) var applied: [(record: EffectRecord, undo: [UndoStep]?)] = []
    /// Test hooks: SIGKILL the process right before or after effect number k (crash campaigns).
    private let crashBefore = FaultHooks.fromEnvironment?.crashBeforeEffect
    private let crashAfter = FaultHooks.fromEnvironment?.crashAfterEffect

    var isDryRun: Bool { false }

    init(world: World, journal: JournalWriter) {
        self.world = world
        self.journal = journal
    }

    /// Drops entries that were undone already (restored after a failed config test).
    func forget(_ seqs: [Int]) { applied.removeAll { seqs.contains($0.record.seq) } }

    /// Why undo data was left out of the journal: it held a secret. The journal masks
    /// secrets, and replaying a masked undo would write "***" into the world (a password
    /// column, a config file), so such an effect cannot be undone from the journal; the
    /// automatic undo of on_failure = "undo" still has the real values in memory.
    static let undoWithheld = "cannot be undone from the journal: its undo data holds a secret, which is never written down"

    /// Writes the undo fields of a journal record: the steps, or null and why.
    private func writeUndo(_ undo: [UndoStep]?, into line: ByteBuffer) {
        guard let undo, !journal.holdsSecret(.array(undo.map(\.json))) else {
            JSON.writeField("undo", .null, into: line)
            if undo != nil { JSON.writeField("undo_withheld", .string(LiveExecutor.undoWithheld), into: line) }
            return
        }
        line.append(literal: #","undo":["#)
        for (index, step) in undo.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            step.write(into: line)
        }
        line.append(UInt8(ascii: "]"))
    }

    func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome {
        let undo = try effect.prepareUndo(world)
        // Write-ahead: an effect the journal does not hold is not applied.
        do {
            try journal.appendIntent(seq: record.seq, sync: journal.durable || undo == nil || effect.reachesAnotherHost) { line in
                record.writeFields(into: line)
                writeUndo(undo, into: line)
            }
        } catch {
            throw JournalUnwritable(description: "\(record.summary): not done, the run's journal cannot record it (\(error))")
        }
        if let crashBefore, crashBefore == record.seq { kill(getpid(), SIGKILL) }
        let outcome: EffectOutcome
        do {
            outcome = try effect.apply(world)
        } catch {
            journal.append("effect_failed", [("seq", .int(Int64(record.seq))), ("error", .string(String(describing: error)))])
            throw error
        }
        // The outcome goes out with the next record (the next effect's intent, as a rule) or
        // within 0.2 s: one write(2) per effect instead of two (W1, W4 in
        // docs/performance.md). If the process dies first, undo finds an intent without an
        // outcome and undoes it as "may have happened" — as after a death between the effect
        // and its record. An outcome that changes the undo is written at once.
        let holdBack = outcome.undo == nil && !journal.durable
        journal.append("applied", seq: record.seq, holdBack: holdBack) { line in
            if let result = outcome.result { JSON.writeField("result", result, into: line) }
            if let newUndo = outcome.undo { writeUndo(newUndo, into: line) }
        }
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
struct JournalUnwritable: Error, CustomStringConvertible {
    var description: String
}

/// Records effects in the plan and lays them over the real filesystem; writes nothing.
final class PlanExecutor: EffectExecutor {
    let overlay: Overlay
    var isDryRun: Bool { true }

    init(overlay: Overlay) { self.overlay = overlay }

    func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome {
        effect.simulate(overlay)
    }
}
