// Issue 15: names in SQL. db.quote_name makes any name one identifier (the server reads
// back exactly the name given, however hostile); no runbook or stdlib module quotes a name
// by hand; and undoing an insert puts the table's AUTO_INCREMENT back when nothing took an
// id since. All against the private MariaDB, through Engine in-process (AdminWorld).

@testable import RunbookEngine
import MySQLClient
import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("SQL names and counters", .serialized)
struct SQLNameTests {
    /// Names a store's database user can give its tables.
    static let hostileNames = [
        "a` TO `shopexam1`.`Q`,`internal`.`installs` TO `shopexam1`.`I`#",
        "na`me", "`", "``", "x.y", "semi;colon -- x", "quote'\"", "tick`\u{301}acute", "naïve 表",
    ]

    @Test("db.quote_name doubles backticks; the server creates and finds each hostile name exactly")
    func quotedNamesStayOneName() throws {
        let world = try AdminWorld()
        let database = world.names.name("quoted")
        try world.names.createDatabase(database, schema: nil)
        var list = ""
        for name in SQLNameTests.hostileNames { list += "  " + luaLiteral(name) + ",\n" }
        try world.addRunbook("quote", world.runbookText("""
            assert(db.quote_name("na`me") == "`na``me`", db.quote_name("na`me"))
            assert(db.quote_name("plain") == "`plain`")
            assert(db.quote_name("`") == "````")
            local names = {
            \(list)}
            step("Tables with hostile names", function()
              for i, name in ipairs(names) do
                db.exec("test", "CREATE TABLE " .. db.quote_name(args.db) .. "." .. db.quote_name(name) .. " (id INT)", {},
                        { undo = { "DROP TABLE " .. db.quote_name(args.db) .. "." .. db.quote_name(name), {} } })
                db.exec("test", "INSERT INTO " .. db.quote_name(args.db) .. "." .. db.quote_name(name) .. " (id) VALUES (?)", { i })
              end
            end)
        """))
        let result = world.run("quote", ["--db", database])
        #expect(result.status == .done, "\(result.error ?? "")")
        let tables = try world.names.tables(database)
        #expect(Set(tables) == Set(SQLNameTests.hostileNames), "the server has exactly the names given: \(tables)")
        for (index, name) in SQLNameTests.hostileNames.enumerated() {
            let rows = try world.names.admin.query("SELECT id FROM \(Connection.quoteIdentifier(database)).\(Connection.quoteIdentifier(name))")
            #expect(rows.rows.map { $0[0].int64 } == [Int64(index + 1)], "\(name)")
        }
        // Undo drops them by the same quoted names.
        #expect(world.undo(try #require(result.runID)).status == .done)
        #expect(try world.names.tables(database).isEmpty)
    }

    @Test("db.quote_name refuses an empty name, a NUL byte and bytes that are not UTF-8, each in one line")
    func badNamesAreRefused() throws {
        let world = try AdminWorld()
        for (code, problem) in [
            ("db.quote_name('')", "db.quote_name: an empty name cannot be an SQL identifier"),
            ("db.quote_name('a\\0b')", "db.quote_name: the name 'a\\0b' holds a NUL byte, which no SQL identifier may"),
            ("db.quote_name('a\\255b')", "db.quote_name: the name is not valid UTF-8"),
            ("db.quote_name(7)", "bad argument #1 to 'db.quote_name' (string expected, got number)"),
        ] {
            try world.addRunbook("bad", world.runbookText("  step(\"Quote\", function() \(code) end)", params: ""))
            let result = world.run("bad")
            #expect(result.status == .failed && result.error?.contains(problem) == true, "\(code): \(result.error ?? "no error")")
            #expect(result.error?.contains("\n") == false, "one line: \(result.error ?? "")")
            #expect(result.effects.isEmpty)
        }
    }

    @Test("no runbook or stdlib module puts a name between backticks by hand (db.quote_name does it)")
    func noHandQuotedNamesInTheRepository() throws {
        // The check itself catches the forms that were in the repository.
        for line in [#"local from = quoted(name) .. "." .. "`" .. row.t .. "`""#,
                     #"local vars_table = "`" .. install.db_name .. "`.vars""#,
                     #"db.query(C, "SELECT plugin_id FROM `" .. name .. "`.database_updates")"#,
                     #"db.exec(c, "TRUNCATE TABLE `" .. database .. "`.`cache`")"#,
                     #"db.exec(c, ("RENAME TABLE `%s` TO `%s`"):format(from, to))"#] {
            #expect(!HandQuoting.findings(in: line, file: "sample.lua").isEmpty, "not caught: \(line)")
        }
        for line in [#"log.info(("`runbook log %s` lists them"):format(id))"#,
                     #"log.warn("`runbook log %s` lists them, " .. "`runbook undo %s` moves them back")"#,
                     #"db.exec(c, "TRUNCATE TABLE " .. db.quote_name(database) .. ".cache")"#] {
            #expect(HandQuoting.findings(in: line, file: "sample.lua").isEmpty, "caught wrongly: \(line)")
        }

        var findings: [String] = []
        for folder in [Repo.runbooks, Repo.stdlib] {
            for file in try Posix.list(folder).sorted() where file.hasSuffix(".lua") {
                let source = try #require(Files.read(folder + "/" + file))
                findings += HandQuoting.findings(in: source, file: PathName.base(folder) + "/" + file)
            }
        }
        #expect(findings.isEmpty, "quote names with db.quote_name:\n\(findings.joined(separator: "\n"))")
    }

    @Test("undoing inserts puts AUTO_INCREMENT back, unless an id was taken after them")
    func undoRewindsTheCounter() throws {
        let world = try AdminWorld()
        let database = world.names.name("counter")
        try world.names.createDatabase(database, schema: nil)
        try world.names.admin.executeText("CREATE TABLE `\(database)`.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
        try world.names.admin.executeText("INSERT INTO `\(database)`.items (name) VALUES ('old')")
        func counter() throws -> Int64? {
            try world.names.admin.query("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items'",
                                        [.string(database)]).first?[0].int64
        }
        #expect(try counter() == 2)
        // One id from the server, one taken ahead and given (as stdlib/ids.lua does).
        try world.addRunbook("add", world.runbookText("""
            step("Items", function()
              assert(db.insert("test", args.db .. ".items", { name = "assigned" }) == 2)
              db.insert("test", args.db .. ".items", { id = 3, name = "given" })
            end)
        """))
        let run = world.run("add", ["--db", database])
        #expect(run.status == .done, "\(run.error ?? "")")
        #expect(try counter() == 4)
        #expect(world.undo(try #require(run.runID)).status == .done)
        #expect(try counter() == 2, "the counter is back where the run found it")
        #expect(try world.names.admin.query("SELECT id, name FROM `\(database)`.items").rows.map { "\($0[0].int64 ?? 0) \($0[1].string ?? "")" } == ["1 old"])

        // Someone takes an id after the run's: undo deletes the run's rows but never hands
        // out an id that was taken (the counter stays past it).
        let again = world.run("add", ["--db", database])
        #expect(again.status == .done, "\(again.error ?? "")")
        try world.names.admin.executeText("INSERT INTO `\(database)`.items (name) VALUES ('other')")
        #expect(try counter() == 5)
        #expect(world.undo(try #require(again.runID)).status == .done)
        #expect(try world.names.admin.query("SELECT id, name FROM `\(database)`.items ORDER BY id").rows.map { "\($0[0].int64 ?? 0) \($0[1].string ?? "")" }
                == ["1 old", "4 other"])
        #expect(try counter() == 5, "id 4 was taken after the run: the counter is not lowered")
    }
}

/// A Lua string literal for any text: every byte but letters as a three-digit \ddd escape.
private func luaLiteral(_ text: String) -> String {
    "\"" + text.utf8.map { byte in
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) ? String(UnicodeScalar(byte)) : "\\" + String(1000 + Int(byte)).dropFirst()
    }.joined() + "\""
}

/// Finds names quoted by hand in Lua source. Quoting a value by concatenation leaves the
/// string literal on either side of it with an unmatched backtick ("`" .. t .. "`",
/// "FROM `" .. db .. "`.vars"), so a literal next to `..` with an odd number of backticks
/// is one; prose with backticks (`runbook log ID`) pairs them. A format string that puts a
/// value between backticks ("`%s`") is the same thing by other means.
enum HandQuoting {
    static func findings(in source: String, file: String) -> [String] {
        let tokens = LuaTokens.tokenize(source)
        var found: [String] = []
        for (index, token) in tokens.enumerated() where token.kind == .string {
            let unmatched = token.text.utf8.filter { $0 == UInt8(ascii: "`") }.count % 2 == 1
            let concatenated = (index > 0 && tokens[index - 1].isSymbol("..")) || (index + 1 < tokens.count && tokens[index + 1].isSymbol(".."))
            let formatted = ["`%s`", "`%q`", "`%d`"].contains { token.text.contains($0) }
            if (unmatched && concatenated) || formatted {
                found.append("\(file):\(token.line): \"\(token.text)\" puts a name between backticks by hand")
            }
        }
        return found
    }
}
