// Database administration as effects: create and drop databases and users (the guide's
// "Database and db user/pass are created for the install"), with their undo, and the Lua
// side of db.create_database, db.drop_database, db.create_user and db.drop_user.
//
// Names cannot be bound as parameters in these statements, so they are validated (letters,
// digits, _ and -) and then quoted. A password cannot be bound either: it is inlined as an
// escaped string literal, and the statement text that carries it never leaves `apply` —
// errors are rebuilt without it (DBError keeps the start of the SQL text).

import LuaBridge
import MySQLClient

// MARK: - Names and secrets

/// Names the administration primitives accept. Each is quoted where it is used.
enum AdminName {
    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95 || byte == 45
    }

    /// A database name: letters, digits, _ and -, at most 64 characters (MySQL's limit).
    static func database(_ name: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy(isNameByte) else {
            throw DatabaseFailure("invalid database name '\(name)' (letters, digits, _ and - only, at most 64 characters)")
        }
        return name
    }

    /// A user name: letters, digits, _ and -, at most 80 characters (MariaDB's limit; MySQL's is 32).
    static func user(_ name: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= 80, name.utf8.allSatisfy(isNameByte) else {
            throw DatabaseFailure("invalid user name '\(name)' (letters, digits, _ and - only, at most 80 characters)")
        }
        return name
    }

    /// The host part of an account: a host name, an IP (v4/v6, optionally /netmask) or a
    /// pattern with %.
    static func host(_ host: String) throws -> String {
        let allowed = Set(".-_%:/".utf8)
        guard !host.isEmpty, host.utf8.count <= 255, host.utf8.allSatisfy({ isNameByte($0) || allowed.contains($0) }) else {
            throw DatabaseFailure("invalid host '\(host)' for a database account (a host name, an IP address or a pattern with %)")
        }
        return host
    }

    /// `'user'@'host'`: safe to inline, both parts were validated (no quote, no backslash).
    static func account(_ user: String, _ host: String) -> String { "'\(user)'@'\(host)'" }

    /// `db`.* for a GRANT: in a database-level grant `_` and `%` are wildcards, so `_` is
    /// escaped (`shop_1` must not also match `shopx1`).
    static func grantTarget(_ database: String) -> String {
        "`" + database.replacingAll("_", with: "\\_") + "`.*"
    }

    static let systemSchemas: Set<String> = ["mysql", "information_schema", "performance_schema", "sys"]

    /// Privileges a runbook may grant on one database (never GRANT OPTION, never global ones).
    static let grantable: Set<String> = [
        "ALL", "ALL PRIVILEGES", "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "INDEX", "ALTER",
        "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
        "ALTER ROUTINE", "EVENT", "TRIGGER", "REFERENCES", "DELETE HISTORY",
    ]

    /// "select, insert" -> "SELECT, INSERT"; anything unknown is refused.
    static func privileges(_ text: String) throws -> String {
        let items = text.split(separator: ",").map { item in
            item.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ").uppercased()
        }
        guard !items.isEmpty, items.allSatisfy(grantable.contains) else {
            throw DatabaseFailure("invalid privileges '\(text)' (a comma-separated list such as \"SELECT, INSERT\" or \"ALL PRIVILEGES\")")
        }
        return items.joined(separator: ", ")
    }

    /// A SQL character set or collation name (`utf8mb4`, `utf8mb4_unicode_ci`).
    static func charset(_ name: String, what: String) throws -> String {
        guard !name.isEmpty, name.utf8.count <= 64,
              name.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 95 })
        else { throw DatabaseFailure("invalid \(what) '\(name)'") }
        return name
    }
}

/// A password on its way to the server. Prints as *** however it is printed or dumped.
struct SecretText: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    var description: String { Redactor.mask }
    var debugDescription: String { Redactor.mask }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

enum PasswordGenerator {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// `length` characters from [A-Za-z0-9], from /dev/urandom, without modulo bias (bytes
    /// of 248 and above are thrown away: 248 = 4 * 62). 32 characters carry 190 bits.
    static func generate(length: Int = 32) throws -> String {
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

struct CreateDatabase: Effect {
    let connection: String
    let database: String
    let charset: String?
    let collation: String?
    var kind: String { "db.create_database" }
    var sign: ChangeSign { .create }
    var summary: String {
        "create database \(database) on \(connection)" + (charset.map { " (character set \($0))" } ?? "")
    }
    var identity: JSON {
        var fields: [(String, JSON)] = [("connection", .string(connection)), ("database", .string(database))]
        if let charset { fields.append(("charset", .string(charset))) }
        if let collation { fields.append(("collation", .string(collation))) }
        return .object(fields)
    }

    /// No undo before it happened: if the CREATE failed because someone else's database of
    /// that name appeared meanwhile, or the process died before the outcome was journaled,
    /// undo must not drop a database this run may not have created. The drop is journaled
    /// with the outcome, once the CREATE succeeded (see `apply`).
    func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    func apply(_ world: World) throws -> EffectOutcome {
        var sql = "CREATE DATABASE " + (try SQLIdentifier.quote(try AdminName.database(database)))
        if let charset { sql += " CHARACTER SET " + (try AdminName.charset(charset, what: "character set")) }
        if let collation { sql += " COLLATE " + (try AdminName.charset(collation, what: "collation")) }
        try world.databases.connection(connection).executeText(sql)
        return EffectOutcome(undo: [DropDatabaseUndo(connection: connection, database: database)])
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome { EffectOutcome() }
}

struct DropDatabase: Effect {
    let connection: String
    let database: String
    /// Tables it holds when the effect is built (for the plan line only).
    let tables: Int
    var kind: String { "db.drop_database" }
    var sign: ChangeSign { .irreversible }
    var summary: String {
        "drop database \(database) on \(connection) (\(tables) table\(tables == 1 ? "" : "s"))"
    }
    var identity: JSON { .object([("connection", .string(connection)), ("database", .string(database))]) }

    /// Irreversible: restoring would mean dumping every table into the journal folder first.
    /// Take a backup (mysqldump) before calling it if the data matters.
    func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    func apply(_ world: World) throws -> EffectOutcome {
        try world.databases.connection(connection).executeText("DROP DATABASE " + (try SQLIdentifier.quote(try AdminName.database(database))))
        return EffectOutcome()
    }
}

// MARK: - Users

struct CreateUser: Effect {
    let connection: String
    let user: String
    let host: String
    let database: String
    let privileges: String
    let password: SecretText
    /// The password was generated here (true) or given by the runbook.
    let generated: Bool
    var kind: String { "db.create_user" }
    var sign: ChangeSign { .create }
    var summary: String {
        "create user \(AdminName.account(user, host)) on \(connection) with a \(generated ? "generated" : "given") password, "
            + "grant \(privileges) on \(database).*"
    }
    /// No password here, nor a hash of it: only whether it was generated.
    var identity: JSON {
        .object([("connection", .string(connection)), ("user", .string(user)), ("host", .string(host)),
                 ("database", .string(database)), ("privileges", .string(privileges)),
                 ("password", .string(generated ? "generated" : "given"))])
    }

    /// Journaled with the outcome only, as for CreateDatabase: undo never drops an account
    /// this run may not have created.
    func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    func apply(_ world: World) throws -> EffectOutcome {
        let server = try world.databases.connection(connection)
        let account = AdminName.account(try AdminName.user(user), try AdminName.host(host))
        let modes = try server.query("SELECT @@SESSION.sql_mode").first?[0].string ?? ""
        let literal = Self.stringLiteral(password.value, backslashEscapes: !modes.uppercased().contains("NO_BACKSLASH_ESCAPES"))
        do {
            try server.executeText("CREATE USER \(account) IDENTIFIED BY \(literal)")
        } catch let error as DBError {
            throw scrubbed(error, statement: "CREATE USER \(account) IDENTIFIED BY '***'")
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

    /// A '...' literal: quotes doubled (valid in every sql_mode) and backslashes escaped
    /// unless NO_BACKSLASH_ESCAPES makes them literal. NUL bytes are refused earlier.
    static func stringLiteral(_ text: String, backslashEscapes: Bool) -> String {
        var literal = "'"
        for character in text {
            switch character {
            case "'": literal += "''"
            case "\\": literal += backslashEscapes ? "\\\\" : "\\"
            default: literal.append(character)
            }
        }
        return literal + "'"
    }

    /// The server's error without the statement that carries the password (and without the
    /// password, should the server have quoted it: a syntax error quotes the text "near" it).
    private func scrubbed(_ error: DBError, statement: String) -> DatabaseFailure {
        var message = error.message.replacingAll(password.value, with: Redactor.mask)
        if error.code == 1064 { message = "the server could not parse the statement (its message is withheld: it quotes the password)" }
        return DatabaseFailure("database '\(connection)': MySQL error \(error.code) (\(error.sqlState)): \(message) [in: \(statement)]")
    }
}

struct DropUser: Effect {
    let connection: String
    let user: String
    let host: String
    var kind: String { "db.drop_user" }
    var sign: ChangeSign { .irreversible }
    var summary: String { "drop user \(AdminName.account(user, host)) on \(connection)" }
    var identity: JSON { .object([("connection", .string(connection)), ("user", .string(user)), ("host", .string(host))]) }

    /// Irreversible by choice. `SHOW CREATE USER` + `SHOW GRANTS` could rebuild the account,
    /// but only with its password hash, and the hash is credential material: offline-crackable,
    /// and with mysql_native_password enough to impersonate the server to a client. The
    /// journal is read by `runbook log` and kept with the run's history, so the hash stays out
    /// of it. Re-creating the account with a new password (db.create_user) is the way back.
    func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    func apply(_ world: World) throws -> EffectOutcome {
        let account = AdminName.account(try AdminName.user(user), try AdminName.host(host))
        try world.databases.connection(connection).executeText("DROP USER \(account)")
        return EffectOutcome()
    }
}

// MARK: - Undo

/// Drops the database the run created (with whatever the run put in it); gone already is fine.
struct DropDatabaseUndo: UndoAction {
    static let op = "db.drop_database"
    let connection: String
    let database: String

    init(connection: String, database: String) {
        self.connection = connection
        self.database = database
    }

    init(args: JSON) throws {
        connection = args["connection"]?.stringValue ?? ""
        database = args["database"]?.stringValue ?? ""
        // Checked in the order the step always read them: the database first.
        _ = try args.undoString("database", of: Self.op)
        _ = try args.undoString("connection", of: Self.op)
    }

    var args: [(String, JSON)] { [("connection", .string(connection)), ("database", .string(database))] }
    var description: String { "drop database \(database) (created by the run)" }

    func run(in world: World) throws {
        let database = try AdminName.database(database)
        guard !AdminName.systemSchemas.contains(database.lowercased()) else { throw UndoError("refusing to drop \(database)") }
        try world.databases.connection(connection).executeText("DROP DATABASE IF EXISTS " + (try SQLIdentifier.quote(database)))
    }
}

/// Drops the account the run created; gone already is fine.
struct DropUserUndo: UndoAction {
    static let op = "db.drop_user"
    let connection: String
    let user: String
    let host: String

    init(connection: String, user: String, host: String) {
        self.connection = connection
        self.user = user
        self.host = host
    }

    init(args: JSON) throws {
        connection = args["connection"]?.stringValue ?? ""
        user = try args.undoString("user", of: Self.op)
        host = try args.undoString("host", of: Self.op)
        _ = try args.undoString("connection", of: Self.op)
    }

    var args: [(String, JSON)] { [("connection", .string(connection)), ("user", .string(user)), ("host", .string(host))] }
    var description: String { "drop user '\(user)'@'\(host)' (created by the run)" }

    func run(in world: World) throws {
        let account = AdminName.account(try AdminName.user(user), try AdminName.host(host))
        try world.databases.connection(connection).executeText("DROP USER IF EXISTS \(account)")
    }
}

// MARK: - What a dry-run plans

/// In a dry-run nothing reaches the server, so later reads in the same run would not see a
/// database or user planned earlier. The primitives record what they planned here (one per
/// Lua state, which is one per run) and consult it before the server.
final class PlannedAdministration {
    private var databases: [String: Bool] = [:]
    private var users: [String: Bool] = [:]
    /// Databases whose content the plan changes (created, or SQL files planned into them).
    private var changed: Set<String> = []
    private var updates: [String: Set<String>] = [:]

    private func key(_ connection: String, _ name: String) -> String { connection + "\u{0}" + name }

    func databaseExists(_ connection: String, _ database: String) -> Bool? { databases[key(connection, database)] }
    func userExists(_ connection: String, _ account: String) -> Bool? { users[key(connection, account)] }
    func setDatabase(_ connection: String, _ database: String, exists: Bool) {
        databases[key(connection, database)] = exists
        if exists { changed.insert(key(connection, database)) } else { changed.remove(key(connection, database)) }
        updates[key(connection, database)] = nil
    }
    func setUser(_ connection: String, _ account: String, exists: Bool) { users[key(connection, account)] = exists }
    func markChanged(_ connection: String, _ database: String) { changed.insert(key(connection, database)) }
    func isChanged(_ connection: String, _ database: String) -> Bool { changed.contains(key(connection, database)) }
    func plannedUpdates(_ connection: String, _ database: String) -> Set<String> { updates[key(connection, database)] ?? [] }
    func addPlannedUpdate(_ connection: String, _ database: String, file: String) {
        updates[key(connection, database), default: []].insert(file)
        changed.insert(key(connection, database))
    }
}

// MARK: - The Lua side (registered in DbModule)

enum DatabaseAdministration {
    /// Does `database` exist, as this run sees it (planned changes first in a dry-run)?
    static func databaseExists(_ name: String, _ database: String, _ session: RunSession, _ planned: PlannedAdministration) throws -> Bool {
        if session.isDryRun, let exists = planned.databaseExists(name, database) { return exists }
        return try DbModule.run(name, "information_schema.SCHEMATA", session) {
            try session.databases.connection(name)
                .query("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [.string(database)]).first?[0].int64 ?? 0
        } > 0
    }

    static func userExists(_ name: String, _ user: String, _ host: String, _ session: RunSession, _ planned: PlannedAdministration) throws -> Bool {
        if session.isDryRun, let exists = planned.userExists(name, AdminName.account(user, host)) { return exists }
        return try DbModule.run(name, "mysql.user", session) {
            try session.databases.connection(name)
                .query("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", [.string(user), .string(host)]).first?[0].int64 ?? 0
        } > 0
    }

    /// db.create_database(connection, name [, {exists_ok=false, charset=, collation=}])
    static func createDatabase(_ call: LuaCall, _ session: RunSession, _ planned: PlannedAdministration) throws -> Int32 {
        let name = try call.string(1)
        let database = try AdminName.database(try call.string(2))
        let options = try call.optionalTable(3) ?? LuaTable()
        let charset = try options["charset"].stringValue.map { try AdminName.charset($0, what: "character set") }
        let collation = try options["collation"].stringValue.map { try AdminName.charset($0, what: "collation") }
        if try databaseExists(name, database, session, planned) {
            guard options["exists_ok"].boolValue == true else {
                throw LuaHostFailure("db.create_database: database \(database) already exists on \(name); nothing was changed "
                                     + "(pass {exists_ok = true} to accept an existing database)")
            }
            session.noChange("database \(database) exists on \(name)")
            call.push(false)
            return 1
        }
        _ = try DbModule.run(name, "CREATE DATABASE \(database)", session) {
            try session.perform(CreateDatabase(connection: name, database: database, charset: charset, collation: collation))
        }
        if session.isDryRun { planned.setDatabase(name, database, exists: true) }
        call.push(true)
        return 1
    }

    /// db.drop_database(connection, name) -> true if dropped, false if it did not exist
    static func dropDatabase(_ call: LuaCall, _ session: RunSession, _ planned: PlannedAdministration) throws -> Int32 {
        let name = try call.string(1)
        let database = try AdminName.database(try call.string(2))
        guard !AdminName.systemSchemas.contains(database.lowercased()) else {
            throw LuaHostFailure("db.drop_database refuses to drop the system schema \(database)")
        }
        guard try databaseExists(name, database, session, planned) else {
            session.noChange("database \(database) does not exist on \(name)")
            call.push(false)
            return 1
        }
        // A database only planned by this dry-run has no tables to count on the server.
        let plannedOnly = session.isDryRun && planned.databaseExists(name, database) == true
        let tables = plannedOnly ? 0 : try DbModule.run(name, "information_schema.TABLES", session) {
            try session.databases.connection(name)
                .query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", [.string(database)]).first?[0].int64 ?? 0
        }
        _ = try DbModule.run(name, "DROP DATABASE \(database)", session) {
            try session.perform(DropDatabase(connection: name, database: database, tables: Int(tables)))
        }
        if session.isDryRun { planned.setDatabase(name, database, exists: false) }
        call.push(true)
        return 1
    }

    /// db.create_user(connection, user, {host="localhost", password=nil, database=NAME,
    /// privileges="ALL PRIVILEGES"}) -> the password (generated when none is given)
    static func createUser(_ call: LuaCall, _ session: RunSession, _ planned: PlannedAdministration) throws -> Int32 {
        let name = try call.string(1)
        let user = try AdminName.user(try call.string(2))
        let options = try call.table(3)
        let host = try AdminName.host(options["host"].stringValue ?? "localhost")
        guard let databaseName = options["database"].stringValue else {
            throw call.argumentError(3, "database = NAME is required (the one database the user gets privileges on)")
        }
        let database = try AdminName.database(databaseName)
        let privileges = try AdminName.privileges(options["privileges"].stringValue ?? "ALL PRIVILEGES")
        let password: String
        let generated: Bool
        switch options["password"] {
        case .nil:
            password = try PasswordGenerator.generate()
            generated = true
        case .string(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else {
                throw call.argumentError(3, "the password must be UTF-8 text without NUL bytes")
            }
            guard text.count >= 8 else { throw call.argumentError(3, "the password is shorter than 8 characters") }
            password = text
            generated = false
        default:
            throw call.argumentError(3, "password must be a string (or nil to generate one)")
        }
        // Masked from here on, before any line that could carry it is written.
        session.redactor.add(password)
        if try userExists(name, user, host, session, planned) {
            throw LuaHostFailure("db.create_user: user \(AdminName.account(user, host)) already exists on \(name); nothing was changed")
        }
        _ = try DbModule.run(name, "CREATE USER \(AdminName.account(user, host))", session) {
            try session.perform(CreateUser(connection: name, user: user, host: host, database: database, privileges: privileges,
                                           password: SecretText(value: password), generated: generated))
        }
        if session.isDryRun { planned.setUser(name, AdminName.account(user, host), exists: true) }
        call.push(password)
        return 1
    }

    /// db.drop_user(connection, user [, {host="localhost"}]) -> true if dropped, false if absent
    static func dropUser(_ call: LuaCall, _ session: RunSession, _ planned: PlannedAdministration) throws -> Int32 {
        let name = try call.string(1)
        let user = try AdminName.user(try call.string(2))
        let host = try AdminName.host((try call.optionalTable(3) ?? LuaTable())["host"].stringValue ?? "localhost")
        guard try userExists(name, user, host, session, planned) else {
            session.noChange("user \(AdminName.account(user, host)) does not exist on \(name)")
            call.push(false)
            return 1
        }
        _ = try DbModule.run(name, "DROP USER \(AdminName.account(user, host))", session) {
            try session.perform(DropUser(connection: name, user: user, host: host))
        }
        if session.isDryRun { planned.setUser(name, AdminName.account(user, host), exists: false) }
        call.push(true)
        return 1
    }
}
