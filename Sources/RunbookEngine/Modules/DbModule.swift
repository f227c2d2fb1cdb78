// The `db` module: reads on named connections (real in a dry-run too) and writes as
// effects, always with bound parameters. insert/update/delete compute their undo from
// before-images; db.exec is irreversible unless it declares its undo.

import LuaBridge
import MySQLClient

enum DbModule {
    static func register(into state: LuaState, slot: SessionSlot) {
        // db.query(connection, sql [, params]) -> array of rows (tables by column name)
        state.register("query", in: "db") { call in
            let session = try slot.require(call.name)
            let (name, sql, params) = try statement(call)
            try requireRead(sql, call: call)
            let result = try run(name, sql, session) { try session.databases.connection(name).query(sql, params) }
            try call.push(.table(LuaTable(array: result.rows.map(rowValue))))
            return 1
        }

        // db.query_one(connection, sql [, params]) -> the first row, or nil
        state.register("query_one", in: "db") { call in
            let session = try slot.require(call.name)
            let (name, sql, params) = try statement(call)
            try requireRead(sql, call: call)
            let result = try run(name, sql, session) { try session.databases.connection(name).query(sql, params) }
            if let row = result.first { try call.push(rowValue(row)) } else { call.pushNil() }
            return 1
        }

        // db.exec(connection, sql [, params [, {undo = {sql, params}}]]) -> {affected_rows=, insert_id=}
        state.register("exec", in: "db") { call in
            let session = try slot.require(call.name)
            let (name, sql, params) = try statement(call)
            var undo: (String, [SQLValue])?
            if let options = try call.optionalTable(4), case .table(let spec) = options["undo"] {
                guard let undoSQL = spec.array.first?.stringValue else { throw call.argumentError(4, "undo must be { sql, params }") }
                undo = (undoSQL, try sqlValues(spec.array.dropFirst().first?.tableValue?.array ?? [], call: call, position: 4))
            }
            let outcome = try run(name, sql, session) {
                try session.perform(ExecuteSQL(connection: name, sql: sql, params: params, undo: undo))
            }
            try call.push(luaValue(outcome.result ?? .null))
            return 1
        }

        // db.insert(connection, table, row) -> the new row's id (symbolic in a dry-run)
        state.register("insert", in: "db") { call in
            let session = try slot.require(call.name)
            let name = try call.string(1)
            let table = try call.string(2)
            _ = try SQLIdentifier.validate(table, what: "table")
            let row = try columns(try call.table(3), call: call, position: 3)
            guard !row.isEmpty else { throw call.argumentError(3, "the row has no columns") }
            let key = try run(name, "primary key of \(table)", session) { try session.databases.primaryKey(name, table: table) }
            let outcome = try run(name, "INSERT INTO \(table)", session) {
                try session.perform(InsertRow(connection: name, table: table, row: row, primaryKey: key))
            }
            try call.push(luaValue(outcome.result ?? .null))
            return 1
        }

        // db.update(connection, table, set, where) -> rows changed
        state.register("update", in: "db") { call in
            let session = try slot.require(call.name)
            let name = try call.string(1)
            let table = try call.string(2)
            let quoted = try SQLIdentifier.validate(table, what: "table")
            let changes = try columns(try call.table(3), call: call, position: 3)
            let filter = try columns(try call.table(4), call: call, position: 4)
            guard !changes.isEmpty else { throw call.argumentError(3, "nothing to set") }
            guard !filter.isEmpty else { throw call.argumentError(4, "an update needs a where table (refusing to change every row)") }
            let key = try run(name, "primary key of \(table)", session) { try session.databases.primaryKey(name, table: table) }
            guard !key.isEmpty else { throw LuaHostFailure("db.update: table \(table) has no primary key, so its undo cannot be computed") }
            let before = try run(name, "SELECT FROM \(table)", session) {
                try session.databases.connection(name).query("SELECT * FROM \(quoted) WHERE \(try whereClause(filter))", filter.map(\.1)).rows
            }
            let changing = before.filter { row in changes.contains { row[$0.0] != $0.1 } }
            if changing.isEmpty {
                session.noChange("\(name).\(table) rows already set")
                call.push(0)
                return 1
            }
            let outcome = try run(name, "UPDATE \(table)", session) {
                try session.perform(UpdateRows(connection: name, table: table, changes: changes, filter: filter, primaryKey: key, before: changing))
            }
            try call.push(luaValue(outcome.result ?? .int(0)))
            return 1
        }

        // db.delete(connection, table, where) -> rows deleted
        state.register("delete", in: "db") { call in
            let session = try slot.require(call.name)
            let name = try call.string(1)
            let table = try call.string(2)
            let quoted = try SQLIdentifier.validate(table, what: "table")
            let filter = try columns(try call.table(3), call: call, position: 3)
            guard !filter.isEmpty else { throw call.argumentError(3, "a delete needs a where table (refusing to delete every row)") }
            let before = try run(name, "SELECT FROM \(table)", session) {
                try session.databases.connection(name).query("SELECT * FROM \(quoted) WHERE \(try whereClause(filter))", filter.map(\.1)).rows
            }
            if before.isEmpty {
                session.noChange("no rows in \(name).\(table) match")
                call.push(0)
                return 1
            }
            let outcome = try run(name, "DELETE FROM \(table)", session) {
                try session.perform(DeleteRows(connection: name, table: table, filter: filter, before: before))
            }
            try call.push(luaValue(outcome.result ?? .int(0)))
            return 1
        }

        // Administration (Database/DatabaseAdminEffects.swift, Database/SQLUpdates.swift). What a
        // dry-run plans to create or drop is remembered here, so later reads in the run see it.
        let planned = PlannedAdministration()

        // db.create_database(connection, name [, {exists_ok=false, charset=, collation=}]) -> true if created
        state.register("create_database", in: "db") { call in
            try DatabaseAdministration.createDatabase(call, try slot.require(call.name), planned)
        }

        // db.drop_database(connection, name) -> true if dropped, false if absent (cannot be undone)
        state.register("drop_database", in: "db") { call in
            try DatabaseAdministration.dropDatabase(call, try slot.require(call.name), planned)
        }

        // db.create_user(connection, user, {database=, host="localhost", password=nil, privileges="ALL PRIVILEGES"})
        // -> the password (generated when none is given; masked in every log)
        state.register("create_user", in: "db") { call in
            try DatabaseAdministration.createUser(call, try slot.require(call.name), planned)
        }

        // db.drop_user(connection, user [, {host="localhost"}]) -> true if dropped (cannot be undone)
        state.register("drop_user", in: "db") { call in
            try DatabaseAdministration.dropUser(call, try slot.require(call.name), planned)
        }

        // db.apply_updates(connection, database, directory [, {plugin_id=, revision=, only={files}}]) -> file names applied
        state.register("apply_updates", in: "db") { call in
            try SQLUpdates.applyUpdates(call, try slot.require(call.name), planned)
        }

        // db.load_sql_file(connection, database, path) -> statements run (cannot be undone)
        state.register("load_sql_file", in: "db") { call in
            try SQLUpdates.loadSQLFile(call, try slot.require(call.name), planned)
        }
    }

    // MARK: Helpers

    static func statement(_ call: LuaCall) throws -> (String, String, [SQLValue]) {
        let name = try call.string(1)
        let sql = try call.string(2)
        let params = try call.optionalTable(3).map { try sqlValues($0.array, call: call, position: 3) } ?? []
        return (name, sql, params)
    }

    /// db.query may only read: a dry-run runs it for real.
    static func requireRead(_ sql: String, call: LuaCall) throws {
        let first = sql.trimmed.prefix(while: { $0.isLetter }).uppercased()
        guard ["SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "WITH"].contains(first) else {
            throw LuaHostFailure("\(call.name) only reads (SELECT, SHOW, ...); use db.exec, db.insert, db.update or db.delete to change data")
        }
    }

    /// Runs a database action, naming the connection and statement in any failure.
    static func run<T>(_ name: String, _ what: String, _ session: RunSession, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DBError {
            if error.kind == .connectionClosed || error.code == 2006 || error.code == 2013 { session.databases.discard(name) }
            throw DatabaseFailure("database '\(name)': \(error)")
        }
    }

    static func whereClause(_ filter: [(String, SQLValue)]) throws -> String {
        try filter.map { "\(try SQLIdentifier.validate($0.0, what: "column")) <=> ?" }.joined(separator: " AND ")
    }

    static func columns(_ table: LuaTable, call: LuaCall, position: Int32) throws -> [(String, SQLValue)] {
        guard table.array.isEmpty else { throw call.argumentError(position, "expected a table of column = value") }
        return try table.sortedStringFields.map { key, value in
            _ = try SQLIdentifier.validate(key, what: "column")
            return (key, try sqlValue(value, call: call, position: position))
        }
    }

    static func sqlValues(_ values: [LuaValue], call: LuaCall, position: Int32) throws -> [SQLValue] {
        try values.map { try sqlValue($0, call: call, position: position) }
    }

    static func sqlValue(_ value: LuaValue, call: LuaCall, position: Int32) throws -> SQLValue {
        switch value {
        case .nil: return .null
        case .boolean(let b): return .int(b ? 1 : 0)
        case .integer(let i): return .int(i)
        case .number(let d): return .double(d)
        case .string(let bytes):
            if let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) { return .string(text) }
            return .bytes(bytes)
        case .table, .function:
            throw call.argumentError(position, "a \(value.typeName) cannot be a SQL value")
        }
    }

    static func rowValue(_ row: Row) -> LuaValue {
        var table = LuaTable()
        for (index, column) in row.columns.enumerated() {
            let value = row[index]
            switch value {
            case .null: continue
            case .int(let i): table[column] = .integer(i)
            case .uint(let u): table[column] = u <= UInt64(Int64.max) ? .integer(Int64(u)) : .number(Double(u))
            case .double(let d): table[column] = .number(d)
            case .string(let s): table[column] = .string(s)
            case .bytes(let b): table[column] = .string(b)
            }
        }
        return .table(table)
    }

    static func luaValue(_ json: JSON) -> LuaValue {
        switch json {
        case .null: return .nil
        case .bool(let b): return .boolean(b)
        case .int(let i): return .integer(i)
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .array(let items): return .table(LuaTable(array: items.map(luaValue)))
        case .object(let pairs):
            var table = LuaTable()
            for (key, value) in pairs { table[key] = luaValue(value) }
            return .table(table)
        }
    }
}
