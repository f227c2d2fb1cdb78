// runbooks/update-shared-code.lua end to end on a demo world (scripts/demo-world: the three
// shared code groups checked out at r1, an r2 waiting with catalog/0002_product_sku.sql and
// heavymetal/lib/VERSION 4.2.1). Two paid stores land in group 2 and a free one in group 1.
// The update of group 2 is planned (changing nothing) and run (applying exactly the plan):
// checkout at r2, each install's SQL update recorded with the revision, caches cleared, the
// group's revision row, dispatch2's copies, the APC command, the free install untouched; undo
// puts back the checkout, the row and the cache files, not the SQL update. One install with
// a broken database fails alone and is reported with the file, statement and error, the
// other is updated, a conflict is resolved to the repository's version; after the database
// is fixed a second run finishes it. On a server that is not the group's master it refuses
// in one line and touches nothing.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct UpdateSharedCodeTests {
    /// A world with two paid stores (group 2) and, when asked, a free one (group 1), each
    /// with a cache file in every cache folder and a row in its cache table.
    static func world(_ box: Sandbox, free: Bool) throws -> DemoWorld {
        let world = DemoWorld(box)
        try world.build()
        var orders = [("a@example.com", "a.example.com", "paid"), ("b@example.com", "b.example.com", "paid")]
        if free { orders.append(("c@example.org", "c.example.org", "free")) }
        for (email, hostname, plan) in orders {
            let installed = try world.runbook(["run", "install", "--email", email, "--hostname", hostname, "--plan", plan])
            guard installed.exitCode == 0 else { throw TestSetupError("install \(hostname) failed\n\(installed)") }
        }
        let db = try world.admin()
        defer { db.close() }
        for name in free ? ["aexample1", "bexample1", "cexample1"] : ["aexample1", "bexample1"] {
            let home = world.root + "/usr/home/" + name
            try Files.write(home + "/heavymetal/tmp/rudolf/compiled_layout.php", "<?php // rudolf's compiled template\n")
            try Files.mkdir(home + "/heavymetal/tmp/catalog_cache/tea")
            try Files.write(home + "/heavymetal/tmp/catalog_cache/tea/page_1.cache", "cached catalog page\n")
            try Files.write(home + "/local/tmp/sess_abc", "a session\n")
            try db.execute("INSERT INTO `\(name)`.cache (name, value) VALUES ('catalog:tea', 'cached')")
        }
        return world
    }

    /// `svn info --show-item revision PATH` (through the real svn client).
    static func svnRevision(_ path: String) throws -> String {
        try system(["svn", "info", "--show-item", "revision", "--non-interactive", path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The rows of a query, each as its values joined with spaces.
    static func rows(_ db: Connection, _ sql: String) throws -> [String] {
        try db.query(sql).rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
    }

    /// The names in a folder (nil when it is not there).
    static func entries(_ path: String) -> [String]? { try? Posix.list(path).sorted() }

    /// The messages of a --json run's log events.
    static func messages(_ run: ChildResult) -> [String] { run.events("log").compactMap { $0["message"]?.stringValue } }

    @Test func aGroupIsPlannedUpdatedAndUndone() throws {
        let box = try Sandbox()
        let world = try Self.world(box, free: true)
        let root = world.root
        let checkout = root + "/home/shared_codes/code_share_paid_1"
        let dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
        // Stale caches on the other dispatcher's copy of a store: the update clears them there too.
        try Files.write(dispatch2 + "/usr/home/aexample1/heavymetal/tmp/rudolf/stale.php", "<?php // stale\n")
        // The APC command of this world: a file that appears when it runs.
        let apcMark = world.directory + "/apc-cleared"
        let configPath = world.directory + "/config.toml"
        let config = try #require(Files.read(configPath))
        try Files.write(configPath, config.replacingOccurrences(of: "[settings]\n", with: "[settings]\napc_clear = [\"touch\", \"\(apcMark)\"]\n"))
        let db = try world.admin()
        defer { db.close() }
        let freeBefore = try Self.rows(db, "SELECT plugin_id, filename, revision FROM cexample1.database_updates ORDER BY id")
            + Self.rows(db, "SELECT name, value FROM cexample1.cache")

        let run = try world.planAndRun(["update-shared-code", "--group", "2", "--revision", "2"])
        #expect(run.exitCode == 0, "\(run)")
        let runID = try #require(DemoWorld.runID(run))

        // The checkout and the group's row are at r2; the free group's are not.
        #expect(try Self.svnRevision(checkout) == "2")
        #expect(try Self.svnRevision(root + "/home/shared_codes/code_share_free_1") == "1")
        #expect(try Self.rows(db, "SELECT id, revision FROM internal.shared_code_groups ORDER BY id") == ["1 '1'", "2 '2'", "3 '1'"])

        for name in ["aexample1", "bexample1"] {
            let home = root + "/usr/home/" + name
            // The new code, through the install's link into the checkout.
            #expect(Files.read(home + "/heavymetal/lib/VERSION") == "divinity 4.2.1\n", "\(name)")
            // The SQL update, recorded with the revision, and what it did.
            #expect(try Self.rows(db, "SELECT plugin_id, filename, revision FROM `\(name)`.database_updates ORDER BY id")
                    == ["'catalog' '0001_catalog_tables.sql' '1'", "'core' '0001_core_tables.sql' '1'", "'catalog' '0002_product_sku.sql' '2'"])
            #expect(try Self.rows(db, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '\(name)' AND TABLE_NAME = 'products' AND COLUMN_NAME = 'sku'")
                    == ["'sku'"], "\(name).products has a sku column")
            #expect(try Self.rows(db, "SELECT value FROM `\(name)`.vars WHERE name = 'catalog.schema'") == ["'2'"])
            // The caches: folders kept and empty, the table empty.
            for folder in ["heavymetal/tmp/rudolf", "heavymetal/tmp/catalog_cache", "local/tmp"] {
                #expect(Self.entries(home + "/" + folder) == [], "\(name)/\(folder)")
            }
            #expect(try Self.rows(db, "SELECT COUNT(*) FROM `\(name)`.cache") == ["0"])
        }
        // dispatch2: the checkout's copy at r2 (the working copy's metadata went with it), the
        // stores' caches emptied there too.
        let copy = dispatch2 + "/home/shared_codes/code_share_paid_1"
        #expect(Files.read(copy + "/heavymetal/lib/VERSION") == "divinity 4.2.1\n")
        #expect(Files.exists(copy + "/sql/catalog/0002_product_sku.sql"))
        #expect(try Self.svnRevision(copy) == "2")
        #expect(Self.entries(dispatch2 + "/usr/home/aexample1/heavymetal/tmp/rudolf") == [])
        #expect(Self.entries(dispatch2 + "/usr/home/bexample1/local/tmp") == [])
        // The free install of group 1 is untouched.
        let freeHome = root + "/usr/home/cexample1"
        #expect(try Self.rows(db, "SELECT plugin_id, filename, revision FROM cexample1.database_updates ORDER BY id")
            + Self.rows(db, "SELECT name, value FROM cexample1.cache") == freeBefore)
        #expect(Files.exists(freeHome + "/heavymetal/tmp/rudolf/compiled_layout.php") && Files.exists(freeHome + "/local/tmp/sess_abc"))
        #expect(Files.read(freeHome + "/heavymetal/lib/VERSION") == "divinity 4.2.0\n")
        // The APC command ran; nothing staged is left.
        #expect(Files.exists(apcMark), "settings.apc_clear ran")
        #expect(!Files.exists(checkout + ".sql-r2"))

        // The live progress and the summary, one line per install.
        let progress = run.events("progress").map { "\($0["done"]?.intValue ?? -1)/\($0["total"]?.intValue ?? -1)" }
        #expect(progress.last == "2/2", "\(progress)")
        let log = Self.messages(run)
        #expect(log.contains("[1/2] aexample1: 1 SQL update, 3 cache entries removed, synced"), "\(log)")
        #expect(log.contains("install   name       updates  outcome"), "\(log)")
        #expect(log.contains("1         aexample1  1        updated") && log.contains("2         bexample1  1        updated"), "\(log)")

        // Undo: the checkout, the group's row and the cache files come back; the SQL update
        // cannot be undone and stays.
        let undo = try world.runbook(["undo", runID])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(undo.stdout.contains("cannot be undone"), "\(undo)")
        #expect(try Self.svnRevision(checkout) == "1")
        #expect(Files.read(root + "/usr/home/aexample1/heavymetal/lib/VERSION") == "divinity 4.2.0\n")
        #expect(try Self.rows(db, "SELECT revision FROM internal.shared_code_groups WHERE id = 2") == ["'1'"])
        #expect(Files.read(root + "/usr/home/bexample1/heavymetal/tmp/catalog_cache/tea/page_1.cache") == "cached catalog page\n")
        #expect(Files.exists(root + "/usr/home/aexample1/local/tmp/sess_abc"))
        #expect(try Self.svnRevision(copy) == "1", "dispatch2's copy (a folder here) is updated back too")
        #expect(Files.read(copy + "/heavymetal/lib/VERSION") == "divinity 4.2.0\n")
        #expect(try Self.rows(db, "SELECT filename, revision FROM aexample1.database_updates WHERE filename = '0002_product_sku.sql'")
                == ["'0002_product_sku.sql' '2'"])
    }

    @Test func aBrokenInstallFailsAloneAndAConflictIsResolved() throws {
        let box = try Sandbox()
        let world = try Self.world(box, free: false)
        let root = world.root
        let checkout = root + "/home/shared_codes/code_share_paid_1"
        let db = try world.admin()
        defer { db.close() }
        // bexample1's database is broken: the r2 update alters its products table.
        _ = try db.executeText("DROP TABLE bexample1.products")
        // A hot fix made on this server to a file r2 changes too: a conflict.
        try Files.write(checkout + "/heavymetal/lib/VERSION", "divinity 4.2.0-hotfix\n")

        let run = try world.runbook(["run", "update-shared-code", "--group", "2"])   // HEAD: r2
        #expect(run.exitCode == 1, "\(run)")
        let error = "/home/shared_codes/code_share_paid_1/sql/catalog/0002_product_sku.sql:2: MySQL error 1146 (42S02): "
            + "Table 'bexample1.products' doesn't exist [in: ALTER TABLE products ADD COLUMN sku VARCHAR(64) NULL AFTER name]"
        // The summary: both installs, the failing one with the file, statement and error.
        #expect(run.stdout.contains("1         aexample1  1        updated"), "\(run)")
        #expect(run.stdout.contains("2         bexample1  0        FAILED: " + error), "\(run)")
        #expect(run.stderr.contains("1 of 2 installs of group 2 failed (bexample1)"), "\(run)")

        // aexample1 is updated; bexample1 has no record of the update, and its caches were left
        // as they were (its remaining steps are skipped).
        #expect(try Self.rows(db, "SELECT filename, revision FROM aexample1.database_updates WHERE plugin_id = 'catalog' ORDER BY id")
                == ["'0001_catalog_tables.sql' '1'", "'0002_product_sku.sql' '2'"])
        #expect(try Self.rows(db, "SELECT COUNT(*) FROM aexample1.cache") == ["0"])
        #expect(try Self.rows(db, "SELECT COUNT(*) FROM bexample1.database_updates WHERE filename = '0002_product_sku.sql'") == ["0"])
        #expect(try Self.rows(db, "SELECT COUNT(*) FROM bexample1.cache") == ["1"])
        // The code is at r2 for the whole group, the conflict resolved to the repository's
        // version, the hot fix kept aside.
        #expect(try Self.svnRevision(checkout) == "2")
        #expect(try system(["svn", "status", "--non-interactive", checkout]).isEmpty, "no conflict and no local change left")
        #expect(Files.read(root + "/usr/home/bexample1/heavymetal/lib/VERSION") == "divinity 4.2.1\n")
        #expect(Files.read(checkout + ".local-r2/heavymetal/lib/VERSION") == "divinity 4.2.0-hotfix\n")
        #expect(try Self.rows(db, "SELECT revision FROM internal.shared_code_groups WHERE id = 2") == ["'2'"])
        #expect(!Files.exists(checkout + ".sql-r2"), "a failed run leaves no staged SQL")

        // Fixed, and run again: only what is left is done.
        _ = try db.executeText("CREATE TABLE bexample1.products (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL)")
        let again = try world.runbook(["run", "update-shared-code", "--group", "2", "--revision", "r2"])
        #expect(again.exitCode == 0, "\(again)")
        #expect(again.stdout.contains("1         aexample1  0        updated") && again.stdout.contains("2         bexample1  1        updated"),
                "\(again)")
        #expect(try Self.rows(db, "SELECT revision FROM bexample1.database_updates WHERE filename = '0002_product_sku.sql'") == ["'2'"])
        #expect(try Self.rows(db, "SELECT COUNT(*) FROM bexample1.cache") == ["0"])
    }

    @Test func itRefusesWhereTheGroupsMasterIsNotThisServer() throws {
        let box = try Sandbox()
        let world = try Self.world(box, free: false)
        let checkout = world.root + "/home/shared_codes/code_share_paid_1"
        let db = try world.admin()
        defer { db.close() }
        try db.execute("UPDATE internal.shared_code_groups SET handler_id = 2 WHERE id = 2")
        func stores() throws -> [String] {
            try Self.rows(db, "SELECT plugin_id, filename FROM aexample1.database_updates ORDER BY id")
                + Self.rows(db, "SELECT name FROM aexample1.cache") + Self.rows(db, "SELECT name FROM bexample1.cache")
        }
        let storesBefore = try stores()

        try expectUnchanged(world, "refusals") {
            for (arguments, problem) in [
                (["--group", "2"], "shared code group 2's master is dispatch2.make-a-store.com, not this server (dispatch1.make-a-store.com): "
                    + "run update-shared-code there"),
                (["--group", "2", "--dry-run"], "shared code group 2's master is dispatch2.make-a-store.com, not this server"),
                (["--group", "9"], "--group 9: no such shared code group (known: 1 /home/shared_codes/code_share_free_1, "
                    + "2 /home/shared_codes/code_share_paid_1, 3 /home/shared_codes/code_share_paid_2)"),
                (["--group", "1", "--revision", "tip"], "--revision tip is not a Subversion revision (a number or HEAD)"),
                (["--group", "1", "--revision", "7"], "cannot read revision 7 of "),
                (["--revision", "2"], "missing required argument --group"),
            ] {
                let refused = try world.runbook(["run", "update-shared-code"] + arguments)
                #expect(refused.exitCode != 0 && refused.exitCode != nil, "\(arguments)\n\(refused)")
                let line = refused.stderr.split(separator: "\n").first { $0.contains(problem) }
                #expect(line != nil, "one line says why: \(arguments)\n\(refused)")
                #expect(!refused.stderr.contains("stack traceback") && !refused.stdout.contains("stack traceback"), "\(refused)")
                #expect(!refused.stdout.contains("\n  ~ ") && !refused.stdout.contains("\n  ! "), "nothing was changed: \(refused)")
        }
        }
        #expect(try stores() == storesBefore)
        #expect(try Self.svnRevision(checkout) == "1")
    }
}
