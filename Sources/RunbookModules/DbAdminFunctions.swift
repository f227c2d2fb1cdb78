// The Lua side of database administration (db.create_database, db.drop_database,
// db.create_user, db.drop_user, and what they ask the server), registered in DbModule.

import LuaBridge
import MySQLClient
import RunbookCore
import RunbookRun

package enum DatabaseAdministration {
    /// Does `database` exist, as this run sees it (what it planned first, then the server)?
    package static func databaseExists(_ name: String, _ database: String, _ session: RunSession) throws -> Bool {
        if let exists = session.plannedDatabases.databaseExists(name, database) { return exists }
        return try DbModule.run(name, "information_schema.SCHEMATA", session) {
            try session.databases.connection(name)
                .query("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [.string(database)]).first?[0].int64 ?? 0
        } > 0
    }

    package static func userExists(_ name: String, _ user: String, _ host: String, _ session: RunSession) throws -> Bool {
        if let exists = session.plannedDatabases.userExists(name, AdminName.account(user, host)) { return exists }
        return try DbModule.run(name, "mysql.user", session) {
            try session.databases.connection(name)
                .query("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", [.string(user), .string(host)]).first?[0].int64 ?? 0
        } > 0
    }

    /// db.create_database(connection, name [, {exists_ok=false, charset=, collation=}])
    package static func createDatabase(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let database = try AdminName.database(try call.string(2))
        let options = try call.optionalTable(3) ?? LuaTable()
        let charset = try options["charset"].stringValue.map { try AdminName.charset($0, what: "character set") }
        let collation = try options["collation"].stringValue.map { try AdminName.charset($0, what: "collation") }
        if try databaseExists(name, database, session) {
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
        call.push(true)
        return 1
    }

    /// db.drop_database(connection, name) -> true if dropped, false if it did not exist
    package static func dropDatabase(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let database = try AdminName.database(try call.string(2))
        guard !AdminName.systemSchemas.contains(database.lowercased()) else {
            throw LuaHostFailure("db.drop_database refuses to drop the system schema \(database)")
        }
        guard try databaseExists(name, database, session) else {
            session.noChange("database \(database) does not exist on \(name)")
            call.push(false)
            return 1
        }
        // A database only planned by this dry-run has no tables to count on the server.
        let plannedOnly = session.plannedDatabases.databaseExists(name, database) == true
        let tables = plannedOnly ? 0 : try DbModule.run(name, "information_schema.TABLES", session) {
            try session.databases.connection(name)
                .query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", [.string(database)]).first?[0].int64 ?? 0
        }
        _ = try DbModule.run(name, "DROP DATABASE \(database)", session) {
            try session.perform(DropDatabase(connection: name, database: database, tables: Int(tables)))
        }
        call.push(true)
        return 1
    }

    /// db.create_user(connection, user, {host="localhost", password=nil, database=NAME,
    /// privileges="ALL PRIVILEGES"}) -> the password (generated when none is given)
    package static func createUser(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
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
        if try userExists(name, user, host, session) {
            throw LuaHostFailure("db.create_user: user \(AdminName.account(user, host)) already exists on \(name); nothing was changed")
        }
        _ = try DbModule.run(name, "CREATE USER \(AdminName.account(user, host))", session) {
            try session.perform(CreateUser(connection: name, user: user, host: host, database: database, privileges: privileges,
                                           password: SecretText(value: password), generated: generated))
        }
        call.push(password)
        return 1
    }

    /// db.drop_user(connection, user [, {host="localhost"}]) -> true if dropped, false if absent
    package static func dropUser(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let user = try AdminName.user(try call.string(2))
        let host = try AdminName.host((try call.optionalTable(3) ?? LuaTable())["host"].stringValue ?? "localhost")
        guard try userExists(name, user, host, session) else {
            session.noChange("user \(AdminName.account(user, host)) does not exist on \(name)")
            call.push(false)
            return 1
        }
        _ = try DbModule.run(name, "DROP USER \(AdminName.account(user, host))", session) {
            try session.perform(DropUser(connection: name, user: user, host: host))
        }
        call.push(true)
        return 1
    }
}
