// The Lua side of SQL update files (db.apply_updates, db.load_sql_file): which files a
// database still owes, read and applied in order, registered in DbModule.

import LuaBridge
import MySQLClient
import RunbookCore
import RunbookRun
import RunbookSupport

package enum SQLUpdates {
    package static let table = "database_updates"

    /// db.apply_updates(connection, database, directory [, {plugin_id=, revision=}])
    /// -> the file names applied (planned, in a dry-run), in order
    package static func applyUpdates(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let database = try AdminName.database(try call.string(2))
        let directory = try call.string(3)
        let options = try call.optionalTable(4) ?? LuaTable()
        let pluginID = try recordValue(options["plugin_id"], "plugin_id", call)
        let revision = try recordValue(options["revision"], "revision", call)

        var names = try updateFiles(in: directory, session)
        if let only = options["only"].tableValue {
            // Chosen files only (a snippet for some installs): each must be an update file there.
            let wanted = only.array.compactMap(\.stringValue)
            guard wanted.count == only.array.count, !wanted.isEmpty else {
                throw call.argumentError(4, "only must be a list of file names")
            }
            for file in wanted where !names.contains(file) {
                throw LuaHostFailure("db.apply_updates: \(directory) has no update file \(file) (a .sql file)")
            }
            names = names.filter { wanted.contains($0) }
        }
        guard try usableDatabase(name, database, session, call) else {
            session.output.log("warn", "database \(database) does not exist on \(name) yet: planning every update in \(directory)")
            let pending = names.filter { !session.plannedDatabases.plannedUpdates(name, database).contains($0) }
            return try applyAll(pending, directory: directory, appliedAt: true, name, database, pluginID, revision, session, call)
        }
        let columns = try DbModule.run(name, "information_schema.COLUMNS", session) {
            try session.databases.connection(name).query(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                [.string(database), .string(table)]).rows.compactMap { $0[0].string?.lowercased() }
        }
        var applied = session.plannedDatabases.plannedUpdates(name, database)
        if columns.isEmpty {
            // Only a dry-run that itself created the database or loaded its schema gets past this.
            guard session.plannedDatabases.isChanged(name, database) else {
                throw LuaHostFailure("db.apply_updates: database \(database) on \(name) has no table \(table) "
                                     + "(the install schema ships it: load the schema first, e.g. with db.load_sql_file)")
            }
            return try applyAll(names.filter { !applied.contains($0) }, directory: directory, appliedAt: true,
                                name, database, pluginID, revision, session, call)
        }
        for (column, given) in [("filename", true), ("plugin_id", pluginID != nil), ("revision", revision != nil)]
        where given && !columns.contains(column) {
            throw LuaHostFailure("db.apply_updates: \(database).\(table) on \(name) has no column \(column)")
        }
        let quoted = try SQLIdentifier.quote(database) + "." + (try SQLIdentifier.quote(table))
        let rows = try DbModule.run(name, "SELECT FROM \(database).\(table)", session) {
            try session.databases.connection(name).query(
                "SELECT `filename` FROM \(quoted)" + (pluginID == nil ? "" : " WHERE `plugin_id` <=> ?"),
                pluginID.map { [$0] } ?? []).rows
        }
        for row in rows {
            switch row[0] {
            case .string(let text): applied.insert(text)
            case .bytes(let bytes): applied.insert(String(decoding: bytes, as: UTF8.self))
            default: break
            }
        }
        let pending = names.filter { !applied.contains($0) }
        if pending.isEmpty {
            session.noChange("all \(names.count) update\(names.count == 1 ? "" : "s") in \(directory) are recorded in \(database).\(table)")
            try call.push(.table(LuaTable()))
            return 1
        }
        return try applyAll(pending, directory: directory, appliedAt: columns.contains("applied_at"),
                            name, database, pluginID, revision, session, call)
    }

    /// db.load_sql_file(connection, database, path) -> the number of statements run
    package static func loadSQLFile(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let database = try AdminName.database(try call.string(2))
        let path = try call.string(3)
        if try !usableDatabase(name, database, session, call) {
            session.output.log("warn", "database \(database) does not exist on \(name) yet: planning \(path) anyway")
        }
        let statements = try read(path, session)
        try session.perform(ApplySQLFile(connection: name, database: database, file: path, statements: statements, record: nil))
        call.push(statements.count)
        return 1
    }

    // MARK: Helpers

    /// Reads and splits every file before the first is applied (a file that cannot be
    /// split stops the run before anything changed), then applies them in order.
    private static func applyAll(_ files: [String], directory: String, appliedAt: Bool, _ name: String, _ database: String,
                                 _ pluginID: SQLValue?, _ revision: SQLValue?, _ session: RunSession,
                                 _ call: LuaCall) throws -> Int32
    {
        let parsed = try files.map { (file: $0, statements: try read(PathName.join(directory, $0), session)) }
        for (file, statements) in parsed {
            let record = UpdateRecord(filename: file, pluginID: pluginID, revision: revision, appliedAt: appliedAt)
            try session.perform(ApplySQLFile(connection: name, database: database, file: PathName.join(directory, file),
                                             statements: statements, record: record))
        }
        try call.push(.table(LuaTable(array: files.map { LuaValue.string($0) })))
        return 1
    }

    /// The `.sql` files of a directory (through the run's view: a dry-run sees planned
    /// files), sorted by name byte by byte: 0002_x.sql before 0010_y.sql needs zero-padding.
    package static func updateFiles(in directory: String, _ session: RunSession) throws -> [String] {
        let real = try session.paths.real(directory)
        let names: [String]
        do { names = try session.view.list(real) } catch let error as SystemError {
            throw LuaHostFailure("db.apply_updates: cannot list \(directory): \(String(cString: strerror(error.code)))")
        }
        return names.filter { name in
            name.hasSuffix(".sql") && !name.hasPrefix(".") && session.view.info(PathName.join(real, name))?.kind != .directory
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// A file's statements; a failure names the file (and the line, for a split error).
    package static func read(_ path: String, _ session: RunSession) throws -> [SQLStatement] {
        let bytes: [UInt8]
        do { bytes = try session.view.read(try session.paths.real(path)) } catch let error as SystemError {
            throw LuaHostFailure("\(path): \(String(cString: strerror(error.code)))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw LuaHostFailure("\(path): not UTF-8 text") }
        do {
            return try SQLScript.split(text)
        } catch let error as SQLScriptError {
            throw LuaHostFailure("\(path):\(error.line): \(error.problem)")
        }
    }

    /// True when the database exists (as this run sees it). A dry-run goes on without a
    /// database that is missing when it planned SQL it cannot see into on that connection
    /// (db.exec may create it) — the caller warns; otherwise (a real run, a dry-run that
    /// planned to drop it or planned no such SQL) it fails.
    private static func usableDatabase(_ name: String, _ database: String, _ session: RunSession,
                                       _ call: LuaCall) throws -> Bool
    {
        if try DatabaseAdministration.databaseExists(name, database, session) { return true }
        let plan = session.plannedDatabases
        guard plan.databaseExists(name, database) == nil, plan.hasOpaqueChanges(name) else {
            throw LuaHostFailure("\(call.name): database \(database) does not exist on \(name)")
        }
        return false
    }

    private static func recordValue(_ value: LuaValue, _ key: String, _ call: LuaCall) throws -> SQLValue? {
        switch value {
        case .nil: return nil
        case .integer(let number): return .int(number)
        case .string: return .string(value.stringValue ?? "")
        default: throw call.argumentError(4, "\(key) must be a string or an integer")
        }
    }
}
