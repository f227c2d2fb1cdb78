// The guide's "Mut": apply a directory's SQL update files to an install's database, in file
// name order, skipping those its `database_updates` table already lists, and record each
// one there (filename, plugin_id, revision, applied_at) — what the guide does by hand under
// "Specific snippet updating". Also db.load_sql_file, for the schema an install starts from.
// This file holds the effect; the Lua side is Modules/SQLUpdateFunctions.swift.
//
// One effect per file. SQL files are mostly DDL, which MySQL commits as it goes, so a file
// cannot be undone: each effect is marked `!`. A run that creates the database and fails
// relies on the undo of db.create_database (dropping the whole database) instead.

import LuaBridge
import MySQLClient
import RunbookSupport

/// What is recorded in `database_updates` once a file is applied.
package struct UpdateRecord {
    package var filename: String
    package var pluginID: SQLValue?
    package var revision: SQLValue?
    /// The table has an `applied_at` column (set to NOW()).
    package var appliedAt: Bool

    package init(filename: String, pluginID: SQLValue? = nil, revision: SQLValue? = nil, appliedAt: Bool) {
        self.filename = filename
        self.pluginID = pluginID
        self.revision = revision
        self.appliedAt = appliedAt
    }
}

/// A SQL file failed: `updates/0003_add_vars.sql:12: MySQL error 1146 (42S02): Table ... doesn't
/// exist [in: UPDATE varz SET ...]` — the file, the statement's line, the error and the
/// statement on one line (cut at 200 characters), as an operator reads it in a queue record.
package struct SQLFileFailure: Error, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var statement: String
    package var error: DBError

    package static let shownStatementLength = 200

    package var description: String {
        let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        let shown = words.count > Self.shownStatementLength ? String(words.prefix(Self.shownStatementLength)) + " ..." : words
        switch error.kind {
        case .server, .client: return "\(file):\(line): MySQL error \(error.code) (\(error.sqlState)): \(error.message) [in: \(shown)]"
        default: return "\(file):\(line): MySQL client error: \(error.message) [in: \(shown)]"
        }
    }
}

/// Runs the statements of one SQL file on its database, and records it when it is an update.
package struct ApplySQLFile: Effect {
    package let connection: String
    package let database: String
    /// The path as the runbook named it (messages, plan, journal).
    package let file: String
    package let statements: [SQLStatement]
    /// nil for db.load_sql_file (nothing is recorded).
    package let record: UpdateRecord?

    package var kind: String { record == nil ? "db.load_sql_file" : "db.apply_update" }
    package var sign: ChangeSign { .irreversible }
    package var summary: String {
        let count = "\(statements.count) statement\(statements.count == 1 ? "" : "s")"
        return record == nil
            ? "load \(file) into \(database) on \(connection) (\(count))"
            : "apply update \(file) to \(database) on \(connection) (\(count))"
    }
    package var identity: JSON {
        var fields: [(String, JSON)] = [("connection", .string(connection)), ("database", .string(database)),
                                        ("file", .string(file)), ("statements", .int(Int64(statements.count)))]
        if let record {
            fields.append(("filename", .string(record.filename)))
            if let plugin = record.pluginID { fields.append(("plugin_id", SQLValueCoding.json(plugin))) }
            if let revision = record.revision { fields.append(("revision", SQLValueCoding.json(revision))) }
        }
        return .object(fields)
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? { nil }

    package func apply(_ world: World) throws -> EffectOutcome {
        // A connection of its own, with the database as its default: the files name their
        // tables unqualified, and whatever session state a file sets (SET, USE) stays there.
        var options = try world.databases.connection(connection).options
        options.database = database
        let target: Connection
        do {
            target = try Connection(options)
        } catch {
            throw DatabaseFailure("\(file): cannot connect to database \(database) through '\(connection)': \(error)")
        }
        defer { target.close() }
        for statement in statements {
            do {
                try target.executeText(statement.text)
            } catch let error as DBError {
                throw SQLFileFailure(file: file, line: statement.line, statement: statement.text, error: error)
            }
        }
        guard let record else { return EffectOutcome(result: .int(Int64(statements.count))) }
        var columns = ["`filename`"]
        var values: [SQLValue] = [.string(record.filename)]
        if let plugin = record.pluginID { columns.append("`plugin_id`"); values.append(plugin) }
        if let revision = record.revision { columns.append("`revision`"); values.append(revision) }
        var placeholders = Array(repeating: "?", count: values.count)
        if record.appliedAt { columns.append("`applied_at`"); placeholders.append("NOW()") }
        let sql = "INSERT INTO \(try SQLIdentifier.quote(database)).`database_updates` (\(columns.joined(separator: ", "))) "
            + "VALUES (\(placeholders.joined(separator: ", ")))"
        do {
            try target.execute(sql, values)
        } catch let error as DBError {
            throw DatabaseFailure("\(file) was applied, but recording it in \(database).database_updates failed: "
                                  + "MySQL error \(error.code) (\(error.sqlState)): \(error.message)")
        }
        return EffectOutcome(result: .string(record.filename))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        if let record {
            overlay.databases.addPlannedUpdate(connection, database, file: record.filename)
            return EffectOutcome(result: .string(record.filename))
        }
        overlay.databases.markChanged(connection, database)
        return EffectOutcome(result: .int(Int64(statements.count)))
    }

    package init(connection: String, database: String, file: String, statements: [SQLStatement], record: UpdateRecord?) {
        self.connection = connection
        self.database = database
        self.file = file
        self.statements = statements
        self.record = record
    }
}
