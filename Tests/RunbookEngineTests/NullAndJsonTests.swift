// db.NULL (SQL NULL as a value a table can hold) and the engine's json module, which
// replaced stdlib/json.lua: one null marker for both.

@testable import RunbookEngine
import LuaBridge
import RunbookModules
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("db.NULL and the json module")
struct NullAndJsonTests {
    /// Sets a note to NULL, another from NULL to text, inserts a row with a NULL note, and
    /// matches NULL in a where table; prints what it reads back.
    static let nullRunbook = """
        return runbook {
          summary = "NULL in and out",
          run = function()
            step("Clear", function()
              print("RESULT cleared " .. db.update("test", "sites", { note = db.NULL }, { id = 1 }))
              print("RESULT again " .. db.update("test", "sites", { note = db.NULL }, { id = 2 }))
              print("RESULT noted " .. db.update("test", "sites", { note = "now noted" }, { id = 2 }))
              db.insert("test", "sites", { hostname = "new.example.com", plan = "free", note = db.NULL })
              print("RESULT paid " .. db.update("test", "sites", { plan = "paid" }, { note = db.NULL, hostname = "old.example.com" }))
            end)
            step("Read", function()
              if context.dry_run then return end
              local row = db.query_one("test", "SELECT id, note FROM sites WHERE id = ?", { 1 })
              print("RESULT read " .. tostring(row.note) .. " " .. type(db.NULL) .. " " .. tostring(db.NULL == json.null))
              local n = db.query_one("test", "SELECT COUNT(*) AS n FROM sites WHERE note <=> ?", { db.NULL }).n
              print("RESULT null notes " .. n)
            end)
          end,
        }
        """

    @Test("db.update sets NULL and back, db.insert and where take db.NULL; rows read NULL as nil; a dry-run plans it and undo restores it")
    func nullThroughUpdateInsertWhere() throws {
        let sandbox = try Sandbox(database: true)
        let db = try sandbox.db
        try Fixtures.seedDatabase(db)
        try sandbox.addRunbook("nulls", Self.nullRunbook)

        let plan = try expectUnchanged(sandbox, "after the dry-run") { try sandbox.runbook(["run", "nulls", "--dry-run"]) }
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("~ update test.sites set note=NULL where id=1 (1 row)"), "\(plan)")
        #expect(plan.stdout.contains("+ insert into test.sites: hostname='new.example.com', note=NULL, plan='free'"), "\(plan)")

        try expectUndoRestores(sandbox, "after undo: the note set to NULL is back, the one set from NULL is NULL again") {
            let run = try sandbox.runbook(["run", "nulls"])
            #expect(run.exitCode == 0, "\(run)")
            // Setting NULL on a row that is NULL already is no change; the where table matches NULL with <=>.
            #expect(resultLines(run) == ["cleared 1", "again 0", "noted 1", "paid 1", "read nil userdata true", "null notes 2"], "\(run)")
            let rows = try db.query("SELECT id, plan, note FROM sites ORDER BY id").map { row in
                "\(row[0].int64 ?? -1) \(row[1].string ?? "?") \(row[2].isNull ? "NULL" : row[2].string ?? "?")"
            }
            #expect(rows == ["1 paid NULL", "2 paid now noted", "3 free nobody touches this", "4 free NULL"])
            let runToUndo = try #require(run.runID)
            return runToUndo
        }
    }

    @Test("a table or function where a value goes is still refused; db.NULL is no table")
    func nullIsNotATable() throws {
        let sandbox = try Sandbox(database: true)
        try Fixtures.seedDatabase(try sandbox.db)
        try sandbox.addRunbook("bad", """
            return runbook { summary = "bad", run = function()
              step("Set", function() db.update("test", "sites", { note = {} }, { id = 1 }) end)
            end }
            """)
        let run = try expectUnchanged(sandbox, "after the refused update") { try sandbox.runbook(["run", "bad"]) }
        #expect(run.exitCode != 0)
        #expect(run.stderr.contains("a table cannot be a SQL value"), "\(run)")
    }

    // MARK: json

    /// A bare sandbox with only the json module (it needs no run).
    static func jsonLua() throws -> StdlibLua {
        let lua = try StdlibLua()
        JsonModule.register(into: lua.state)
        return lua
    }

    @Test("json.encode: sorted keys, the escapes queue.args were written with, integers and floats apart")
    func encode() throws {
        let lua = try Self.jsonLua()
        let text = try lua.string(#"""
            return json.encode({ plan = "paid", hostname = "shop.example.com", sites = { "a", "b\n\"c\"" }, n = 3, ok = true, f = 0.5 })
            """#)
        #expect(text == #"{"f":0.5,"hostname":"shop.example.com","n":3,"ok":true,"plan":"paid","sites":["a","b\n\"c\""]}"#)
        #expect(try lua.string(#"return json.encode({ "\t\\\1\127é", {}, json.null, 1.0, -7, { B = 1, a = 2, ["Z z"] = 3 } })"#)
                == #"["\t\\\u0001\u007fé",[],null,1.0,-7,{"B":1,"Z z":3,"a":2}]"#)
    }

    @Test("json.decode: null is json.null (lists keep their length), numbers keep their type, bad text is one line")
    func decode() throws {
        let lua = try Self.jsonLua()
        let again = try lua.string(#"""
            local v = json.decode('{"a": [1, null, 2.5, "x\\u00e9"], "b": {"c": null}, "d": false}')
            return json.encode(v) .. "|" .. math.type(v.a[1]) .. "|" .. math.type(v.a[3]) .. "|" .. #v.a .. "|"
              .. tostring(v.b.c == json.null) .. "|" .. tostring(json.decode("null") == json.null)
            """#)
        #expect(again == #"{"a":[1,null,2.5,"xé"],"b":{"c":null},"d":false}|integer|float|4|true|true"#)
        let cases: [(String, String)] = [
            (#"return json.decode('{"a": tru}')"#, "json.decode: invalid JSON at byte 6: unexpected token"),
            (#"return json.decode('[1] x')"#, "json.decode: invalid JSON at byte 4: trailing characters"),
            (#"return json.decode(string.rep("[", 150) .. string.rep("]", 150))"#, "json.decode: table nested more than 100 levels deep"),
            (#"return json.decode(string.rep("[", 300) .. string.rep("]", 300))"#, "nested more than 200 levels deep"),
            ("return json.encode(0/0)", "json.encode: cannot encode"),
            ("return json.encode(1/0)", "json.encode: cannot encode inf"),
            ("return json.encode({ string.len })", "json.encode: cannot encode a function"),
            ("return json.encode({ 1, 2, x = 3 })", "json.encode: a table with both a sequence and other keys"),
            ("return json.encode({ [true] = 1 })", "json.encode: object keys must be strings, got a boolean"),
            (#"return json.encode("\xff")"#, "json.encode: a string that is not UTF-8 cannot be JSON"),
            ("local t = {}; t.t = t; return json.encode(t)", "a cycle"),
        ]
        for (code, message) in cases {
            let error = lua.error(code)
            #expect(error?.contains(message) == true, "\(code): \(error ?? "no error")")
        }
    }

    @Test("a template refuses a null as it refuses a missing name; a section skips it")
    func templatesAreStrictAboutNull() throws {
        let lua = try Self.jsonLua()
        TemplateModule.register(into: lua.state, slot: SessionSlot())
        #expect(try lua.string(#"return template.render("a{{#x}}-{{x}}{{/x}}b", json.decode('{"x": null}'))"#) == "ab")
        let error = lua.error(#"return template.render("port {{x}};", json.decode('{"x": null}'))"#)
        #expect(error?.contains("{{x}} is null (json.null), not a value") == true, "\(error ?? "no error")")
    }
}
