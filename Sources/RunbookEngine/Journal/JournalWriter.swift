// The write-ahead journal of one run: JSON Lines, written with write(2) as records are
// appended, so every completed record survives a SIGKILL; fsynced at step boundaries, before
// effects that cannot be undone or reach another host, at the end, and before every effect
// if durable. An effect's `applied` record may be held back: it goes out in one write(2)
// with the next record, or within 0.2 s (docs/performance.md).

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
    public func append(_ type: String, _ fields: [(String, JSON)], holdBack: Bool = false) {
        var seq: Int?
        var rest = fields[...]
        if let first = fields.first, first.0 == "seq", let number = first.1.intValue {
            seq = Int(number)
            rest = fields.dropFirst()
        }
        append(type, seq: seq, holdBack: holdBack) { line in
            for (key, value) in rest { JSON.writeField(key, value, into: line) }
        }
    }

    /// Appends one record: its `seq` (the effect it is about) when given, then the fields
    /// `writeFields` writes (`,"key":value` each) straight into the line: an effect's intent
    /// is the hottest path of a real run, and building its JSON value first cost more than
    /// writing it (docs/performance.md).
    func append(_ type: String, seq: Int? = nil, holdBack: Bool = false, fields writeFields: (ByteBuffer) -> Void) {
        makeLine(type, seq: seq, fields: writeFields)
        // A record that cannot be written (a full disk) is lost; an intent never is
        // (appendIntent).
        if holdBack || holdsEveryRecord { file.hold(line.bytes) } else { try? file.write(line.bytes) }
        if let hooks { fire(hooks, type, seq) }
    }

    /// Appends an effect's intent, written at once and fsynced when `sync`: the effect may
    /// be applied only if this returns. Throws when the journal cannot take it (a full disk,
    /// a file size limit, an I/O error).
    func appendIntent(seq: Int, sync: Bool, fields writeFields: (ByteBuffer) -> Void) throws {
        makeLine("intent", seq: seq, fields: writeFields)
        try file.write(line.bytes)
        if sync, fsync(descriptor) != 0 { throw SystemError("fsync", path) }
        if let hooks { fire(hooks, "intent", seq) }
    }

    /// The record in `line`: the bytes of JSON.object([("t", type), ("at", time)] +
    /// fields).serialized, in one buffer kept from record to record. The masking round
    /// trip through a String is only taken when the run has secrets.
    private func makeLine(_ type: String, seq: Int?, fields writeFields: (ByteBuffer) -> Void) {
        line.removeAll()
        line.append(literal: #"{"t":"#)
        JSON.writeString(type, into: line)
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

    /// Writes the held-back records, if any.
    public func flush() { file.flush() }

    /// The campaigns' crash and interrupt points, taken right after the record that marks
    /// them is appended; what is held back stays held, as it would in a real crash there.
    private func fire(_ hooks: FaultHooks, _ type: String, _ seq: Int?) {
        switch type {
        case "applied":
            if let n = hooks.signalAfterEffect, seq == n { raise(SIGTERM) }
            if let n = hooks.pauseAfterEffect, seq == n { raise(SIGSTOP) }
        case "step_started":
            stepsStarted += 1
            if let n = hooks.signalAtStep, stepsStarted == n { raise(SIGTERM) }
        case "undone":
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

/// Where the reliability campaigns stop a process (environment variables, read once; for
/// tests only):
///
///   RUNBOOK_CRASH_AFTER_EFFECT=N   SIGKILL right after effect N is applied (LiveExecutor)
///   RUNBOOK_CRASH_BEFORE_EFFECT=N  SIGKILL right after effect N's intent is journaled, before
///                                  it is applied (undo sees an intent without an outcome)
///   RUNBOOK_SIGNAL_AFTER_EFFECT=N  SIGTERM to itself right after effect N is applied
///   RUNBOOK_SIGNAL_AT_STEP=N       SIGTERM to itself right as the Nth step starts
///   RUNBOOK_CRASH_AFTER_UNDONE=N   SIGKILL right after the Nth effect is undone (by the
///                                  automatic undo of a failed run or by `runbook undo`)
///   RUNBOOK_PAUSE_AFTER_EFFECT=N   SIGSTOP to itself right after effect N: the fault campaign
///                                  breaks a dependency, then sends SIGCONT
struct FaultHooks {
    var crashAfterEffect: Int?
    var crashBeforeEffect: Int?
    var signalAfterEffect: Int?
    var signalAtStep: Int?
    var crashAfterUndone: Int?
    var pauseAfterEffect: Int?

    static let fromEnvironment: FaultHooks? = {
        func number(_ name: String) -> Int? { Posix.environment(name).flatMap { Int($0) } }
        let hooks = FaultHooks(crashAfterEffect: number("RUNBOOK_CRASH_AFTER_EFFECT"),
                               crashBeforeEffect: number("RUNBOOK_CRASH_BEFORE_EFFECT"),
                               signalAfterEffect: number("RUNBOOK_SIGNAL_AFTER_EFFECT"),
                               signalAtStep: number("RUNBOOK_SIGNAL_AT_STEP"),
                               crashAfterUndone: number("RUNBOOK_CRASH_AFTER_UNDONE"),
                               pauseAfterEffect: number("RUNBOOK_PAUSE_AFTER_EFFECT"))
        let none = hooks.crashAfterEffect == nil && hooks.crashBeforeEffect == nil && hooks.signalAfterEffect == nil && hooks.signalAtStep == nil
            && hooks.crashAfterUndone == nil && hooks.pauseAfterEffect == nil
        return none ? nil : hooks
    }()
}

/// Reads a journal back (for undo, log and history).
public enum JournalReader {
    /// Every record, or (`types`) only records of those types: a line starting with
    /// `{"t":"OTHER"` (as every line the writer makes does) is then not parsed at all.
    /// With `keys`, each record keeps only those fields (and "t").
    public static func records(_ path: String, types: Set<String>? = nil, keys: Set<String>? = nil) throws -> [JSON] {
        var records: [JSON] = []
        try forEach(path, types: types, keys: keys) { records.append($0) }
        return records
    }

    /// Hands each record (as `records` would return them) to `body` as it is parsed, so
    /// a reader that keeps only a little of each (undo) never holds them all.
    public static func forEach(_ path: String, types: Set<String>? = nil, keys: Set<String>? = nil,
                               _ body: (JSON) -> Void) throws {
        // The file's bytes as they are, split on newlines and parsed in place: `runbook
        // undo` spent more time turning a journal into a String, splitting it by Characters
        // and copying each line than in undoing (W1 undo in docs/performance.md). Strings
        // in records decode as before (invalid UTF-8 becomes U+FFFD); a journal line never
        // holds a raw newline or carriage return (the writer escapes them).
        let bytes = try Posix.readFile(path)
        let keys = keys.map { Array($0.union(["t"])) }
        let prefix = Array(#"{"t":""#.utf8)
        bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            var start = 0
            while start < all.count {
                var end = all.count
                if let newline = memchr(base + start, 0x0a, all.count - start) {
                    end = UnsafeRawPointer(newline) - UnsafeRawPointer(base)
                }
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                if end > start, types == nil || wanted(line) {
                    // A torn last line (killed mid-write) is ignored; everything before it counts.
                    if let record = try? JSON.parse(utf8: line, keys: keys),
                       types == nil || (record["t"]?.stringValue).map({ types!.contains($0) }) == true
                    {
                        body(record)
                    }
                }
                start = end + 1
            }
        }

        /// False only for a line that plainly names a type not asked for.
        func wanted(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let types, line.starts(with: prefix) else { return true }
            let rest = line[prefix.count...]
            guard let quote = rest.firstIndex(of: UInt8(ascii: "\"")) else { return true }
            let type = rest[rest.startIndex..<quote]
            // An escaped type is left to the parser.
            if type.contains(UInt8(ascii: "\\")) { return true }
            return types.contains(String(decoding: type, as: UTF8.self))
        }
    }
}
