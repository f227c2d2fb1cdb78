// runbooks/health-sweep.lua end to end on a demo world: two stores installed by the install
// runbook, their addresses on this dispatcher moved to loopback addresses (127.0.0.10 and
// .11) so the world's nginx answers them there — nothing leaves 127.0.0.0/8. One store
// answers; the other's address is changed behind nginx's back (its server is gone: the
// connection is closed unanswered), so it is dead: its cache files and cache table are
// cleared, the other store's are not, the report is mailed, the run fails for cron, and the
// dry-run planned exactly what the run did. When every site answers the sweep changes
// nothing and succeeds. Bad input is refused in one line with nothing touched.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookTestKit
import Testing

@Suite(.serialized) struct HealthSweepTests {
    @Test func aDeadSiteHasItsCachesClearedIsMailedAndFailsTheRun() throws {
        let box = try Sandbox()
        // nginx's workers (nobody) read the stores' static files: the sandbox (mkdtemp, 0700)
        // must let them through, as /usr/home does on a dispatcher.
        #expect(chmod(box.base, 0o755) == 0)
        let world = DemoWorld(box)
        try world.build()
        let root = world.root, port = Int(try world.value("DEMO_WORLD_NGINX_PORT")) ?? 0
        try SiteTesting.install(world, ["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        try SiteTesting.install(world, ["--email", "tea@example.org", "--hostname", "tea.example.org", "--plan", "free"])
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }
        // The stores' addresses on dispatch1 (this server) become loopback addresses, and nginx
        // is rebuilt: each store answers /health.txt (a static file: no PHP handler is asked).
        _ = try db.execute("UPDATE internal.install_site_ips SET ip = CONCAT('127.0.0.', 9 + install_site_id) WHERE handler_id = 1")
        #expect(try rows("SELECT s.hostname, a.ip FROM internal.install_site_ips a JOIN internal.install_sites s ON s.id = a.install_site_id WHERE a.handler_id = 1 ORDER BY a.ip")
                == ["'shop.example.com' '127.0.0.10'", "'tea.example.org' '127.0.0.11'"])
        let rebuilt = try world.runbook(["run", "rebuild-nginx"])
        #expect(rebuilt.exitCode == 0, "\(rebuilt)")
        let homes = try rows("SELECT home_dir, db_name FROM internal.installs ORDER BY id").map { $0.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) } }
        let (shopHome, shopDB, teaHome, teaDB) = (homes[0][0], homes[0][1], homes[1][0], homes[1][1])
        for (home, site) in [(shopHome, "shop"), (teaHome, "tea")] {
            try Files.write(root + home + "/html/health.txt", site + "\n")
            for folder in ["heavymetal/tmp/rudolf", "heavymetal/tmp/catalog_cache", "local/tmp"] {
                try Files.write(root + home + "/" + folder + "/cached-" + site, "stale\n")
            }
        }
        for database in [shopDB, teaDB] { _ = try db.execute("INSERT INTO `\(database)`.cache (name, value) VALUES ('vars', 'a:0:{}')") }
        #expect(waitForPage("127.0.0.10", port, host: "shop.example.com", path: "/health.txt", body: "shop"))
        #expect(waitForPage("127.0.0.11", port, host: "tea.example.org", path: "/health.txt", body: "tea"))

        // Every site answers: nothing to do, nothing changed, success.
        let sweep = ["run", "health-sweep", "--path", "/health.txt", "--mail-to", "ops@example.com", "--timeout", "3"]
        try expectUnchanged(world, "a sweep of healthy sites") {
            let fine = try world.runbook(sweep + ["--json"])
            #expect(fine.exitCode == 0, "\(fine)")
            #expect(fine.events("effect_applied").isEmpty, "\(fine)")
            #expect(SiteTesting.messages(fine, "info").contains("2 sites served here checked (dispatch1.make-a-store.com), 0 dead"), "\(fine)")
        }

        // tea.example.org's address changes behind nginx's back: nothing serves it there now.
        _ = try db.execute("UPDATE internal.install_site_ips SET ip = '127.0.0.12' WHERE ip = '127.0.0.11'")
        let outbox = try world.value("DEMO_WORLD_OUTBOX")
        let mailsBefore = Files.read(outbox) ?? ""

        // The dry-run checks for real and plans the clearing and the mail; it changes nothing.
        let plan = try expectUnchanged(world, "the dry-run") { try world.runbook(sweep + ["--dry-run", "--json"]) }
        #expect(plan.exitCode == 1, "\(plan)")
        #expect(try rows("SELECT COUNT(*) FROM `\(teaDB)`.cache") == ["1"])
        let run = try world.runbook(sweep + ["--json"])
        #expect(run.exitCode == 1, "\(run)")
        let planned = plan.events("effect_planned").map(ReportedEffect.init)
        let applied = run.events("effect_applied").map(ReportedEffect.init)
        #expect(planned.count == 5 && planned.count == applied.count && zip(planned, applied).allSatisfy { $0.matches(applied: $1) },
                "planned:\n\(planned.map(\.description).joined(separator: "\n"))\napplied:\n\(applied.map(\.description).joined(separator: "\n"))")

        // The dead store's caches are gone (files and table), the live one's are not.
        for folder in ["heavymetal/tmp/rudolf", "heavymetal/tmp/catalog_cache", "local/tmp"] {
            #expect(!Files.exists(root + teaHome + "/" + folder + "/cached-tea"), "\(folder)")
            #expect(Files.exists(root + teaHome + "/" + folder), "the folder itself stays: \(folder)")
            #expect(Files.exists(root + shopHome + "/" + folder + "/cached-shop"), "\(folder)")
        }
        #expect(try rows("SELECT COUNT(*) FROM `\(teaDB)`.cache") == ["0"])
        #expect(try rows("SELECT COUNT(*) FROM `\(shopDB)`.cache") == ["1"])

        // The report: 3 files, the TRUNCATE, the mail; mailed, and the run's failure (cron mails that too).
        let summary = "1 of 2 sites served by dispatch1.make-a-store.com were dead"
        let mail = String((Files.read(outbox) ?? "").dropFirst(mailsBefore.count))
        #expect(mail.contains("To: ops@example.com") && mail.contains("Subject: " + summary), "\(mail)")
        #expect(mail.contains("tea.example.org (install 2, \(teaHome.split(separator: "/").last ?? "")) was dead at http://127.0.0.12:\(port)/health.txt: "
            + "the connection was closed without an answer; 3 cache files removed, cache table emptied; still dead"), "\(mail)")
        #expect(!mail.contains("shop.example.com"), "\(mail)")
        let human = try world.runbook(sweep + ["--dry-run"])
        #expect(human.exitCode == 1 && human.stderrLines.first?.contains(summary + ":") == true, "\(human)")

        // Undo puts the cache files back (the table's rows are rebuilt on demand, not kept).
        let undo = try world.runbook(["undo", try #require(DemoWorld.runID(run))])
        #expect(undo.exitCode == 0, "\(undo)")
        for folder in ["heavymetal/tmp/rudolf", "heavymetal/tmp/catalog_cache", "local/tmp"] {
            #expect(Files.read(root + teaHome + "/" + folder + "/cached-tea") == "stale\n", "\(folder)")
        }
    }

    @Test func badInputIsRefusedWithNothingTouched() throws {
        let world = try DemoWorld.withStore(["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        try expectUnchanged(world, "refusals") {
            for (arguments, problem) in [
                (["health-sweep", "--path", "health.txt"], "--path must be a path starting with / (no spaces), got health.txt"),
                (["health-sweep", "--timeout", "0"], "argument --timeout: must be at least 0.1, got 0"),
                (["health-sweep", "--install", "nosuch"], "no install nosuch"),
                (["health-sweep", "--mail-to", "not-an-address"], "--mail-to"),
            ] {
                try SiteTesting.expectRefused(world, arguments, problem)
            }
            // A mistyped setting is named, with the type it needs and where it is set (it was read as
            // "not set" and the sweep went on without it).
            let config = try #require(Files.read(world.directory + "/config.toml"))
            try Files.write(world.directory + "/config.toml", config.replacingOccurrences(of: "[settings]\n",
                with: "[settings]\nhealth_sweep = \"daily\"\n"))
            try SiteTesting.expectRefused(world, ["health-sweep"],
                "settings.health_sweep must be a table, got string (config.toml [settings.health_sweep])")
            try Files.write(world.directory + "/config.toml", config)
        }
    }
}
