// The install runbook end to end on a demo world: a paid store planned then installed (rows,
// IPs, codebase links and copies, database and user, config.php, SQL updates, sync to the
// other dispatcher, crons, vars, FTP bind mounts, the welcome mail, nginx), undone; and an
// install whose SQL update is broken, which leaves everything as it was but the queue record.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct InstallTests {
    @Test func aPaidInstallIsPlannedInstalledAndUndone() throws {
        let world = try DemoWorld.built()
        let root = world.root
        let port = try world.value("DEMO_WORLD_NGINX_PORT")

        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] {
            let result = try db.query(sql)
            return result.rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
        }
        let rowTables = ["internal.installs", "internal.install_sites", "internal.install_site_ips", "internal.startup_mounts",
                         "internal.queue", "divinity.dns_records"]
        func ids() throws -> [String] { try rowTables.map { "\($0): \(try rows("SELECT id FROM \($0) ORDER BY id").joined(separator: ","))" } }
        var idsOfTheInstall: [String] = []
        try expectUndoRestores(world) {
            let run = try world.planAndRun(["install", "--email", "demo@example.com", "--hostname", "shop.example.com,www.shop.example.com",
                                            "--plan", "paid"])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run))


            // The initial part: rows in the internal database, IPs from the master's pool.
            #expect(try rows("SELECT id, fs_name, db_name, home_dir, free, license, dynamic_ips, shared_code_group_id, master_handler_id, ftp_user FROM internal.installs")
                    == ["1 'shopexam1' 'shopexam1' '/usr/home/shopexam1' 0 'paid' 1 2 1 'www_shopexam1'"])
            #expect(try rows("SELECT id, install_id, hostname, secure_hostname FROM internal.install_sites ORDER BY id")
                    == ["1 1 'shop.example.com' 'shop.example.com'", "2 1 'www.shop.example.com' 'www.shop.example.com'"])
            // A movable IP on each dispatcher for each site (paid installs live on both).
            #expect(try rows("SELECT install_site_id, ip, handler_id FROM internal.install_site_ips ORDER BY id")
                    == ["1 '192.0.2.10' 1", "1 '198.51.100.10' 2", "2 '192.0.2.11' 1", "2 '198.51.100.11' 2"])
            #expect(try rows("SELECT ip, movable, install_id, install_site_id FROM divinity.server_ips WHERE install_id IS NOT NULL ORDER BY ip")
                    == ["'192.0.2.10' 1 1 1", "'192.0.2.11' 1 1 2", "'198.51.100.10' 1 1 1", "'198.51.100.11' 1 1 2"])
            #expect(try rows("SELECT runbook, status, log FROM internal.queue") == ["'install' 'done' '\(runID)'"])
            // The company manages example.com: each site's A records point at its addresses.
            #expect(try rows("SELECT domain, name, content FROM divinity.dns_records WHERE type = 'A' AND name LIKE '%shop%' ORDER BY id")
                    == ["'example.com' 'shop.example.com' '192.0.2.10'", "'example.com' 'shop.example.com' '198.51.100.10'",
                        "'example.com' 'www.shop.example.com' '192.0.2.11'", "'example.com' 'www.shop.example.com' '198.51.100.11'"])

            // The file tree: links to the codebase, own copies of theme, snippets, mas_assets/theme.
            let home = root + "/usr/home/shopexam1"
            let codebase = root + "/home/shared_codes/code_share_paid_1"
            #expect(Posix.readLink(home + "/heavymetal/lib") == codebase + "/heavymetal/lib")
            #expect(Posix.readLink(home + "/html/index.php") == codebase + "/html/index.php")
            #expect(Posix.readLink(home + "/html/mas_assets/js") == codebase + "/html/mas_assets/js")
            for own in ["/heavymetal/theme", "/heavymetal/snippets", "/html/mas_assets/theme", "/heavymetal", "/html", "/html/mas_assets"] {
                #expect(Posix.lstatInfo(home + own)?.kind == .directory, "\(own) is the install's own folder")
            }
            #expect(Files.read(home + "/heavymetal/theme/default/layout.tpl") == Files.read(codebase + "/heavymetal/theme/default/layout.tpl"))
            #expect(!Files.exists(home + "/.svn") && !Files.exists(home + "/heavymetal/theme/.svn"), "no working-copy metadata")

            // config.php: mode 0640, and its credentials open the store's database.
            let configPHP = try #require(Files.read(home + "/heavymetal/config.php"))
            #expect(Posix.lstatInfo(home + "/heavymetal/config.php")?.mode == 0o640)
            #expect(configPHP.contains("$config['db_name'] = 'shopexam1';") && configPHP.contains("$config['db_host'] = '10.0.0.5';"))
            let password = try #require(configPHP.split(separator: "\n").first { $0.contains("db_pass") }?
                .split(separator: "'").dropFirst(3).first.map(String.init))
            #expect(password.count == 32)
            let store = try Connection(ConnectionOptions(socket: try world.value("DEMO_WORLD_MYSQL_SOCKET"), user: "shopexam1",
                                                         password: DBPassword(password), database: "shopexam1"))
            defer { store.close() }
            // The guide's "mut": every plugin's updates, recorded; vars for memcache and sphinx; the sites.
            #expect(try store.query("SELECT plugin_id, filename, revision FROM database_updates ORDER BY plugin_id").rows
                .map { $0.values.map(DemoWorld.text).joined(separator: " ") }
                    == ["'catalog' '0001_catalog_tables.sql' '1'", "'core' '0001_core_tables.sql' '1'"])
            #expect(try store.query("SELECT value FROM vars WHERE name = 'sphinx.index'").first?[0].string == "shopexam1")
            #expect(try store.query("SELECT value FROM vars WHERE name = 'memcache.servers'").first?[0].string == "10.0.0.1:11211,10.0.0.2:11211")
            #expect(try store.query("SELECT hostname, secure_hostname FROM sites ORDER BY id").rows.map { "\($0[0].string ?? "") \($0[1].string ?? "")" }
                    == ["http://shop.example.com https://shop.example.com", "http://www.shop.example.com https://www.shop.example.com"])

            // FTP: three bind mounts, recorded in startup_mounts.
            let ftp = home + "/heavymetal/tmp/ftp"
            #expect(DemoWorld.mounts(under: home).map { $0.components(separatedBy: " -> ")[1] }.sorted()
                    == [ftp + "/assets", ftp + "/images", ftp + "/theme"])
            #expect(try rows("SELECT source, target FROM internal.startup_mounts ORDER BY id")
                    == ["'/usr/home/shopexam1/heavymetal/theme' '/usr/home/shopexam1/heavymetal/tmp/ftp/theme'",
                        "'/usr/home/shopexam1/html/mas_assets/theme' '/usr/home/shopexam1/heavymetal/tmp/ftp/assets'",
                        "'/usr/home/shopexam1/html/images' '/usr/home/shopexam1/heavymetal/tmp/ftp/images'"])
            #expect(Files.exists(ftp + "/theme/default/layout.tpl"), "the mount shows the theme")

            // The other dispatcher: the home synced there, the install's cron there.
            let dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
            #expect(Files.read(dispatch2 + "/usr/home/shopexam1/heavymetal/config.php") == configPHP)
            #expect(Files.read(dispatch2 + "/etc/cron.d/divinity-installs")
                    == "*/5 * * * * www /usr/local/bin/php /usr/home/shopexam1/heavymetal/lib/cron/cron.php\n")

            // The welcome mail, and nginx serving the new config.
            let mail = Files.read(try world.value("DEMO_WORLD_OUTBOX")) ?? ""
            #expect(mail.contains("To: demo@example.com") && mail.contains("http://shop.example.com/") && mail.contains("192.0.2.10"), "\(mail)")
            let served = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(served.contains("upstream install_1_php {\n    server 10.0.0.1:9000") && served.contains("server 10.0.0.2:9000"))
            #expect(served.contains("listen 192.0.2.10:\(port);\n    listen 198.51.100.10:\(port);\n    server_name shop.example.com;"))
            #expect(served.contains("root \(home)/html;"), "nginx reads the real folder")
            #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf.last-good") == served)
            let nginxErrors = (Files.read(world.directory + "/nginx/error.log") ?? "").split(separator: "\n").filter { $0.contains("[emerg]") }
            #expect(nginxErrors.isEmpty, "\(nginxErrors)")
            _ = try system(["nginx", "-t", "-q", "-c", try world.value("DEMO_WORLD_NGINX_CONFIG")]) // throws when the test fails

            // The password is in config.php only: not in the output, the journal or history.
            #expect(!run.stdout.contains(password) && !run.stderr.contains(password))
            for file in Files.allFiles(try world.value("DEMO_WORLD_STATE")) {
                #expect(!(Files.read(file) ?? "").contains(password), "\(file)")
            }

            // A second store by the same name gets the next name; the taken hostname is refused.
            let taken = try world.runbook(["run", "install", "--email", "x@example.com", "--hostname", "shop.example.com", "--plan", "free"])
            #expect(taken.exitCode == 1 && taken.stderr.contains("hostname shop.example.com is already a site of install 1"), "\(taken)")

            // Every id the install took, to compare with the same install made again after undo.
            idsOfTheInstall = try ids()

            // Undo puts the world back as it was (the mail stays sent).
            return runID
        }

        // Undo put the AUTO_INCREMENT counters back too: the same install again gets the same ids.
        let again = try world.runbook(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com,www.shop.example.com",
                                       "--plan", "paid"])
        #expect(again.exitCode == 0, "\(again)")
        #expect(try ids() == idsOfTheInstall)
    }

    @Test func aBrokenSQLUpdateFailsTheInstallAndLeavesNothingButTheQueueRecord() throws {
        let world = try DemoWorld.built()
        // An update that breaks on its second statement, in the free codebase's checkout.
        let broken = world.root + "/home/shared_codes/code_share_free_1/sql/catalog/0002_weights.sql"
        try Files.write(broken, """
            -- catalog 0002: product weights
            ALTER TABLE products ADD COLUMN weight INT NULL;
            UPDATE productz
               SET weight = 0;
            """)

        // Everything is as before but the queue record, which holds the same error.
        var failed: ChildResult?
        try expectUndoRestores(world, "the failed install", ignoring: ["table internal.queue"]) {
            failed = try world.runbook(["run", "install", "--email", "free@example.com", "--hostname", "free.example.org", "--plan", "free"])
            return nil  // on_failure = "undo": the install has undone itself
        }
        let run = try #require(failed)
        #expect(run.exitCode == 1, "\(run)")
        let message = "/home/shared_codes/code_share_free_1/sql/catalog/0002_weights.sql:3: MySQL error 1146 (42S02): "
            + "Table 'freeexam1.productz' doesn't exist [in: UPDATE productz SET weight = 0]"
        #expect(run.stderr.contains(message), "the console names the file, the statement and the error\n\(run)")

        let db = try world.admin()
        defer { db.close() }
        let queue = try #require(try db.query("SELECT runbook, status, error FROM internal.queue").first)
        #expect(queue[0].string == "install" && queue[1].string == "failed")
        #expect(queue[2].string?.contains(message) == true, "\(queue[2])")
        #expect(try db.query("SHOW DATABASES LIKE 'freeexam1'").isEmpty)

        // Bad input: one line naming the problem, nothing touched.
        try expectUnchanged(world, "refusals") {
            for (arguments, problem) in [
                (["--hostname", "a.example.com", "--plan", "free", "--email", "a@example.com", "--server", "nosuch.example.com"],
                 "--server nosuch.example.com: no such handler in the handlers table"),
                (["--hostname", "a.example.com", "--plan", "free", "--email", "a@example.com", "--server", "dispatch2.make-a-store.com"],
                 "the install's master is dispatch2.make-a-store.com (--server): run the install there"),
                (["--hostname", "a.example.com", "--plan", "free", "--email", "a@example.com", "--codebase", "2"],
                 "--codebase 2 is a codebase for paid installs; this install is free"),
                (["--hostname", "a.example.com", "--plan", "gold", "--email", "a@example.com"], "--plan"),
                (["--hostname", "not a host", "--plan", "free", "--email", "a@example.com"], "--hostname"),
            ] {
                let refused = try world.runbook(["run", "install"] + arguments)
                #expect(refused.exitCode != 0, "\(arguments)\n\(refused)")
                #expect(refused.stderr.contains(problem), "\(arguments)\n\(refused)")
                #expect(!refused.stderr.contains("stack traceback"), "\(refused)")
            }
        }
    }
}

/// The store's own certificate (--ssl-pem/--ssl-key), checked as add-site and change-ssl check
/// theirs before anything is touched, and kept 0600 in the store's certs folder.
@Suite(.serialized) struct InstallCertificateTests {
    @Test func aCertificateIsCheckedBeforeAnythingAndKeptPrivate() throws {
        let world = try DemoWorld.built()
        let good = try SiteTesting.certificate(world, file: "good", names: ["cert.example.com"])
        let other = try SiteTesting.certificate(world, file: "other", names: ["other.example.com"])
        let order = ["run", "install", "--email", "cert@example.com", "--hostname", "cert.example.com", "--plan", "free"]

        for (pair, problem) in [
            ([good.pem, other.key], "/root/certs/other.key is not the key of /root/certs/good.pem"),
            ([other.pem, other.key], "the certificate does not cover cert.example.com"),
            ([good.pem, "/root/certs/missing.key"], "/root/certs/missing.key does not exist"),
        ] {
            let refused = try expectUnchanged(world, "a refused install") { try world.runbook(order + ["--ssl-pem", pair[0], "--ssl-key", pair[1]]) }
            #expect(refused.exitCode == 1 && refused.stderr.contains(problem), "\(refused)")
        }

        let run = try world.runbook(order + ["--ssl-pem", good.pem, "--ssl-key", good.key])
        #expect(run.exitCode == 0, "\(run)")
        let certs = world.root + "/usr/home/certexam1/certs"
        for file in ["cert.example.com.pem", "cert.example.com.key"] {
            #expect(Posix.lstatInfo(certs + "/" + file)?.mode == 0o600, "\(file) is private")
        }
        #expect(Files.read(certs + "/cert.example.com.pem") == Files.read(world.root + good.pem))
        let key = try #require(Files.read(world.root + good.key))
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? key
        #expect(!run.stdout.contains(keyBody) && !run.stderr.contains(keyBody), "the key is in no output")
    }
}
