// The two ways to perform an effect: apply it (journaled first) or plan it (overlay).

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
    /// Test hook: SIGKILL the process right after effect number k (crash campaigns).
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

    /// The undo fields of a journal record: the steps, or null and why.
    private func journaled(_ undo: [UndoStep]?) -> [(String, JSON)] {
        guard let undo else { return [("undo", .null)] }
        let json = JSON.array(undo.map(\.json))
        if journal.holdsSecret(json) { return [("undo", .null), ("undo_withheld", .string(LiveExecutor.undoWithheld))] }
        return [("undo", json)]
    }

    func perform(_ effect: any Effect, record: EffectRecord) throws -> EffectOutcome {
        let undo = try effect.prepareUndo(world)
        var intent = record.json.objectValue ?? []
        intent.append(contentsOf: journaled(undo))
        journal.append("intent", intent)
        if journal.durable || undo == nil || effect.reachesAnotherHost { journal.sync() }
        let outcome: EffectOutcome
        do {
            outcome = try effect.apply(world)
        } catch {
            journal.append("effect_failed", [("seq", .int(Int64(record.seq))), ("error", .string(String(describing: error)))])
            throw error
        }
        var done: [(String, JSON)] = [("seq", .int(Int64(record.seq)))]
        if let result = outcome.result { done.append(("result", result)) }
        if let newUndo = outcome.undo { done.append(contentsOf: journaled(newUndo)) }
        journal.append("applied", done)
        var appliedRecord = record
        appliedRecord.result = outcome.result
        applied.append((appliedRecord, outcome.undo ?? undo))
        if let crashAfter, crashAfter == record.seq {
            journal.sync()
            kill(getpid(), SIGKILL)
        }
        return outcome
    }
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
