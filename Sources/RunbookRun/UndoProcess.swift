// Undoing applied effects, newest first: after a failed run (on_failure = "undo") and for
// `runbook undo RUN_ID`, from the journal of a run that may have crashed.

import RunbookCore
import RunbookJournal
import RunbookSupport

/// One journaled effect and how to undo it.
package struct UndoEntry {
    package var seq: Int
    package var summary: String
    package var undo: [any UndoAction]?
    /// The intent was journaled but not the outcome: it may or may not have happened.
    package var uncertain: Bool
    /// Why there is no undo, when there is a reason beyond "it cannot be undone".
    package var noUndoReason: String? = nil
}

public enum UndoProcess {
    package struct Tally {
        package var undone = 0
        package var failed = 0
        package var irreversible: [String] = []
        /// Effects on hosts declared gone (`--abandon`), by host.
        package var abandoned: [String: Int] = [:]
        package var ok: Bool { failed == 0 }
    }

    /// Undoes `entries` newest first; each outcome goes to the journal and the console.
    /// `abandoned`: hosts declared gone for good; what is owed only there is recorded as
    /// abandoned instead of tried.
    package static func run(_ entries: [UndoEntry], world: World, output: RunOutput, journal: JournalWriter?, dryRun: Bool,
                            abandoned: Set<String> = []) -> Tally {
        var tally = Tally()
        var deferred: [any UndoAction] = []
        // Entries whose undo includes a deferred step (a reload): journaled `undone` only once
        // that step ran, so an undo killed or failing before it leaves them for the next undo
        // (which then reloads the restored configuration instead of skipping it).
        var awaiting: [(entry: UndoEntry, steps: [any UndoAction])] = []
        for entry in entries.sorted(by: { $0.seq > $1.seq }) {
            guard let steps = entry.undo else {
                let reason = entry.noUndoReason ?? "cannot be undone"
                tally.irreversible.append(entry.summary)
                output.undone(entry.summary, failed: reason, seq: entry.seq)
                journal?.undoSkipped(seq: entry.seq, reason: reason)
                continue
            }
            if let host = onlyOn(steps), abandoned.contains(host) {
                tally.abandoned[host, default: 0] += 1
                output.undone(entry.summary, failed: "abandoned: \(host) was declared gone (--abandon \(host)); left as it is there",
                              seq: entry.seq)
                if !dryRun { journal?.abandoned(seq: entry.seq, host: host) }
                continue
            }
            if dryRun {
                for step in steps { output.undoPlanned(step.description, seq: entry.seq) }
                continue
            }
            do {
                var owed: [any UndoAction] = []
                for step in steps {
                    if step.runsLast {
                        owed.append(step)
                        if !deferred.contains(where: { $0.isSame(as: step) }) { deferred.append(step) }
                        continue
                    }
                    try UndoActions.run(step, in: world)
                }
                if !owed.isEmpty {
                    awaiting.append((entry, owed))
                    continue
                }
                succeeded(entry)
            } catch {
                failed(entry, error)
            }
        }
        // Reloads and the like run last, once each, against the restored world.
        var deferredErrors: [(step: any UndoAction, error: Error)] = []
        for step in deferred {
            do {
                try UndoActions.run(step, in: world)
                output.message("  ↺ " + step.description)
            } catch {
                deferredErrors.append((step, error))
            }
        }
        for (entry, owed) in awaiting {
            if let failure = deferredErrors.first(where: { failed in owed.contains { $0.isSame(as: failed.step) } }) {
                failed(entry, failure.error, what: failure.step.description)
            } else {
                succeeded(entry)
            }
        }

        // The journal gets one record per entry (`undone`, `undo_failed`, `undo_skipped`: what
        // `runbook undo` and `runbook log` read, the summary coming from the intent); the
        // events with the summary are for --json.
        func succeeded(_ entry: UndoEntry) {
            journal?.undone(seq: entry.seq)
            output.undone(entry.uncertain ? entry.summary + " (checked: it may not have happened)" : entry.summary, failed: nil,
                          seq: entry.seq)
            tally.undone += 1
        }
        func failed(_ entry: UndoEntry, _ error: Error, what: String? = nil) {
            journal?.undoFailed(seq: entry.seq, error: error, undoing: what)
            output.undone(what ?? entry.summary, failed: String(describing: error), seq: entry.seq)
            tally.failed += 1
        }
        journal?.sync()
        return tally
    }

    /// The host every step runs on, when they all run on one other host.
    private static func onlyOn(_ steps: [any UndoAction]) -> String? {
        let hosts = Set(steps.compactMap { ($0 as? UndoOnHost)?.host })
        guard hosts.count == 1, steps.allSatisfy({ $0 is UndoOnHost }) else { return nil }
        return hosts.first
    }

    /// The record types `entries(fromJournal:)` reads, and the fields of them it reads; it
    /// ignores every other.
    package static let journalTypes: Set<JournalRecordKind> = [.intent, .applied, .undone]
    package static let journalKeys: Set<String> = ["t", "seq", "summary", "undo", "undo_withheld"]

    /// How many effects `runbook undo` would take back, from a journal's records.
    public static func stillApplied(_ records: [JSON]) -> Int { entries(fromJournal: records).count }

    /// What a journal says is applied and not yet undone.
    package static func entries(fromJournal records: [JSON]) -> [UndoEntry] {
        var ledger = Ledger()
        for record in records { ledger.read(record) }
        return ledger.entries
    }

    /// The same, read from the journal file as it is parsed (only the records and fields
    /// undo needs; no record is kept once read).
    package static func entries(fromJournalAt path: String) throws -> [UndoEntry] {
        var ledger = Ledger()
        try JournalReader.forEach(path, types: journalTypes, keys: journalKeys) { ledger.read($0) }
        return ledger.entries
    }

    /// The effects a journal has applied and not undone, record by record.
    private struct Ledger {
        /// In the order of their intents (seq order), with where each seq is.
        private var all: [UndoEntry] = []
        private var position: [Int: Int] = [:]
        private var undone = Set<Int>()

        var entries: [UndoEntry] { undone.isEmpty ? all : all.filter { !undone.contains($0.seq) } }

        mutating func read(_ record: JSON) {
            guard let kind = record.recordKind, let seq = record["seq"]?.intValue.map(Int.init) else { return }
            func steps(_ json: JSON?) -> [any UndoAction]? {
                guard let items = json?.arrayValue else { return nil }
                return items.compactMap(UndoActions.decode)
            }
            switch kind {
            case .intent:
                let entry = UndoEntry(seq: seq, summary: record["summary"]?.stringValue ?? "effect \(seq)",
                                      undo: steps(record["undo"]), uncertain: true,
                                      noUndoReason: record["undo_withheld"]?.stringValue)
                if let index = position[seq] {
                    all[index] = entry
                } else {
                    position[seq] = all.count
                    all.append(entry)
                }
            case .applied:
                guard let index = position[seq] else { return }
                all[index].uncertain = false
                if let replaced = steps(record["undo"]) {
                    all[index].undo = replaced
                    all[index].noUndoReason = nil
                } else if let withheld = record["undo_withheld"]?.stringValue {
                    all[index].undo = nil
                    all[index].noUndoReason = withheld
                }
            case .undone:
                undone.insert(seq)
            default: break
            }
        }
    }
}
