// The write-ahead journal of one run: JSON Lines, one write(2) per record, so every
// completed record survives a SIGKILL; fsynced at step boundaries, before effects that
// cannot be undone or reach another host, at the end, and before every effect if durable.

public final class JournalWriter {
    public let path: String
    private let descriptor: Int32
    /// fsync before every effect (power-loss safety, at a measured cost).
    public let durable: Bool
    private let redactor: Redactor

    public init(path: String, durable: Bool, redactor: Redactor) throws {
        self.path = path
        self.durable = durable
        self.redactor = redactor
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SystemError("open journal", path) }
    }

    deinit { close(descriptor) }

    /// Appends one record (secrets masked) with the time it was written.
    public func append(_ type: String, _ fields: [(String, JSON)]) {
        var record: [(String, JSON)] = [("t", .string(type)), ("at", .string(Clock.iso8601(Clock.wall())))]
        record.append(contentsOf: fields)
        let line = redactor.mask(JSON.object(record).serialized) + "\n"
        // A journal that cannot be written is reported by the next sync; the run goes on
        // only as far as the caller decides.
        _ = try? Posix.writeAll(descriptor, Array(line.utf8), path: path)
    }

    public func sync() { fsync(descriptor) }

    /// True when writing `value` would mask a secret in it: the journal would then hold
    /// "***" where the value was, so it cannot be replayed (undo data).
    public func holdsSecret(_ value: JSON) -> Bool {
        let text = value.serialized
        return redactor.mask(text) != text
    }
}

/// Reads a journal back (for undo, log and history).
public enum JournalReader {
    public static func records(_ path: String) throws -> [JSON] {
        let text = try Posix.readText(path)
        var records: [JSON] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            // A torn last line (killed mid-write) is ignored; everything before it counts.
            if let record = try? JSON.parse(String(line)) { records.append(record) }
        }
        return records
    }
}
