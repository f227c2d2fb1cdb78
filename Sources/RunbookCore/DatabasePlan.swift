// The databases part of a dry-run's plan: nothing reaches the server in a dry-run, so a
// later read in the same run (does this database exist? which updates has it had?) asks
// the plan first. Database effects record themselves here in `simulate`, as file effects
// record themselves in the overlay; the overlay owns one (`Overlay.databases`).

/// Databases, users and SQL update files a dry-run planned, by connection name. A live run
/// plans nothing, so every answer is "not planned" (nil, false, empty) and reads go to the
/// server.
package final class DatabasePlan {
    private var databases: [String: Bool] = [:]
    private var users: [String: Bool] = [:]
    /// Databases whose content the plan changes (created, or SQL files planned into them).
    private var changed: Set<String> = []
    private var updates: [String: Set<String>] = [:]
    /// Connections the plan sent SQL whose effect it cannot know (db.exec).
    private var opaque: Set<String> = []

    package init() {}

    private func key(_ connection: String, _ name: String) -> String { connection + "\u{0}" + name }

    /// true: planned to exist; false: planned to be dropped; nil: the plan did not touch it.
    package func databaseExists(_ connection: String, _ database: String) -> Bool? { databases[key(connection, database)] }
    /// The same for an account (`'user'@'host'`).
    package func userExists(_ connection: String, _ account: String) -> Bool? { users[key(connection, account)] }
    /// Whether the plan created the database or planned SQL into it.
    package func isChanged(_ connection: String, _ database: String) -> Bool { changed.contains(key(connection, database)) }
    /// The update files the plan applies to the database.
    package func plannedUpdates(_ connection: String, _ database: String) -> Set<String> { updates[key(connection, database)] ?? [] }

    package func setDatabase(_ connection: String, _ database: String, exists: Bool) {
        databases[key(connection, database)] = exists
        if exists { changed.insert(key(connection, database)) } else { changed.remove(key(connection, database)) }
        updates[key(connection, database)] = nil
    }
    package func setUser(_ connection: String, _ account: String, exists: Bool) { users[key(connection, account)] = exists }
    /// Whether the plan holds SQL on `connection` that may have done anything (db.exec).
    package func hasOpaqueChanges(_ connection: String) -> Bool { opaque.contains(connection) }
    package func markOpaque(_ connection: String) { opaque.insert(connection) }
    package func markChanged(_ connection: String, _ database: String) { changed.insert(key(connection, database)) }
    package func addPlannedUpdate(_ connection: String, _ database: String, file: String) {
        updates[key(connection, database), default: []].insert(file)
        changed.insert(key(connection, database))
    }
}
