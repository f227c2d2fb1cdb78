// Who holds a lock on the lock database. MySQL's GET_LOCK says only that a lock is taken,
// not by whom; so a run that takes one also writes who it is (run, pid, user@host, since)
// into the table runbook_lock_holders of that database, and a run refused the lock reads
// it back to name the holder. The row may outlive its run (a SIGKILL): it is read only
// while GET_LOCK says the lock is held, and the next holder overwrites it.

import MySQLClient

enum LockHolders {
    static let table = "runbook_lock_holders"

    /// Notes `who` as the holder of `name`; a database that refuses (no default database,
    /// no CREATE right) just leaves the refusal unnamed.
    static func record(_ name: String, who: String, on connection: Connection) {
        _ = try? connection.query("""
            CREATE TABLE IF NOT EXISTS \(table) (name VARCHAR(200) NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL,
              since TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)
            """)
        _ = try? connection.query("REPLACE INTO \(table) (name, holder) VALUES (?, ?)", [.string(name), .string(String(who.prefix(255)))])
    }

    /// The holder noted for `name`, if any.
    static func holder(of name: String, on connection: Connection) -> String? {
        (try? connection.query("SELECT holder FROM \(table) WHERE name = ?", [.string(name)]))?.first?[0].string
    }
}
