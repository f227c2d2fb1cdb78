// clean-install on a demo world: an install the old system left half made is removed —
// rows, IPs, DNS, home, the copy and cron on dispatch2, mounts, database and user moved to
// the trash — undone exactly, then cleaned again and purged; and a store whose database user
// named a table to break out of clean-install's RENAME TABLE (issue 15).

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookTestKit
import Testing

@Suite(.serialized) struct CleanInstallTests {
    @Test func junkIsRemovedUndoneAndPurged() throws {
        let world = try DemoWorld.withStore(["--email", "a@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let db = try world.admin()
        defer { db.close() }
        func count(_ sql: String) throws -> Int64 { try db.query(sql).first?[0].int64 ?? -1 }

        // A finished store is refused: it is not junk.
        let refused = try world.runbook(["run", "clean-install", "--id", "1"])
        #expect(refused.exitCode == 1 && refused.stderr.contains("it is a store, not junk"), "\(refused)")

        // What the old system left: the same rows and files, but its queue record failed.
        _ = try db.execute("UPDATE internal.queue SET status = 'failed'")
        let home = world.root + "/usr/home/shopexam1"
        let password = try #require(Files.read(home + "/heavymetal/config.php")?.split(separator: "\n")
            .first { $0.contains("db_pass") }?.split(separator: "'").dropFirst(3).first.map(String.init))

        let socket = try world.value("DEMO_WORLD_MYSQL_SOCKET")
        try expectUndoRestores(world) {
            let run = try world.planAndRun(["clean-install", "--id", "1"])
            #expect(run.exitCode == 0, "\(run)")
            #expect(try count("SELECT COUNT(*) FROM internal.installs") == 0)
            #expect(try count("SELECT COUNT(*) FROM internal.install_sites") == 0)
            #expect(try count("SELECT COUNT(*) FROM internal.install_site_ips") == 0)
            #expect(try count("SELECT COUNT(*) FROM internal.startup_mounts") == 0)
            #expect(try count("SELECT COUNT(*) FROM divinity.server_ips WHERE install_id IS NOT NULL") == 0)
            #expect(try count("SELECT COUNT(*) FROM divinity.dns_records WHERE name = 'shop.example.com'") == 0)
            #expect(!Files.exists(home) && DemoWorld.mounts(under: world.root).isEmpty)
            let dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
            #expect(!Files.exists(dispatch2 + "/usr/home/shopexam1"))
            #expect(Files.read(dispatch2 + "/etc/cron.d/divinity-installs") == "")
            #expect(try db.query("SHOW DATABASES LIKE 'shopexam1'").isEmpty)
            #expect(try count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'trash_shopexam1'") == 7, "the schema's 4 tables and the updates' 3")
            #expect(try count("SELECT COUNT(*) FROM mysql.user WHERE User = 'shopexam1'") == 0)
            // The store's user is in the trash, locked: its password opens nothing.
            #expect(throws: DBError.self) {
                try Connection(ConnectionOptions(socket: socket, user: "trash_shopexam1", password: DBPassword(password))).close()
            }
            #expect(!(Files.read(world.root + "/usr/local/etc/nginx/installs.conf") ?? "").contains("install_1_php"))

            // Undo: every row, file, mount, the database and the user as before.
            let runToUndo = try #require(DemoWorld.runID(run))
            return runToUndo
        }
        #expect(try count("SELECT COUNT(*) FROM shopexam1.database_updates") == 2, "the store's tables are back")
        let store = try Connection(ConnectionOptions(socket: socket, user: "shopexam1", password: DBPassword(password), database: "shopexam1"))
        store.close()

        // Clean again, then purge the trash for good.
        let again = try world.runbook(["run", "clean-install", "--id", "1"])
        #expect(again.exitCode == 0, "\(again)")
        let purged = try world.runbook(["run", "clean-install", "--purge", "shopexam1"])
        #expect(purged.exitCode == 0, "\(purged)")
        #expect(try db.query("SHOW DATABASES LIKE 'trash_shopexam1'").isEmpty)
        #expect(try count("SELECT COUNT(*) FROM mysql.user WHERE User LIKE '%shopexam1'") == 0)

        let none = try world.runbook(["run", "clean-install", "--id", "7"])
        #expect(none.exitCode == 1 && none.stderr.contains("no install 7 in the installs table"), "\(none)")
    }

    /// The store's own database user may name its tables as it likes. This name once made
    /// clean-install's RENAME TABLE move internal.installs into the store's database, which
    /// the next statement dropped.
    static let hostileTable = "a` TO `shopexam1`.`Q`,`internal`.`installs` TO `shopexam1`.`I`#"

    @Test func aTableNamedToBreakOutOfRenameIsMovedByItsExactName() throws {
        let world = try DemoWorld.withStore(["--email", "a@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        // A second store, which clean-install must leave alone.
        let other = try world.runbook(["run", "install", "--email", "b@example.com", "--hostname", "other.example.org", "--plan", "free"])
        #expect(other.exitCode == 0, "\(other)")
        let db = try world.admin()
        defer { db.close() }
        _ = try db.execute("UPDATE internal.queue SET status = 'failed' WHERE args LIKE '%shop.example.com%'")
        func lines(_ sql: String) throws -> [String] {
            try db.query(sql).rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
        }
        let installs = try lines("SELECT id, fs_name FROM internal.installs ORDER BY id")
        #expect(installs == ["1 'shopexam1'", "2 'otherexa1'"], "\(installs)")

        // As the store's database user (rights on its own database only, as install made it).
        let home = world.root + "/usr/home/shopexam1"
        let password = try #require(Files.read(home + "/heavymetal/config.php")?.split(separator: "\n")
            .first { $0.contains("db_pass") }?.split(separator: "'").dropFirst(3).first.map(String.init))
        let socket = try world.value("DEMO_WORLD_MYSQL_SOCKET")
        let store = try Connection(ConnectionOptions(socket: socket, user: "shopexam1", password: DBPassword(password), database: "shopexam1"))
        let hostile = Connection.quoteIdentifier(CleanInstallTests.hostileTable)
        try store.executeText("CREATE TABLE \(hostile) (id INT PRIMARY KEY, note VARCHAR(20))")
        try store.executeText("INSERT INTO \(hostile) VALUES (1, 'hostile')")
        try store.executeText("CREATE TABLE customer_notes (id INT PRIMARY KEY, note VARCHAR(20))")
        try store.executeText("INSERT INTO customer_notes VALUES (7, 'plain')")
        store.close()

        try expectUndoRestores(world) {
            // Planned and run for real: the plan names the table as it is, and the run does it.
            let run = try world.planAndRun(["clean-install", "--id", "1"])
            #expect(run.exitCode == 0, "\(run)")
            // internal.installs is where it was, with the other store's row.
            #expect(try lines("SELECT id, fs_name FROM internal.installs ORDER BY id") == ["2 'otherexa1'"])
            #expect(try lines("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_NAME IN ('installs', 'I', 'Q')")
                    == ["'internal' 'installs'"])
            // The hostile table and the plain one are in the trash, by their exact names, rows intact.
            #expect(try lines("SELECT * FROM trash_shopexam1.\(hostile)") == ["1 'hostile'"])
            #expect(try lines("SELECT * FROM trash_shopexam1.customer_notes") == ["7 'plain'"])
            #expect(try db.query("SHOW DATABASES LIKE 'shopexam1'").isEmpty)

            // Undo puts everything back: the rows, and the store's tables under their names.
            let runToUndo = try #require(DemoWorld.runID(run))
            return runToUndo
        }
        #expect(try lines("SELECT id, fs_name FROM internal.installs ORDER BY id") == installs)
        #expect(try lines("SELECT * FROM shopexam1.\(hostile)") == ["1 'hostile'"])
        #expect(try lines("SELECT * FROM shopexam1.customer_notes") == ["7 'plain'"])
        #expect(try db.query("SHOW DATABASES LIKE 'trash_shopexam1'").isEmpty)
    }
}
