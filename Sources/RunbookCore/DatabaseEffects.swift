// Database effects: insert, update and delete with undo computed from before-images, and
// raw statements (irreversible unless they declare their undo).

import MySQLClient
import RunbookSupport

/// A value known only after the effect is applied (an auto-increment id), in a dry-run.
package enum SymbolicValue {
    package static func text(_ what: String) -> String { "(known after apply: \(what))" }
    package static func isSymbolic(_ text: String) -> Bool { text.hasPrefix("(known after apply") }
}

private func whereClause(_ columns: [String]) throws -> String {
    try columns.map { "\(try SQLIdentifier.validate($0, what: "column")) <=> ?" }.joined(separator: " AND ")
}

private func describe(_ pairs: [(String, SQLValue)], _ redactor: Redactor? = nil) -> String {
    pairs.map { "\($0.0)=\(SQLValueCoding.display($0.1, masking: redactor))" }.joined(separator: ", ")
}

private func undoExec(_ connection: String, _ sql: String, _ params: [SQLValue]) -> ExecuteSQLUndo {
    ExecuteSQLUndo(connection: connection, sql: sql, params: params.map(SQLValueCoding.json))
}

/// After the row with `id` is deleted again, the table's AUTO_INCREMENT goes back to `id`
/// if it still stands just past it (see `RewindAutoIncrementUndo`).
private func undoCounter(_ connection: String, _ table: String, _ id: Int64) -> RewindAutoIncrementUndo {
    RewindAutoIncrementUndo(connection: connection, table: table, id: id)
}

private func rowJSON(_ row: [(String, SQLValue)]) -> [(String, JSON)] { row.map { ($0.0, SQLValueCoding.json($0.1)) } }

/// An effect on the database server its connection names, reached from this host over the
/// connection: inside `on(HOST, ...)` it runs from here as anywhere else (the connection,
/// not the host, says which server it changes).
package protocol DatabaseServerEffect: Effect {
    var connection: String { get }
}

extension InsertRow: DatabaseServerEffect {}
extension UpdateRows: DatabaseServerEffect {}
extension DeleteRows: DatabaseServerEffect {}
extension ExecuteSQL: DatabaseServerEffect {}
extension CreateDatabase: DatabaseServerEffect {}
extension DropDatabase: DatabaseServerEffect {}
extension CreateUser: DatabaseServerEffect {}
extension DropUser: DatabaseServerEffect {}
extension ApplySQLFile: DatabaseServerEffect {}

/// An effect whose summary shows the values it writes or matches: the log's copy masks the
/// run's secrets in them before they are joined or cut (a cut secret no longer matches).
package protocol ValueShowingEffect: Effect {
    func summary(masking redactor: Redactor?) -> String
}

extension ValueShowingEffect {
    package var summary: String { summary(masking: nil) }
    package func maskedSummary(_ redactor: Redactor) -> String { redactor.mask(summary(masking: redactor)) }
}

package struct InsertRow: ValueShowingEffect {
    package let connection: String
    package let table: String
    package let row: [(String, SQLValue)]
    /// Primary-key columns; when the row lacks them the key is assigned by the server.
    package let primaryKey: [String]
    package var kind: String { "db.insert" }
    package var sign: ChangeSign { .create }
    package func summary(masking redactor: Redactor?) -> String { "insert into \(connection).\(table): \(describe(row, redactor))" }
    package var identity: JSON {
        .object([("connection", .string(connection)), ("table", .string(table)),
                 ("row", .object(row.map { ($0.0, SQLValueCoding.json($0.1)) }))])
    }

    package var keyGivenInRow: [(String, SQLValue)]? {
        guard !primaryKey.isEmpty else { return nil }
        let values = primaryKey.compactMap { key in row.first { $0.0 == key } }
        return values.count == primaryKey.count ? values : nil
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        let quoted = try SQLIdentifier.validate(table, what: "table")
        if let key = keyGivenInRow {
            let delete = undoExec(connection, "DELETE FROM \(quoted) WHERE \(try whereClause(key.map(\.0))) LIMIT 1", key.map(\.1))
            // An id taken ahead (stdlib/ids.lua) moved the counter past it like an assigned one.
            if key.count == 1, let id = key[0].1.int64, id > 0 { return [delete, undoCounter(connection, table, id)] }
            return [delete]
        }
        // The id is not known yet: if we crash before the outcome is journaled, undo finds
        // the row by all the values it was inserted with.
        return [DeleteInsertedRowUndo(connection: connection, table: table, row: rowJSON(row))]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        let quoted = try SQLIdentifier.validate(table, what: "table")
        let columns = try row.map { try SQLIdentifier.validate($0.0, what: "column") }
        let sql = "INSERT INTO \(quoted) (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: row.count).joined(separator: ", ")))"
        let result = try world.databases.connection(connection).execute(sql, row.map(\.1))
        var outcome = EffectOutcome(result: .int(Int64(clamping: result.lastInsertID)))
        if keyGivenInRow == nil, primaryKey.count == 1, result.lastInsertID > 0 {
            let id = Int64(clamping: result.lastInsertID)
            outcome.undo = [undoExec(connection, "DELETE FROM \(quoted) WHERE \(try whereClause(primaryKey)) LIMIT 1", [.int(id)]),
                            undoCounter(connection, table, id)]
        }
        return outcome
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        if let key = keyGivenInRow, key.count == 1 { return EffectOutcome(result: SQLValueCoding.json(key[0].1)) }
        return EffectOutcome(result: .string(SymbolicValue.text("\(table).\(primaryKey.first ?? "id")")))
    }

    package init(connection: String, table: String, row: [(String, SQLValue)], primaryKey: [String]) {
        self.connection = connection
        self.table = table
        self.row = row
        self.primaryKey = primaryKey
    }
}

package struct UpdateRows: ValueShowingEffect {
    package let connection: String
    package let table: String
    package let changes: [(String, SQLValue)]
    package let filter: [(String, SQLValue)]
    package let primaryKey: [String]
    /// The rows as they are before the update (read when the effect is built).
    package let before: [Row]
    package var kind: String { "db.update" }
    package var sign: ChangeSign { .change }
    package func summary(masking redactor: Redactor?) -> String {
        "update \(connection).\(table) set \(describe(changes, redactor)) where \(describe(filter, redactor)) (\(before.count) row\(before.count == 1 ? "" : "s"))"
    }
    package var identity: JSON {
        .object([("connection", .string(connection)), ("table", .string(table)),
                 ("set", .object(changes.map { ($0.0, SQLValueCoding.json($0.1)) })),
                 ("where", .object(filter.map { ($0.0, SQLValueCoding.json($0.1)) })),
                 ("rows", .int(Int64(before.count)))])
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        let quoted = try SQLIdentifier.validate(table, what: "table")
        let assignments = try changes.map { "\(try SQLIdentifier.validate($0.0, what: "column")) = ?" }.joined(separator: ", ")
        return try before.map { row in
            let oldValues = changes.map { row[$0.0] ?? .null }
            let keyValues = primaryKey.map { row[$0] ?? .null }
            return undoExec(connection, "UPDATE \(quoted) SET \(assignments) WHERE \(try whereClause(primaryKey))", oldValues + keyValues)
        }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        let quoted = try SQLIdentifier.validate(table, what: "table")
        let assignments = try changes.map { "\(try SQLIdentifier.validate($0.0, what: "column")) = ?" }.joined(separator: ", ")
        let sql = "UPDATE \(quoted) SET \(assignments) WHERE \(try whereClause(filter.map(\.0)))"
        let result = try world.databases.connection(connection).execute(sql, changes.map(\.1) + filter.map(\.1))
        return EffectOutcome(result: .int(Int64(clamping: result.affectedRows)))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome { EffectOutcome(result: .int(Int64(before.count))) }

    package init(connection: String, table: String, changes: [(String, SQLValue)], filter: [(String, SQLValue)], primaryKey: [String], before: [Row]) {
        self.connection = connection
        self.table = table
        self.changes = changes
        self.filter = filter
        self.primaryKey = primaryKey
        self.before = before
    }
}

package struct DeleteRows: ValueShowingEffect {
    package let connection: String
    package let table: String
    package let filter: [(String, SQLValue)]
    package let before: [Row]
    package var kind: String { "db.delete" }
    package var sign: ChangeSign { .remove }
    package func summary(masking redactor: Redactor?) -> String {
        "delete from \(connection).\(table) where \(describe(filter, redactor)) (\(before.count) row\(before.count == 1 ? "" : "s"))"
    }
    package var identity: JSON {
        .object([("connection", .string(connection)), ("table", .string(table)),
                 ("where", .object(filter.map { ($0.0, SQLValueCoding.json($0.1)) })), ("rows", .int(Int64(before.count)))])
    }

    /// Each deleted row goes back only if it is not there: a crash between the intent and the
    /// delete leaves the rows in place, and a plain INSERT would then fail on the duplicate
    /// key at every `runbook undo` (found by the crash campaign, docs/reliability.md).
    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        _ = try SQLIdentifier.validate(table, what: "table")
        return try before.map { row in
            for column in row.columns { _ = try SQLIdentifier.validate(column, what: "column") }
            return ReinsertDeletedRowUndo(connection: connection, table: table, row: rowJSON(Array(zip(row.columns, row.values))))
        }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        let quoted = try SQLIdentifier.validate(table, what: "table")
        let result = try world.databases.connection(connection).execute(
            "DELETE FROM \(quoted) WHERE \(try whereClause(filter.map(\.0)))", filter.map(\.1))
        return EffectOutcome(result: .int(Int64(clamping: result.affectedRows)))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome { EffectOutcome(result: .int(Int64(before.count))) }

    package init(connection: String, table: String, filter: [(String, SQLValue)], before: [Row]) {
        self.connection = connection
        self.table = table
        self.filter = filter
        self.before = before
    }
}

package struct ExecuteSQL: ValueShowingEffect {
    package let connection: String
    package let sql: String
    package let params: [SQLValue]
    package let undo: (sql: String, params: [SQLValue])?
    package var kind: String { "db.exec" }
    package var sign: ChangeSign { undo == nil ? .irreversible : .change }
    /// Masks before cutting the statement (a secret pasted into SQL must not be half shown).
    package func summary(masking redactor: Redactor?) -> String {
        .concatenating("run on ", connection, ": ", ExecuteSQL.shortLine(redactor?.mask(sql) ?? sql))
    }

    /// The statement on one line (line breaks become spaces) and at most 100 characters.
    /// Every db.exec makes its summary, so the usual case — one line, not long — is taken
    /// by its bytes without splitting the text into Characters. The result is the same in
    /// every case.
    package static func shortLine(_ text: String) -> String {
        let simple = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.count <= 100 && !bytes.contains(where: { $0 == 0x0A || $0 == 0x0D })
        }
        // At most 100 bytes is at most 100 Characters, and with no CR or LF byte no
        // Character is "\n" or "\r": the split below would give the text back unchanged
        // (an empty text, an empty one).
        if simple == true { return text }
        let oneLine = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        return oneLine.count > 100 ? String(oneLine.prefix(97)) + "..." : oneLine
    }
    package var identity: JSON {
        .object([("connection", .string(connection)), ("sql", .string(sql)), ("params", .array(params.map(SQLValueCoding.json)))])
    }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        guard let undo else { return nil }
        return [undoExec(connection, undo.sql, undo.params)]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        let result = try world.databases.connection(connection).execute(sql, params)
        return EffectOutcome(result: .object([("affected_rows", .int(Int64(clamping: result.affectedRows))),
                                              ("insert_id", .int(Int64(clamping: result.lastInsertID)))]))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.databases.markOpaque(connection)
        return EffectOutcome(result: .object([("affected_rows", .string(SymbolicValue.text("affected rows"))),
                                       ("insert_id", .string(SymbolicValue.text("insert id")))]))
    }

    package init(connection: String, sql: String, params: [SQLValue], undo: (sql: String, params: [SQLValue])?) {
        self.connection = connection
        self.sql = sql
        self.params = params
        self.undo = undo
    }
}

// MARK: - Undo

/// Runs a statement that reverses an effect (the runbook's undo of db.exec, the key-matched
/// delete of an insert, the update back to the before-image).
package struct ExecuteSQLUndo: UndoAction {
    package static let op = "db.exec"
    package let connection: String
    package let sql: String
    package let params: [JSON]

    package var description: String { "run \(sql)" }

    package func run(in world: World) throws {
        _ = try world.databases.connection(connection).execute(sql, params.map(SQLValueCoding.sql))
    }
}

extension ExecuteSQLUndo {
    package init(args: JSON) throws {
        connection = try args.undoString("connection", of: Self.op)
        sql = try args.undoString("sql", of: Self.op)
        params = args["params"]?.arrayValue ?? []
    }

    package var args: [(String, JSON)] { [("connection", .string(connection)), ("sql", .string(sql)), ("params", .array(params))] }
}

/// What an undo step does with a whole row it finds again by all its values, and its name in
/// the journal.
package protocol WholeRowStep: Sendable {
    static var op: String { get }
    static func describe(table: String) -> String
    static func run(_ step: WholeRowUndo<Self>, match: RowMatch, in world: World) throws
}

/// How a whole row is found: the quoted table, a WHERE clause matching every value, the values to bind.
package typealias RowMatch = (table: String, clause: String, values: [SQLValue])

/// Undo of a delete: the row is inserted again unless a row with exactly its values is
/// there (the delete never happened, or this undo already ran).
package typealias ReinsertDeletedRowUndo = WholeRowUndo<ReinsertDeletedRow>
/// Undo of an insert whose id never reached the journal: delete the one row that has
/// exactly the inserted values, if there is exactly one.
package typealias DeleteInsertedRowUndo = WholeRowUndo<DeleteInsertedRow>

/// A whole row an undo step finds again by all its values: journaled as
/// `{"connection": ..., "table": ..., "row": {COLUMN: VALUE, ...}}`.
package struct WholeRowUndo<Step: WholeRowStep>: UndoAction {
    package static var op: String { Step.op }
    package let connection: String
    package let table: String
    package let row: [(String, JSON)]

    package var description: String { Step.describe(table: table) }

    /// An empty row has nothing to find.
    package func run(in world: World) throws {
        guard !row.isEmpty else { return }
        try Step.run(self, match: (try SQLIdentifier.validate(table, what: "table"), try whereClause(row.map(\.0)),
                                   row.map { SQLValueCoding.sql($0.1) }), in: world)
    }
}

extension WholeRowUndo {
    package init(args: JSON) throws {
        self.init(connection: try args.undoString("connection", of: Self.op), table: try args.undoString("table", of: Self.op),
                  row: args["row"]?.objectValue ?? [])
    }

    package var args: [(String, JSON)] { [("connection", .string(connection)), ("table", .string(table)), ("row", .object(row))] }
}

package enum ReinsertDeletedRow: WholeRowStep {
    package static let op = "db.reinsert_deleted"
    package static func describe(table: String) -> String { "insert the deleted row back into \(table)" }

    package static func run(_ step: WholeRowUndo<Self>, match: RowMatch, in world: World) throws {
        let database = try world.databases.connection(step.connection)
        let present = try database.query("SELECT COUNT(*) FROM \(match.table) WHERE \(match.clause)", match.values)
        if (present.first?[0].int64 ?? 0) > 0 { return }
        let columns = try step.row.map { try SQLIdentifier.validate($0.0, what: "column") }
        _ = try database.execute("INSERT INTO \(match.table) (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: step.row.count).joined(separator: ", ")))",
                                 match.values)
    }
}

package enum DeleteInsertedRow: WholeRowStep {
    package static let op = "db.delete_inserted"
    package static func describe(table: String) -> String { "delete the inserted row from \(table)" }

    package static func run(_ step: WholeRowUndo<Self>, match: RowMatch, in world: World) throws {
        let (quoted, clause, values) = match
        let (connection, table) = (step.connection, step.table)
        let matches = try world.databases.connection(connection).query("SELECT COUNT(*) FROM \(quoted) WHERE \(clause)", values)
        let count = matches.first?[0].int64 ?? 0
        if count == 0 { return }
        guard count == 1 else {
            throw UndoError("\(count) rows in \(table) match the inserted values; not guessing which one to delete")
        }
        // Its id, read before the row goes, so the counter can go back as after any insert.
        let key = try world.databases.primaryKey(connection, table: table)
        var id: Int64?
        if key.count == 1 {
            id = try world.databases.connection(connection).query(
                "SELECT \(try SQLIdentifier.validate(key[0], what: "column")) FROM \(quoted) WHERE \(clause)", values).first?[0].int64
        }
        _ = try world.databases.connection(connection).execute("DELETE FROM \(quoted) WHERE \(clause) LIMIT 1", values)
        if let id { try RewindAutoIncrementUndo.rewind(connection, table, to: id, world) }
    }
}

/// Undo of an insert, after its row is deleted: puts the table's AUTO_INCREMENT back to
/// the row's id, so an install undone and made again gets the same id. Only when the
/// counter still stands at id + 1: then no id was taken after this one (by this run or
/// anyone), and none above it is burnt twice. The server is the safety net under a race:
/// InnoDB never sets the counter below MAX(id) + 1, whatever ALTER TABLE asks, and the
/// ALTER waits for the transactions using the table. Lowering the counter is a courtesy,
/// never needed for correctness: a server that refuses it (no ALTER privilege, the
/// table locked for longer than 5 s) leaves the counter where it is and the undo
/// succeeds; only a lost connection fails it (the step runs again at the next undo).
package struct RewindAutoIncrementUndo: UndoAction {
    package static let op = "db.rewind_auto_increment"
    package let connection: String
    package let table: String
    /// nil: the journal lacks it, and there is nothing to do.
    package let id: Int64?

    package var description: String { "set the AUTO_INCREMENT of \(table) back to \(id ?? 0) if no id was taken since" }

    package func run(in world: World) throws {
        guard let id else { return }
        try Self.rewind(connection, table, to: id, world)
    }

    package static func rewind(_ connection: String, _ table: String, to id: Int64, _ world: World) throws {
        guard id > 0 else { return }
        let quoted = try SQLIdentifier.validate(table, what: "table")
        let parts = table.split(separator: ".").map(String.init)
        let database = try world.databases.connection(connection)
        let counter = try database.query(
            "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = \(parts.count == 2 ? "?" : "DATABASE()") AND TABLE_NAME = ?",
            parts.map { .string($0) })
        guard counter.first?[0].int64 == id + 1 else { return }
        do {
            _ = try database.executeText("SET STATEMENT lock_wait_timeout = 5 FOR ALTER TABLE \(quoted) AUTO_INCREMENT = \(id)")
        } catch let error as DBError where error.kind == .server {
            return
        }
    }
}

extension RewindAutoIncrementUndo {
    package init(args: JSON) throws {
        id = args["id"]?.intValue
        // Without an id the step does nothing, whatever else it lacks.
        connection = id == nil ? (args["connection"]?.stringValue ?? "") : try args.undoString("connection", of: Self.op)
        table = id == nil ? (args["table"]?.stringValue ?? "") : try args.undoString("table", of: Self.op)
    }

    package var args: [(String, JSON)] {
        var args: [(String, JSON)] = [("connection", .string(connection)), ("table", .string(table))]
        if let id { args.append(("id", .int(id))) }
        return args
    }
}
