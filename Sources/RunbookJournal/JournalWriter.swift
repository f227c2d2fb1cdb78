// The write-ahead journal of one run: JSON Lines, written with write(2) as records are
// appended, so every completed record survives a SIGKILL; fsynced at step boundaries, before
// effects that cannot be undone or reach another host, at the end, and before every effect
// if durable. An effect's `applied` record may be held back: it goes out in one write(2)
// with the next record, or within 0.2 s (docs/performance.md).

import RunbookCore
import RunbookSupport

public final class JournalWriter {
    public let path: String
    private let descriptor: Int32
    /// fsync before every effect (power-loss safety, at a measured cost).
    public let durable: Bool
    private let redactor: Redactor
    private var stamp = Clock.ISO8601Stamp()
    /// Test hooks of the reliability campaigns (docs/reliability.md); nil in normal use.
    private let hooks = FaultHooks.fromEnvironment
    private var stepsStarted = 0
    private var undoneCount = 0
    /// The journal file; records appended with `holdBack` wait in it.
    private let file: DelayedWriter
    /// The record being made (its room kept from one record to the next).
    private let line = ByteBuffer(capacity: 1024)
    /// A dry-run's journal is a record of the plan, not a write-ahead log (nothing is
    /// applied): its records are written 16 KiB at a time, at the end of every step, by
    /// every sync and within 0.2 s.
    public var holdsEveryRecord = false

    public init(path: String, durable: Bool, redactor: Redactor) throws {
        self.path = path
        self.durable = durable
        self.redactor = redactor
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SystemError("open journal", path) }
        file = DelayedWriter(descriptor: descriptor, path: path)
    }

    deinit {
        file.close()
        close(descriptor)
    }

    /// Appends one record (secrets masked) with the time it was written. With `holdBack`,
    /// the record is written together with the next one (or by the next flush or sync, or
    /// 0.2 s later), saving a write(2): only for a record whose loss in a crash the reader
    /// handles as if the crash came just before it (LiveExecutor).
    public func append(_ kind: JournalRecordKind, _ fields: [(String, JSON)], holdBack: Bool = false) {
        var seq: Int?
        var rest = fields[...]
        if let first = fields.first, first.0 == "seq", let number = first.1.intValue {
            seq = Int(number)
            rest = fields.dropFirst()
        }
        append(kind, seq: seq, holdBack: holdBack) { line in
            for (key, value) in rest { JSON.writeField(key, value, into: line) }
        }
    }

    /// Appends one record: its `seq` (the effect it is about) when given, then the fields
    /// `writeFields` writes (`,"key":value` each) straight into the line: an effect's intent
    /// is the hottest path of a real run, and building its JSON value first cost more than
    /// writing it (docs/performance.md).
    package func append(_ kind: JournalRecordKind, seq: Int? = nil, holdBack: Bool = false, fields writeFields: (ByteBuffer) -> Void) {
        makeLine(kind, seq: seq, fields: writeFields)
        // A record that cannot be written (a full disk) is lost; an intent never is
        // (appendIntent).
        if holdBack || holdsEveryRecord { file.hold(line.bytes) } else { try? file.write(line.bytes) }
        if let hooks { fire(hooks, kind, seq) }
    }

    /// Appends an effect's intent, written at once and fsynced when `sync`: the effect may
    /// be applied only if this returns. Throws when the journal cannot take it (a full disk,
    /// a file size limit, an I/O error).
    package func appendIntent(seq: Int, sync: Bool, fields writeFields: (ByteBuffer) -> Void) throws {
        makeLine(.intent, seq: seq, fields: writeFields)
        try file.write(line.bytes)
        // The wait for the disk lets the other branches of a `parallel` call go on.
        if sync, Blocking.wait({ fsync(descriptor) }) != 0 { throw SystemError("fsync", path) }
        if let hooks { fire(hooks, .intent, seq) }
    }

    /// The record in `line`: the bytes of JSON.object([("t", type), ("at", time)] +
    /// fields).serialized, in one buffer kept from record to record. The masking round
    /// trip through a String is only taken when the run has secrets.
    private func makeLine(_ kind: JournalRecordKind, seq: Int?, fields writeFields: (ByteBuffer) -> Void) {
        line.removeAll()
        line.append(literal: #"{"t":"#)
        JSON.writeString(kind.rawValue, into: line)
        line.append(literal: #","at":""#)
        stamp.append(Clock.wall(), to: line)
        line.append(UInt8(ascii: "\""))
        if let seq {
            line.append(literal: #","seq":"#)
            JSON.writeInteger(Int64(seq), into: line)
        }
        writeFields(line)
        line.append(UInt8(ascii: "}"))
        if !redactor.isEmpty {
            let masked = redactor.mask(line.string)
            line.removeAll()
            line.append(utf8: masked)
        }
        line.append(0x0a)
    }

    // MARK: The records of effects and their undo

    /// Why undo data was left out of the journal: it held a secret. The journal masks
    /// secrets, and replaying a masked undo would write "***" into the world (a password
    /// column, a config file), so such an effect cannot be undone from the journal; the
    /// automatic undo of on_failure = "undo" still has the real values in memory.
    package static let undoWithheld = "cannot be undone from the journal: its undo data holds a secret, which is never written down"

    /// An effect's intent: its record and its undo, written at once (fsynced when `sync`).
    /// The effect may be applied only if this returns.
    package func intent(_ record: EffectRecord, undo: [any UndoAction]?, sync: Bool) throws {
        try appendIntent(seq: record.seq, sync: sync) { line in
            record.writeFields(into: line)
            writeUndo(undo, into: line)
        }
    }

    /// An effect was applied: its result, and its undo when applying replaced it. The record
    /// waits to go out with the next one (the next effect's intent, as a rule) or within
    /// 0.2 s, so an effect costs one write(2), not two; one that changes the undo, or any in a
    /// durable journal, is written at once. If the process dies first, undo finds an intent
    /// without an outcome and undoes it as "may have happened", as after a death between the
    /// effect and its record.
    package func applied(seq: Int, result: JSON?, undo: [any UndoAction]?) {
        applied(seq: seq, result: result, undo: undo, holdBack: undo == nil && !durable)
    }

    /// `applied` with the choice to hold the record back made by the caller (as for `append`).
    package func applied(seq: Int, result: JSON?, undo: [any UndoAction]?, holdBack: Bool) {
        append(.applied, seq: seq, holdBack: holdBack) { line in
            if let result { JSON.writeField("result", result, into: line) }
            if let undo { writeUndo(undo, into: line) }
        }
    }

    package func effectFailed(seq: Int, error: any Error) {
        append(.effectFailed, [("seq", .int(Int64(seq))), ("error", .string(String(describing: error)))])
    }

    /// A dry-run's effect, as planned.
    package func planned(_ record: EffectRecord) {
        append(.effectPlanned, seq: record.seq) { record.writeFields(into: $0) }
    }

    /// The effect `seq` was undone.
    package func undone(seq: Int) { append(.undone, seq: seq) { _ in } }

    /// The effect `seq` was on `host`, declared gone for good (`runbook undo --abandon HOST`):
    /// nothing is owed there any more, and the record says it was not reversed.
    package func abandoned(seq: Int, host: String) { append(.undone, [("seq", .int(Int64(seq))), ("abandoned", .string(host))]) }

    /// Undoing the effect `seq` failed (`undoing`: the step that failed, when it ran last).
    package func undoFailed(seq: Int, error: any Error, undoing: String?) {
        var fields: [(String, JSON)] = [("seq", .int(Int64(seq))), ("error", .string(String(describing: error)))]
        if let undoing { fields.append(("undoing", .string(undoing))) }
        append(.undoFailed, fields)
    }

    /// The effect `seq` has no undo.
    package func undoSkipped(seq: Int, reason: String) {
        append(.undoSkipped, [("seq", .int(Int64(seq))), ("reason", .string(reason))])
    }

    /// Writes the undo fields of a record: the steps, or null and why.
    private func writeUndo(_ undo: [any UndoAction]?, into line: ByteBuffer) {
        guard let undo, !holdsSecret(.array(undo.map(\.json))) else {
            JSON.writeField("undo", .null, into: line)
            if undo != nil { JSON.writeField("undo_withheld", .string(JournalWriter.undoWithheld), into: line) }
            return
        }
        line.append(literal: #","undo":["#)
        for (index, step) in undo.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            step.write(into: line)
        }
        line.append(UInt8(ascii: "]"))
    }

    // MARK: Writing out

    /// Writes the held-back records, if any.
    public func flush() { file.flush() }

    /// The campaigns' crash and interrupt points, taken right after the record that marks
    /// them is appended; what is held back stays held, as it would in a real crash there.
    private func fire(_ hooks: FaultHooks, _ kind: JournalRecordKind, _ seq: Int?) {
        switch kind {
        case .applied:
            if let n = hooks.signalAfterEffect, seq == n { raise(SIGTERM) }
            if let n = hooks.pauseAfterEffect, seq == n { raise(SIGSTOP) }
        case .stepStarted:
            stepsStarted += 1
            if let n = hooks.signalAtStep, stepsStarted == n { raise(SIGTERM) }
        case .undone:
            undoneCount += 1
            // After the record it names is written: the point is "undone and journaled".
            if let n = hooks.crashAfterUndone, undoneCount == n { flush(); kill(getpid(), SIGKILL) }
        default:
            break
        }
    }

    public func sync() {
        flush()
        fsync(descriptor)
    }

    /// True when writing `value` would mask a secret in it: the journal would then hold
    /// "***" where the value was, so it cannot be replayed (undo data).
    public func holdsSecret(_ value: @autoclosure () -> JSON) -> Bool {
        // Without secrets nothing can be masked: the value is not even made (every effect's undo).
        if redactor.isEmpty { return false }
        let text = value().serialized
        return redactor.mask(text) != text
    }
}
