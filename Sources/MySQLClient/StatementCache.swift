// StatementCache: a connection's prepared statements, keyed by SQL text, least recently used out.

/// Keeps up to `capacity` prepared statements so `Connection.execute`/`query` prepare
/// each distinct SQL text once. A full cache evicts the statement unused for longest;
/// eviction frees it on the server (StatementHandle's deinit).
///
/// A linear scan for the oldest entry is fine at this size (it runs only when a new
/// statement is prepared into a full cache, next to a server round trip), and it keeps
/// lookups to one dictionary access. The statement used last is checked first: loops
/// run the same SQL over and over, and comparing two strings is much cheaper than
/// hashing one.
struct StatementCache {
    let capacity: Int
    private var entries: [String: StatementHandle] = [:]
    private var mostRecent: StatementHandle?
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 0)
    }

    var count: Int { entries.count }

    /// The cached statement for `sql`, marked as just used.
    mutating func statement(for sql: String) -> StatementHandle? {
        clock &+= 1
        if let recent = mostRecent, recent.sql == sql {
            recent.lastUsed = clock
            return recent
        }
        guard let handle = entries[sql] else { return nil }
        handle.lastUsed = clock
        mostRecent = handle
        return handle
    }

    /// Adds a freshly prepared statement, evicting the least recently used one if full.
    /// With capacity 0 nothing is kept.
    mutating func insert(_ handle: StatementHandle) {
        guard capacity > 0 else { return }
        if entries[handle.sql] == nil, entries.count >= capacity,
            let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })
        {
            entries[oldest.key] = nil
        }
        clock &+= 1
        handle.lastUsed = clock
        entries[handle.sql] = handle
        mostRecent = handle
    }

    /// Drops the statement for `sql` (after a connection-level error).
    mutating func remove(_ sql: String) {
        entries[sql] = nil
        if mostRecent?.sql == sql { mostRecent = nil }
    }

    /// Closes every cached statement; must run while the connection is still open.
    mutating func removeAll() {
        for handle in entries.values { handle.close() }
        entries.removeAll()
        mostRecent = nil
    }
}
