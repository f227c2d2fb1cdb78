// apply-sql-snippet on a demo world: one snippet run in chosen installs' databases and
// recorded in their database_updates; a second run changes nothing; a broken install is
// reported and the others still get it.

@testable import RunbookEngine
import Foundation
import RunbookTestKit
import Testing

@Suite(.serialized) struct ApplySQLSnippetTests {
    @Test func aSnippetIsAppliedAndRecordedPerInstall() throws {
        let world = try DemoWorld.built()
        for name in ["a", "b", "c"] {
            let installed = try world.runbook(["run", "install", "--email", "\(name)@example.com", "--hostname", "\(name).example.com",
                                               "--plan", name == "c" ? "free" : "paid"])
            #expect(installed.exitCode == 0, "\(installed)")
        }
        try Files.mkdir(world.root + "/srv/snippets")
        try Files.write(world.root + "/srv/snippets/0042_currency.sql", "UPDATE vars SET value = 'EUR' WHERE name = 'store.currency';\n")
        let db = try world.admin()
        defer { db.close() }
        func currency(_ database: String) throws -> String? {
            try db.query("SELECT value FROM `\(database)`.vars WHERE name = 'store.currency'").first?[0].string
        }
        func recorded(_ database: String) throws -> [String] {
            try db.query("SELECT CONCAT(filename, ' ', plugin_id, ' ', revision) FROM `\(database)`.database_updates WHERE filename LIKE '0042%'")
                .rows.compactMap { $0[0].string }
        }

        // The paid group (2) holds a and b; c is free.
        let run = try world.planAndRun(["apply-sql-snippet", "--file", "/srv/snippets/0042_currency.sql", "--group", "2",
                                        "--plugin-id", "core"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(try currency("aexample1") == "EUR" && currency("bexample1") == "EUR" && currency("cexample1") == "USD")
        #expect(try recorded("aexample1") == ["0042_currency.sql core 1"] && recorded("cexample1").isEmpty)

        let again = try world.runbook(["run", "apply-sql-snippet", "--file", "/srv/snippets/0042_currency.sql", "--group", "2", "--plugin-id", "core", "--json"])
        #expect(again.exitCode == 0 && again.events("effect_applied").isEmpty, "\(again)")

        // c's database is broken: reported with the statement; a is recorded already; the run fails.
        _ = try db.execute("DROP TABLE cexample1.vars")
        let broken = try world.runbook(["run", "apply-sql-snippet", "--file", "/srv/snippets/0042_currency.sql",
                                        "--install", "aexample1,c.example.com", "--plugin-id", "core"])
        #expect(broken.exitCode == 1, "\(broken)")
        #expect(broken.stdout.contains("1  aexample1         already recorded"), "\(broken)")
        #expect(broken.stdout.contains("3  cexample1         FAILED: /srv/snippets/0042_currency.sql:1: MySQL error 1146 (42S02): "
                                       + "Table 'cexample1.vars' doesn't exist [in: UPDATE vars SET value = 'EUR'"), "\(broken)")
        #expect(broken.stderr.contains("1 of 2 installs failed"), "\(broken)")
        #expect(try recorded("cexample1").isEmpty)

        // Bad input: one line, nothing touched.
        try expectUnchanged(world, "refusals") {
            for (arguments, problem) in [
                (["--file", "/srv/snippets/0042_currency.sql"], "give --install or --group"),
                (["--file", "/srv/snippets/0042_currency.sql", "--install", "a.example.com", "--group", "2"], "give --install or --group"),
                (["--file", "/srv/snippets/nope.sql", "--group", "2"], "does not exist"),
                (["--file", "/srv/snippets/0042_currency.sql", "--install", "zzz.example.com"], "no install zzz.example.com"),
            ] {
                let refused = try world.runbook(["run", "apply-sql-snippet"] + arguments)
                #expect(refused.exitCode == 1 && refused.stderr.contains(problem), "\(arguments)\n\(refused)")
            }
        }
    }
}
