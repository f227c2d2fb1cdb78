// What the lines of a run's journal are. The same names are the `event` of the --json
// stream (docs/events.md); a few kinds are --json events only and never journaled.

/// The kind of one journal record: its "t". The raw values are the on-disk format and never
/// change (`runbook log` and `runbook undo` read journals of older runs).
public enum JournalRecordKind: String, Sendable, CaseIterable {
    case runStarted = "run_started"
    case stepStarted = "step_started"
    case stepFinished = "step_finished"
    /// An effect about to be applied, with its undo: written (and fsynced when needed)
    /// before the effect is applied.
    case intent
    /// The effect was applied: its result, and its undo when applying taught it more.
    case applied
    /// A dry-run's effect (the plan has no intents).
    case effectPlanned = "effect_planned"
    /// --json only: a real run's effect (the journal has its intent and `applied`).
    case effectApplied = "effect_applied"
    case effectFailed = "effect_failed"
    case noChange = "no_change"
    case log
    case progress
    case hookRan = "hook_ran"
    case hookFailed = "hook_failed"
    case runFailing = "run_failing"
    case runFinished = "run_finished"
    case planSaved = "plan_saved"
    case undoStarted = "undo_started"
    /// What `undo --dry-run` would do for one effect.
    case undoPlanned = "undo_planned"
    case undoFinished = "undo_finished"
    /// An effect undone (its `seq`; the summary is the intent's).
    case undone
    /// --json only (and a journal's line when the undo has no seq): an effect undone.
    case effectUndone = "effect_undone"
    case undoFailed = "undo_failed"
    case undoSkipped = "undo_skipped"
}
