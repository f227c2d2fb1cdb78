// The `db` module: reads on named connections (real in a dry-run too) and writes as
// effects, always with bound parameters. insert/update/delete compute their undo from
// before-images; db.exec is irreversible unless it declares its undo.

import LuaBridge
import MySQLClient
import RunbookCore
import RunbookRun
import RunbookSupport

package enum DbModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("db", title: "db: databases", doc: """
            `CONNECTION` names a `[databases.NAME]` entry of the configuration
            ([cli.md](cli.md#the-configuration-file)). A connection is opened on first use; an
            unknown name raises `unknown database connection 'x' (configured: internal)` and an
            unreachable server `cannot connect to database 'internal': MySQL error 2002 ...`. Errors
            from the server read `database 'internal': MySQL error 1451 (23000): ... [in: SQL]`.
            After a lost connection (errors 2006, 2013) the next call reconnects.

            SQL always takes bound parameters: `?` placeholders and a `params` array. Lua values
            become SQL values as follows: `db.NULL` → `NULL` (a `nil` would end a `params` array
            or leave a column out of a table), `true`/`false` → `1`/`0`, integers and floats as
            numbers, strings as text (or as bytes when not valid UTF-8 or containing a NUL).
            Tables and functions are refused. Names
            (databases, tables, columns) cannot be parameters: a runbook that builds SQL text
            from a name passes it through `db.quote_name` — never its own backticks (a test of
            the shipped runbooks fails on a string literal that opens or closes backticks around
            a concatenation).

            Rows come back as Lua tables keyed by column name: integer columns as integers, `FLOAT`
            and `DOUBLE` as floats, `DECIMAL`, `JSON`, text, `DATE`/`TIME`/`DATETIME`/`TIMESTAMP` (as
            MySQL prints them) and binary columns as strings. A `NULL` column is absent from the row
            (`nil`, not `db.NULL`: `if row.ssl_pem then` reads as before).

            `insert`, `update` and `delete` take a table name (`sites` or `schema.sites`) and
            `column = value` tables. Names may only contain letters, digits, `_` and `$`
            (`invalid table name 'sites; drop' (letters, digits, _ and $ only)`). `where` tables
            match every listed column with the NULL-safe `<=>`, joined with `AND`; they must not be
            empty. Columns are used in name order.

            The administration functions (`create_database` to `load_sql_file`) carry out the
            guide's database set-up and its SQL updates ("mut").
            """),
    ] }

    package static var globals: [LuaGlobal] { [
        // db.NULL: SQL NULL as a value a table can hold (the null marker, as json.null).
        LuaGlobal("db.NULL", type: "lightuserdata", value: .null, doc: """
            SQL `NULL` as a value, where `nil` cannot say it: in a `set` table
            (`db.update("internal", "installs", { custom_rewrites = db.NULL }, { id = install.id })`),
            a `row` of `db.insert`, a `where` table (`{ install_id = db.NULL }` matches the rows
            whose `install_id` is `NULL`: `where` compares with `<=>`) or a `params` array, where a
            `nil` would end the list early. The undo of an update that set `NULL` puts the old
            value back; an update from `NULL` to a value is undone to `NULL`. Rows read back still
            leave a `NULL` column out (`nil`, not `db.NULL`). It is the same value as `json.null`:
            Lua's NULL light userdata (`type(db.NULL) == "userdata"`).
            """),
    ] }

    /// Every `db` function, in the order docs/api.md shows them. The administration
    /// functions' implementations are DbAdminFunctions.swift and SQLUpdateFunctions.swift
    /// (their effects: RunbookCore/DatabaseAdminEffects.swift and SQLUpdates.swift); what a
    /// dry-run plans of them is in its plan state (RunbookCore/DatabasePlan.swift).
    package static var primitives: [LuaPrimitive] { [
        // db.query(connection, sql [, params]) -> array of rows (tables by column name)
        LuaPrimitive("db.query", doc: queryDoc, query),
        // db.query_one(connection, sql [, params]) -> the first row, or nil
        LuaPrimitive("db.query_one", doc: queryOneDoc, queryOne),
        // db.exec(connection, sql [, params [, {undo = {sql, params}}]]) -> {affected_rows=, insert_id=}
        LuaPrimitive("db.exec", doc: execDoc, exec),
        // db.quote_name(name) -> `name` as one SQL identifier (pure: usable outside `run` too)
        LuaPrimitive("db.quote_name", doc: quoteNameDoc, anywhere: quoteName),
        // db.insert(connection, table, row) -> the new row's id (symbolic in a dry-run)
        LuaPrimitive("db.insert", doc: insertDoc, insert),
        // db.update(connection, table, set, where) -> rows changed
        LuaPrimitive("db.update", doc: updateDoc, update),
        // db.delete(connection, table, where) -> rows deleted
        LuaPrimitive("db.delete", doc: deleteDoc, delete),
        // db.create_database(connection, name [, {exists_ok=false, charset=, collation=}]) -> true if created
        LuaPrimitive("db.create_database", doc: createDatabaseDoc, DatabaseAdministration.createDatabase),
        // db.drop_database(connection, name) -> true if dropped, false if absent (cannot be undone)
        LuaPrimitive("db.drop_database", doc: dropDatabaseDoc, DatabaseAdministration.dropDatabase),
        // db.create_user(connection, user, {database=, host="localhost", password=nil, privileges="ALL PRIVILEGES"})
        // -> the password (generated when none is given; masked in every log)
        LuaPrimitive("db.create_user", doc: createUserDoc, DatabaseAdministration.createUser),
        // db.drop_user(connection, user [, {host="localhost"}]) -> true if dropped (cannot be undone)
        LuaPrimitive("db.drop_user", doc: dropUserDoc, DatabaseAdministration.dropUser),
        // db.apply_updates(connection, database, directory [, {plugin_id=, revision=, only={files}}]) -> file names applied
        LuaPrimitive("db.apply_updates", doc: applyUpdatesDoc, SQLUpdates.applyUpdates),
        // db.load_sql_file(connection, database, path) -> statements run (cannot be undone)
        LuaPrimitive("db.load_sql_file", doc: loadSqlFileDoc, SQLUpdates.loadSQLFile),
    ] }

    // MARK: db.query

    static var queryDoc: APIFunction {
        APIFunction(.read, "connection: string  a `[databases.NAME]` of the configuration", "sql: string  a read-only statement with `?` placeholders", "params?: any[]  the values for the placeholders",
            returns: ["table<string, any>[]  every row, keyed by column name"],
            doc: """
            Runs a read-only statement and returns every row. The statement must start with
            `SELECT`, `SHOW`, `DESCRIBE`, `DESC`, `EXPLAIN` or `WITH`; anything else raises
            `db.query only reads (SELECT, SHOW, ...); use db.exec, db.insert, db.update or db.delete to change data`.
            Runs for real in a dry-run too; it does not see writes planned by the dry-run.
            """,
            example: """
            local rows = db.query("internal", "SELECT id, hostname FROM install_sites WHERE install_id = ?", { install.id })
            for _, row in ipairs(rows) do print(row.id, row.hostname) end
            """)
    }

    static func query(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let (name, sql, params) = try statement(call)
        try requireRead(sql, call: call)
        let result = try run(name, sql, session) { try session.databases.connection(name).query(sql, params) }
        try call.push(.table(LuaTable(array: result.rows.map(rowValue))))
        return 1
    }

    // MARK: db.query_one

    static var queryOneDoc: APIFunction {
        APIFunction(.read, "connection: string  a `[databases.NAME]` of the configuration", "sql: string  a read-only statement with `?` placeholders", "params?: any[]  the values for the placeholders",
            returns: ["table<string, any>|nil  the first row, or `nil` when there is none"],
            doc: "Like `db.query`, but returns only the first row.",
            example: """
            local install = db.query_one("internal", "SELECT * FROM installs WHERE name = ?", { args.name })
            if not install then error("no install named " .. args.name) end
            """)
    }

    static func queryOne(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let (name, sql, params) = try statement(call)
        try requireRead(sql, call: call)
        let result = try run(name, sql, session) { try session.databases.connection(name).query(sql, params) }
        if let row = result.first { try call.push(rowValue(row)) } else { call.pushNil() }
        return 1
    }

    // MARK: db.exec

    static var execDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "sql: string  any statement, with `?` placeholders", "params?: any[]  the values for the placeholders",
            "options?: db.ExecOptions",
            returns: ["db.ExecResult"],
            doc: """
            Runs any statement as an effect. Without `undo` the effect cannot be undone: it is marked
            `!`, the journal is fsynced before it runs, and `runbook undo` reports it as
            `cannot be undone`. With `undo = { "SQL", { params } }` the effect is marked `~` and its
            undo runs that statement.

            Effect: `! run on CONNECTION: SQL` or `~ run on CONNECTION: SQL` (`db.exec`; the SQL on one
            line, cut at 100 characters). Dry-run: nothing is sent to the server; both fields of the
            result are the strings `(known after apply: affected rows)` and
            `(known after apply: insert id)`.
            """,
            example: """
            db.exec("internal", "UPDATE queue SET status = ? WHERE id = ?", { "running", job.id },
                    { undo = { "UPDATE queue SET status = ? WHERE id = ?", { job.status, job.id } } })
            """,
            classes: [APIClass("db.ExecOptions", "undo?: any[]  `{ SQL, { params } }`: the statement that reverses this one"),
                      APIClass("db.ExecResult", "affected_rows: integer|string  rows the server changed", "insert_id: integer|string  the insert id")])
    }

    static func exec(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let (name, sql, params) = try statement(call)
        var undo: (String, [SQLValue])?
        if let options = try call.optionalTable(4), case .table(let spec) = options["undo"] {
            guard let undoSQL = spec.array.first?.stringValue else { throw call.argumentError(4, "undo must be { sql, params }") }
            undo = (undoSQL, try sqlValues(spec.array.dropFirst().first?.tableValue?.array ?? [], call: call, position: 4))
        }
        let outcome = try run(name, sql, session) {
            try session.perform(ExecuteSQL(connection: name, sql: sql, params: params, undo: undo))
        }
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    // MARK: db.quote_name

    static var quoteNameDoc: APIFunction {
        APIFunction(.pure, "name: string  a database, table or column name, whatever it holds",
            returns: ["string  the name in backticks, every backtick inside doubled"],
            doc: """
            The one way to put a name into SQL text (names cannot be `?` parameters): wraps it
            in backticks and doubles every backtick inside, so the server reads it as exactly
            one name whatever it holds — ``db.quote_name("na`me")`` is ```"`na``me`"```. Use it for
            every name the runbook does not spell itself, above all names read from the
            server (a store's database user may create a table called
            ``a` TO `internal`.`x``). Quote each part on its own:
            `db.quote_name(schema) .. "." .. db.quote_name(table)`. An empty name raises
            `db.quote_name: an empty name cannot be an SQL identifier`, one with a NUL byte
            `db.quote_name: the name 'a\\0b' holds a NUL byte, which no SQL identifier may`, and
            bytes that are not UTF-8 `db.quote_name: the name is not valid UTF-8`.
            """,
            example: """
            for _, row in ipairs(db.query("installs", "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", { name })) do
              local from = db.quote_name(name) .. "." .. db.quote_name(row.t)
              local to = db.quote_name("trash_" .. name) .. "." .. db.quote_name(row.t)
              db.exec("installs", "RENAME TABLE " .. from .. " TO " .. to, {}, { undo = { "RENAME TABLE " .. to .. " TO " .. from, {} } })
            end
            """)
    }

    static func quoteName(_ call: LuaCall) throws -> Int32 {
        let bytes = try call.bytes(1)
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw LuaHostFailure("\(call.name): the name is not valid UTF-8")
        }
        do {
            call.push(try SQLIdentifier.quote(name))
        } catch let failure as DatabaseFailure {
            throw LuaHostFailure("\(call.name): \(failure.description)")
        }
        return 1
    }

    // MARK: db.insert

    static var insertDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "table: string  `sites` or `schema.sites`", "row: table<string, any>  `column = value`, not empty",
            returns: ["integer|string  the id the server reports for the row"],
            doc: """
            Inserts one row and returns the id the server reports for it (`LAST_INSERT_ID` of an
            auto-increment key). For a table without an auto-increment key the real run returns `0`,
            not the key you gave; use the value from `row`.

            Effect: `+ insert into CONNECTION.TABLE: col='value', ...` (`db.insert`).
            Undo: delete the row by its primary key — the key given in `row`, or the id the server
            assigned. If the run died before that id was journaled, undo deletes the one row that has
            exactly all the inserted values. Then, for a single integer key, the table's
            `AUTO_INCREMENT` goes back to the row's id if it still stands just past it (no id was
            taken since), so the same insert after the undo gets the same id; if the counter moved
            on, or the server refuses the `ALTER TABLE`, it stays where it is (InnoDB never sets it
            below the largest id + 1).
            Dry-run: reads the table's primary key from the server (so the database must be up), sends
            nothing else; returns the key's value when `row` gives a single-column primary key,
            otherwise the string `(known after apply: TABLE.KEY)`.
            """,
            example: #"local site_id = db.insert("internal", "install_sites", { install_id = install.id, hostname = args.hostname })"#)
    }

    static func insert(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let table = try call.string(2)
        _ = try SQLIdentifier.validate(table, what: "table")
        let row = try columns(try call.table(3), call: call, position: 3)
        guard !row.isEmpty else { throw call.argumentError(3, "the row has no columns") }
        let key = try run(name, "primary key of \(table)", session) { try session.databases.primaryKey(name, table: table) }
        let outcome = try run(name, "INSERT INTO \(table)", session) {
            try session.perform(InsertRow(connection: name, table: table, row: row, primaryKey: key))
        }
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    // MARK: db.update

    static var updateDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "table: string  `sites` or `schema.sites`", "set: table<string, any>  the new values, `column = value`",
            "where: table<string, any>  which rows, `column = value`, not empty",
            returns: ["integer  the number of rows changed"],
            doc: """
            Sets the columns in `set` on the rows that match `where`. The table must have a primary
            key (`db.update: table log has no primary key, so its undo cannot be computed`). Before
            changing anything it reads the matching rows (their before-images, for undo). If no
            matching row differs from `set` it makes no effect and returns `0`. In a dry-run it
            returns the number of rows that differ. Whether a row "differs" compares typed values:
            setting a `DECIMAL` column to a Lua number, or an integer column to a float, always
            counts as a change.

            Effect: `~ update CONNECTION.TABLE set col='v' where key='k' (N rows)` (`db.update`).
            Undo: for each changed row, set the changed columns back to their old values, found by
            primary key. Do not change primary-key columns with `db.update`: the undo would not find
            the row.
            """,
            example: #"db.update("internal", "installs", { plan = "free" }, { id = install.id })"#)
    }

    static func update(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
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
        try JsonModule.push(outcome.result ?? .int(0), to: call)
        return 1
    }

    // MARK: db.delete

    static var deleteDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "table: string  `sites` or `schema.sites`", "where: table<string, any>  which rows, `column = value`, not empty",
            returns: ["integer  the number of rows deleted (in a dry-run: that match)"],
            doc: """
            Deletes the rows matching `where`. Reads them first; if none match it makes no effect
            and returns `0`.

            Effect: `- delete from CONNECTION.TABLE where col='v' (N rows)` (`db.delete`).
            Undo: insert every deleted row again with all its columns.
            """,
            example: #"db.delete("internal", "install_site_ips", { install_site_id = site.id })"#)
    }

    static func delete(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
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
        try JsonModule.push(outcome.result ?? .int(0), to: call)
        return 1
    }

    // MARK: db.create_database

    static var createDatabaseDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "name: string  the database", "options?: db.CreateDatabaseOptions",
            returns: ["boolean  `true` if created, `false` if it existed and `exists_ok` was given"],
            doc: """
            Creates a database (`+`); undo drops it. If it already exists the run fails and nothing
            changes — with `exists_ok = true` it returns `false` instead, and undo never drops a
            database it did not create.
            """,
            classes: [APIClass("db.CreateDatabaseOptions", "exists_ok?: boolean  an existing database is no error",
                               "charset?: string  the default character set", "collation?: string  the default collation")])
    }

    // MARK: db.drop_database

    static var dropDatabaseDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "name: string  the database",
            returns: ["boolean  `true` if dropped, `false` if absent"],
            doc: """
            Drops a database; cannot be undone (`!`, the plan says how many tables it holds). Refuses
            `mysql`, `information_schema`, `performance_schema` and `sys`.
            """)
    }

    // MARK: db.create_user

    static var createUserDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "user: string  the account's user name", "options: db.CreateUserOptions",
            returns: ["string  the password (generated when none is given)"],
            doc: """
            Creates a user and grants it `privileges` on that one database. Without `password` it
            generates 32 random letters and digits. The password is a secret from the moment it
            exists: masked in every log, plan, error and journal line (the plan says "generated" or
            "given"), and the server gets only its hash (`IDENTIFIED BY PASSWORD '*...'`,
            mysql_native_password), so its binary log and a replica's relay log never hold it.
            Undo: `DROP USER`.
            """,
            example: """
            db.create_database("master", install.db_name)
            local password = db.create_user("master", install.db_user, { database = install.db_name })
            fs.write(home .. "/heavymetal/config.php", template.render_file(tpl, { db = { name = install.db_name, password = password } }),
                     { mode = "0640", secret = true })
            """,
            classes: [APIClass("db.CreateUserOptions", "database: string  the database it gets privileges on",
                               "host?: string  default `\"localhost\"`", "password?: string  default: generated",
                               "privileges?: string  default `\"ALL PRIVILEGES\"`")])
    }

    // MARK: db.drop_user

    static var dropUserDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "user: string  the account's user name", "options?: db.DropUserOptions",
            returns: ["boolean  `true` if dropped"],
            doc: """
            Drops a user. Cannot be undone: restoring the account would mean keeping its password
            hash in the journal.
            """,
            classes: [APIClass("db.DropUserOptions", "host?: string  default `\"localhost\"`")])
    }

    // MARK: db.apply_updates

    static var applyUpdatesDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "database: string  the database to update", "dir: string  the folder of `.sql` files",
            "options?: db.ApplyUpdatesOptions",
            returns: ["string[]  the file names applied (planned in a dry-run)"],
            doc: """
            The guide's "mut": applies, in file-name order, the `.sql` files of `dir` that the
            database's `database_updates` table does not list yet, and records each one (filename,
            plugin_id, revision, applied_at). Each file is one `!` effect. Statements are split by the
            engine (strings, backticks, comments and `DELIMITER` understood), so a failure names the
            file, the statement's line, the MySQL error and the statement itself (on one line, cut
            at 200 characters):

            ```
            updates/0003_add_vars.sql:6: MySQL error 1146 (42S02): Table 'shop.varz' doesn't exist [in: UPDATE varz SET value = 'x']
            ```

            With `only = {"0042_fix.sql"}` just those files of `dir` are considered (each must be a
            `.sql` file there): a snippet for chosen installs, recorded like any update.

            In a dry-run the already-applied list is read for real and the files to apply are planned
            (all of them, when the database is only planned by an earlier `db.create_database`).
            """,
            classes: [APIClass("db.ApplyUpdatesOptions", "plugin_id?: integer|string  recorded with each file",
                               "revision?: integer|string  recorded with each file", "only?: string[]  just these files of `dir`")])
    }

    // MARK: db.load_sql_file

    static var loadSqlFileDoc: APIFunction {
        APIFunction(.effect, "connection: string  a `[databases.NAME]` of the configuration", "database: string  the database", "path: string  the SQL file",
            returns: ["integer  the number of statements run"],
            doc: "Runs a whole SQL file (a schema) in `database`; cannot be undone (`!`).")
    }

    // MARK: Helpers

    package static func statement(_ call: LuaCall) throws -> (String, String, [SQLValue]) {
        let name = try call.string(1)
        let sql = try call.string(2)
        let params = try call.optionalSequence(3).map { try sqlValues($0, call: call, position: 3) } ?? []
        return (name, sql, params)
    }

    /// db.query may only read: a dry-run runs it for real.
    package static func requireRead(_ sql: String, call: LuaCall) throws {
        let first = sql.trimmed.prefix(while: { $0.isLetter }).uppercased()
        guard ["SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "WITH"].contains(first) else {
            throw LuaHostFailure("\(call.name) only reads (SELECT, SHOW, ...); use db.exec, db.insert, db.update or db.delete to change data")
        }
    }

    /// Runs a database action, naming the connection and statement in any failure.
    package static func run<T>(_ name: String, _ what: String, _ session: RunSession, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DBError {
            if error.kind == .connectionClosed || error.code == 2006 || error.code == 2013 { session.databases.discard(name) }
            throw DatabaseFailure("database '\(name)': \(error)")
        }
    }

    package static func whereClause(_ filter: [(String, SQLValue)]) throws -> String {
        try filter.map { "\(try SQLIdentifier.validate($0.0, what: "column")) <=> ?" }.joined(separator: " AND ")
    }

    package static func columns(_ table: LuaTable, call: LuaCall, position: Int32) throws -> [(String, SQLValue)] {
        guard table.array.isEmpty else { throw call.argumentError(position, "expected a table of column = value") }
        return try table.sortedStringFields.map { key, value in
            _ = try SQLIdentifier.validate(key, what: "column")
            return (key, try sqlValue(value, call: call, position: position))
        }
    }

    package static func sqlValues(_ values: [LuaValue], call: LuaCall, position: Int32) throws -> [SQLValue] {
        try values.map { try sqlValue($0, call: call, position: position) }
    }

    package static func sqlValue(_ value: LuaValue, call: LuaCall, position: Int32) throws -> SQLValue {
        switch value {
        case .nil, .null: return .null
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

    package static func rowValue(_ row: Row) -> LuaValue {
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
}
