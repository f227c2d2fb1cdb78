// Database administration as effects: create and drop databases and users (the guide's
// "Database and db user/pass are created for the install"), with their undo. The Lua side
// is Modules/DbAdminFunctions.swift.
//
// Names cannot be bound as parameters in these statements, so they are validated (letters,
// digits, _ and -) and then quoted. A password cannot be bound either: it is inlined as an
// escaped string literal, and the statement text that carries it never leaves `apply` —
// errors are rebuilt without it (DBError keeps the start of the SQL text).

import LuaBridge
import MySQLClient
import RunbookSupport

// MARK: - Names and secrets

/// Names the administration primitives accept. Each is quoted where it is used.
package enum AdminName {
    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95 || byte == 45
    }

    /// A database name: letters, digits, _ and -, at most 64 characters (MySQL's limit).
    package static func database(_ name: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy(isNameByte) else {
            throw DatabaseFailure("invalid database name '\(name)' (letters, digits, _ and - only, at most 64 characters)")
        }
        return name
    }

    /// A user name: letters, digits, _ and -, at most 80 characters (MariaDB's limit; MySQL's is 32).
    package static func user(_ name: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= 80, name.utf8.allSatisfy(isNameByte) else {
            throw DatabaseFailure("invalid user name '\(name)' (letters, digits, _ and - only, at most 80 characters)")
        }
        return name
    }

    /// The host part of an account: a host name, an IP (v4/v6, optionally /netmask) or a
    /// pattern with %.
    package static func host(_ host: String) throws -> String {
        let allowed = Set(".-_%:/".utf8)
        guard !host.isEmpty, host.utf8.count <= 255, host.utf8.allSatisfy({ isNameByte($0) || allowed.contains($0) }) else {
            throw DatabaseFailure("invalid host '\(host)' for a database account (a host name, an IP address or a pattern with %)")
        }
        return host
    }

    /// `'user'@'host'`: safe to inline, both parts were validated (no quote, no backslash).
    package static func account(_ user: String, _ host: String) -> String { "'\(user)'@'\(host)'" }

    /// `db`.* for a GRANT: in a database-level grant `_` and `%` are wildcards, so `_` is
    /// escaped (`shop_1` must not also match `shopx1`).
    package static func grantTarget(_ database: String) -> String {
        "`" + database.replacingAll("_", with: "\\_") + "`.*"
    }

    package static let systemSchemas: Set<String> = ["mysql", "information_schema", "performance_schema", "sys"]

    /// Privileges a runbook may grant on one database (never GRANT OPTION, never global ones).
    package static let grantable: Set<String> = [
        "ALL", "ALL PRIVILEGES", "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "INDEX", "ALTER",
        "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
        "ALTER ROUTINE", "EVENT", "TRIGGER", "REFERENCES", "DELETE HISTORY",
    ]

    /// "select, insert" -> "SELECT, INSERT"; anything unknown is refused.
    package static func privileges(_ text: String) throws -> String {
        let items = text.split(separator: ",").map { item in
            item.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ").uppercased()
        }
        guard !items.isEmpty, items.allSatisfy(grantable.contains) else {
            throw DatabaseFailure("invalid privileges '\(text)' (a comma-separated list such as \"SELECT, INSERT\" or \"ALL PRIVILEGES\")")
        }
        return items.joined(separator: ", ")
    }

    /// A SQL character set or collation name (`utf8mb4`, `utf8mb4_unicode_ci`).
    package static func charset(_ name: String, what: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= 64,
              name.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 95 })
        else { throw DatabaseFailure("invalid \(what) '\(name)'") }
        return name
    }
}

/// A password on its way to the server. Prints as *** however it is printed or dumped.
package struct SecretText: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package let value: String
    package var description: String { Redactor.mask }
    package var debugDescription: String { Redactor.mask }
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    package init(value: String) {
        self.value = value
    }
}

package enum PasswordGenerator {
    package static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// `length` characters from [A-Za-z0-9], from /dev/urandom, without modulo bias (bytes
    /// of 248 and above are thrown away: 248 = 4 * 62). 32 characters carry 190 bits.
    package static func generate(length: Int = 32) throws -> String {
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open", "/dev/urandom") }
        defer { close(descriptor) }
        var characters: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while characters.count < length {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw SystemError("read", "/dev/urandom") }
            for byte in buffer[0..<count] where byte < 248 && characters.count < length {
                characters.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }
}

// MARK: - Databases

package struct CreateDatabase: Effect {
    package let connection: String
    package let database: String
    package let charset: String?
    package let collation: String?
    package var kind: String { "db.create_database" }
    package var sign: ChangeSign { .create }
    package var summary: String {
        "create database \(database) on \(connection)" + (charset.map { " (character set \($0))" } ?? "")
    }
    package var identity: JSON {
        var fields: [(String, JSON)] = [("connection", .string(connection)), ("database", .string(database))]
        if let charset { fields.append(("charset", .string(charset))) }
        if let collation { fields.append(("collation", .string(collation))) }
        return .object(fields)
    }

    /// No undo before it happened: if the CREATE failed because someone else's database of
    /// that name appeared meanwhile, or the process died before the outcome was journaled,
    /// undo must not drop a database this run may not have created. The drop is journaled
    /// with the outcome, once the CREATE succeeded (see `apply`).
    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    package func apply(_ world: World) throws -> EffectOutcome {
        var sql = "CREATE DATABASE " + (try SQLIdentifier.quote(try AdminName.database(database)))
        if let charset { sql += " CHARACTER SET " + (try AdminName.charset(charset, what: "character set")) }
        if let collation { sql += " COLLATE " + (try AdminName.charset(collation, what: "collation")) }
        try world.databases.connection(connection).executeText(sql)
        return EffectOutcome(undo: [DropDatabaseUndo(connection: connection, database: database)])
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.databases.setDatabase(connection, database, exists: true)
        return EffectOutcome()
    }

    package init(connection: String, database: String, charset: String?, collation: String?) {
        self.connection = connection
        self.database = database
        self.charset = charset
        self.collation = collation
    }
}

package struct DropDatabase: Effect {
    package let connection: String
    package let database: String
    /// Tables it holds when the effect is built (for the plan line only).
    package let tables: Int
    package var kind: String { "db.drop_database" }
    package var sign: ChangeSign { .irreversible }
    package var summary: String {
        "drop database \(database) on \(connection) (\(tables) table\(tables == 1 ? "" : "s"))"
    }
    package var identity: JSON { .object([("connection", .string(connection)), ("database", .string(database))]) }

    /// Irreversible: restoring would mean dumping every table into the journal folder first.
    /// Take a backup (mysqldump) before calling it if the data matters.
    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    package func apply(_ world: World) throws -> EffectOutcome {
        try world.databases.connection(connection).executeText("DROP DATABASE " + (try SQLIdentifier.quote(try AdminName.database(database))))
        return EffectOutcome()
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.databases.setDatabase(connection, database, exists: false)
        return EffectOutcome()
    }

    package init(connection: String, database: String, tables: Int) {
        self.connection = connection
        self.database = database
        self.tables = tables
    }
}

// MARK: - Users

package struct CreateUser: Effect {
    package let connection: String
    package let user: String
    package let host: String
    package let database: String
    package let privileges: String
    package let password: SecretText
    /// The password was generated here (true) or given by the runbook.
    package let generated: Bool
    package var kind: String { "db.create_user" }
    package var sign: ChangeSign { .create }
    package var summary: String {
        "create user \(AdminName.account(user, host)) on \(connection) with a \(generated ? "generated" : "given") password, "
            + "grant \(privileges) on \(database).*"
    }
    /// No password here, nor a hash of it: only whether it was generated.
    package var identity: JSON {
        .object([("connection", .string(connection)), ("user", .string(user)), ("host", .string(host)),
                 ("database", .string(database)), ("privileges", .string(privileges)),
                 ("password", .string(generated ? "generated" : "given"))])
    }

    /// Journaled with the outcome only, as for CreateDatabase: undo never drops an account
    /// this run may not have created.
    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    package func apply(_ world: World) throws -> EffectOutcome {
        let server = try world.databases.connection(connection)
        let account = AdminName.account(try AdminName.user(user), try AdminName.host(host))
        // The statement carries the password's hash, not the password: the server writes
        // CREATE USER as it was sent to its binary log, and a replica to its relay log, so
        // a password in it would stay on the disks of the primary and of every replica
        // (found by LabFleetSecretsTests).
        let hash = SHA1.mysqlNativePassword(password.value)
        do {
            try server.executeText("CREATE USER \(account) IDENTIFIED BY PASSWORD '\(hash)'")
        } catch let error as DBError {
            throw scrubbed(error, statement: "CREATE USER \(account) IDENTIFIED BY PASSWORD '***'")
        }
        let grant = "GRANT \(privileges) ON \(AdminName.grantTarget(try AdminName.database(database))) TO \(account)"
        do {
            try server.executeText(grant)
        } catch {
            // The account must not outlive a failed effect: its undo is never journaled.
            _ = try? server.executeText("DROP USER \(account)")
            throw error
        }
        return EffectOutcome(undo: [DropUserUndo(connection: connection, user: user, host: host)])
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.databases.setUser(connection, AdminName.account(user, host), exists: true)
        return EffectOutcome()
    }

    /// The server's error without the statement that carries the password (and without the
    /// password, should the server have quoted it: a syntax error quotes the text "near" it).
    private func scrubbed(_ error: DBError, statement: String) -> DatabaseFailure {
        var message = error.message.replacingAll(password.value, with: Redactor.mask)
        if error.code == 1064 { message = "the server could not parse the statement (its message is withheld: it quotes the password)" }
        return DatabaseFailure("database '\(connection)': MySQL error \(error.code) (\(error.sqlState)): \(message) [in: \(statement)]")
    }

    package init(connection: String, user: String, host: String, database: String, privileges: String, password: SecretText, generated: Bool) {
        self.connection = connection
        self.user = user
        self.host = host
        self.database = database
        self.privileges = privileges
        self.password = password
        self.generated = generated
    }
}

package struct DropUser: Effect {
    package let connection: String
    package let user: String
    package let host: String
    package var kind: String { "db.drop_user" }
    package var sign: ChangeSign { .irreversible }
    package var summary: String { "drop user \(AdminName.account(user, host)) on \(connection)" }
    package var identity: JSON { .object([("connection", .string(connection)), ("user", .string(user)), ("host", .string(host))]) }

    /// Irreversible by choice. `SHOW CREATE USER` + `SHOW GRANTS` could rebuild the account,
    /// but only with its password hash, and the hash is credential material: offline-crackable,
    /// and with mysql_native_password enough to impersonate the server to a client. The
    /// journal is read by `runbook log` and kept with the run's history, so the hash stays out
    /// of it. Re-creating the account with a new password (db.create_user) is the way back.
    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    package func apply(_ world: World) throws -> EffectOutcome {
        let account = AdminName.account(try AdminName.user(user), try AdminName.host(host))
        try world.databases.connection(connection).executeText("DROP USER \(account)")
        return EffectOutcome()
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.databases.setUser(connection, AdminName.account(user, host), exists: false)
        return EffectOutcome()
    }

    package init(connection: String, user: String, host: String) {
        self.connection = connection
        self.user = user
        self.host = host
    }
}

// MARK: - Undo

/// Drops the database the run created (with whatever the run put in it); gone already is fine.
package struct DropDatabaseUndo: UndoAction {
    package static let op = "db.drop_database"
    package let connection: String
    package let database: String

    package var description: String { "drop database \(database) (created by the run)" }

    package func run(in world: World) throws {
        let database = try AdminName.database(database)
        guard !AdminName.systemSchemas.contains(database.lowercased()) else { throw UndoError("refusing to drop \(database)") }
        try world.databases.connection(connection).executeText("DROP DATABASE IF EXISTS " + (try SQLIdentifier.quote(database)))
    }
}

extension DropDatabaseUndo {
    package init(args: JSON) throws {
        connection = args["connection"]?.stringValue ?? ""
        database = args["database"]?.stringValue ?? ""
        // Checked in the order the step always read them: the database first.
        _ = try args.undoString("database", of: Self.op)
        _ = try args.undoString("connection", of: Self.op)
    }

    package var args: [(String, JSON)] { [("connection", .string(connection)), ("database", .string(database))] }
}

/// Drops the account the run created; gone already is fine.
package struct DropUserUndo: UndoAction {
    package static let op = "db.drop_user"
    package let connection: String
    package let user: String
    package let host: String

    package var description: String { "drop user '\(user)'@'\(host)' (created by the run)" }

    package func run(in world: World) throws {
        let account = AdminName.account(try AdminName.user(user), try AdminName.host(host))
        try world.databases.connection(connection).executeText("DROP USER IF EXISTS \(account)")
    }
}

extension DropUserUndo {
    package init(args: JSON) throws {
        connection = args["connection"]?.stringValue ?? ""
        user = try args.undoString("user", of: Self.op)
        host = try args.undoString("host", of: Self.op)
        _ = try args.undoString("connection", of: Self.op)
    }

    package var args: [(String, JSON)] { [("connection", .string(connection)), ("user", .string(user)), ("host", .string(host))] }
}
