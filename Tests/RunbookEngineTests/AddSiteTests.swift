// runbooks/add-site.lua end to end on a demo world (scripts/demo-world) with a store installed
// by the install runbook: the new site's row in the store's own database, install_sites, its
// addresses from the pool (a movable one per dispatcher for a paid install, one on the master
// for a free one), managed DNS, its certificate on every server, and nginx serving it; the
// dry-run plans exactly what the run applies, undo puts everything back, bad input is refused
// in one line with nothing touched. Helpers: SiteTesting (ChangeHostnameTests.swift).

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct AddSiteTests {
    @Test func aSiteIsAddedToAPaidInstallWithItsCertificateAndUndone() throws {
        let world = try DemoWorld.withStore(["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let root = world.root
        let port = try world.value("DEMO_WORLD_NGINX_PORT"), httpsPort = try world.value("DEMO_WORLD_NGINX_HTTPS_PORT")
        let nginxLog = SiteTesting.errorLogMark(world)
        let cert = try SiteTesting.certificate(world, file: "wholesale", names: ["wholesale.example.com"])
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }
        let storeSites = "SELECT id, hostname, secure_hostname, rel_url, secure_rel_url FROM shopexam1.sites ORDER BY id"
        let pristineSites = try rows(storeSites)

        try expectUndoRestores(world) {
            let run = try world.planAndRun(["add-site", "--install", "shopexam1", "--hostname", "wholesale.example.com",
                                            "--ssl-pem", cert.pem, "--ssl-key", cert.key])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run))

            // The guide's $site->insert() in the store's database, then install_sites, then its IPs.
            #expect(try rows(storeSites) == pristineSites + ["2 'http://wholesale.example.com' 'https://wholesale.example.com' '/' '/'"])
            let home = "/usr/home/shopexam1"
            #expect(try rows("SELECT id, install_id, hostname, secure_hostname, rel_url, ssl_pem, ssl_key FROM internal.install_sites ORDER BY id")
                    == ["1 1 'shop.example.com' 'shop.example.com' '/' NULL NULL",
                        "2 1 'wholesale.example.com' 'wholesale.example.com' '/' '\(home)/certs/wholesale.example.com.pem' '\(home)/certs/wholesale.example.com.key'"])
            // A paid install: a movable address on each dispatcher, held in the pool for the new site.
            #expect(try rows("SELECT install_site_id, ip, handler_id FROM internal.install_site_ips WHERE install_site_id = 2 ORDER BY id")
                    == ["2 '192.0.2.11' 1", "2 '198.51.100.11' 2"])
            #expect(try rows("SELECT ip, movable, install_id, install_site_id FROM divinity.server_ips WHERE install_site_id = 2 ORDER BY ip")
                    == ["'192.0.2.11' 1 1 2", "'198.51.100.11' 1 1 2"])
            #expect(try rows("SELECT domain, name, type, content FROM divinity.dns_records WHERE name = 'wholesale.example.com' ORDER BY content")
                    == ["'example.com' 'wholesale.example.com' 'A' '192.0.2.11'", "'example.com' 'wholesale.example.com' 'A' '198.51.100.11'"])
            // The certificate on both dispatchers the install lives on.
            for server in [root, try world.value("DEMO_WORLD_DISPATCH2")] {
                #expect(Files.read(server + home + "/certs/wholesale.example.com.pem") == Files.read(root + cert.pem), "\(server)")
                #expect(Posix.lstatInfo(server + home + "/certs/wholesale.example.com.key")?.mode == 0o600, "\(server)")
            }

            // nginx: the new site's servers on its addresses, http and https, beside the first site's.
            let conf = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(conf.contains("    listen 192.0.2.10:\(port);\n    listen 198.51.100.10:\(port);\n    server_name shop.example.com;\n"), "\(conf)")
            #expect(conf.contains("    listen 192.0.2.11:\(port);\n    listen 198.51.100.11:\(port);\n    server_name wholesale.example.com;\n"), "\(conf)")
            #expect(conf.contains("    listen 192.0.2.11:\(httpsPort) ssl;\n    listen 198.51.100.11:\(httpsPort) ssl;\n    server_name wholesale.example.com;\n"
                + "    ssl_certificate \(root)\(home)/certs/wholesale.example.com.pem;\n"), "\(conf)")
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)
            // The demo world's other dispatcher is a folder, with no agent to rebuild its nginx:
            // it is named as owed a rebuild (LabSiteRunbooksTests: both rebuilt, in the lab).
            #expect(SiteTesting.messages(run, "warn").contains(
                "run rebuild-nginx on dispatch2.make-a-store.com too (no [hosts] entry reaches it from here)"), "\(run.stdout)")

            return runID
        }
        #expect(try rows(storeSites) == pristineSites)
        #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf")?.contains("wholesale") == false)
        try SiteTesting.expectNginxAccepts(world, since: nginxLog)
    }

    @Test func aFreeInstallGetsOneAddressOnItsMasterAndBadInputIsRefused() throws {
        // example.org is not a managed domain; example.com is.
        let world = try DemoWorld.withStore(["--email", "free@example.com", "--hostname", "free.example.org", "--plan", "free"])
        let root = world.root
        let port = try world.value("DEMO_WORLD_NGINX_PORT")
        let nginxLog = SiteTesting.errorLogMark(world)
        let other = try SiteTesting.certificate(world, file: "other", names: ["other.example.net"])
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }
        let storeSites = "SELECT hostname, secure_hostname, rel_url, secure_rel_url FROM freeexam1.sites ORDER BY id"
        let pristineSites = try rows(storeSites)

        // Bad input: one line naming the problem, nothing touched.
        let add = ["add-site", "--install", "free.example.org"]
        try expectUnchanged(world, "after the refused invocations") {
            for (arguments, problem) in [
                (["add-site", "--install", "nosuch", "--hostname", "a.example.com"], "--install nosuch: no install has this id, fs_name or hostname"),
                (["add-site", "--install", "99", "--hostname", "a.example.com"], "--install 99: no install has this id, fs_name or hostname"),
                (add + ["--hostname", "free.example.org"], "hostname free.example.org is already the hostname of site 1 of install 1"),
                (add + ["--hostname", "a.example.com", "--secure-hostname", "free.example.org"],
                 "hostname free.example.org is already the hostname of site 1 of install 1"),
                (add + ["--hostname", "a.example.com", "--rel-url", "shop"], "--rel-url must be a path starting with /, got shop"),
                (add + ["--hostname", "a.example.com", "--ssl-pem", other.pem], "give both --ssl-pem and --ssl-key, or neither"),
                (add + ["--hostname", "a.example.com", "--ssl-pem", other.pem, "--ssl-key", other.key],
                 "the certificate does not cover a.example.com: /root/certs/other.pem is for other.example.net"),
                (add + ["--hostname", "a.example.com", "--ssl-pem", "/root/certs/none.pem", "--ssl-key", other.key], "/root/certs/none.pem does not exist"),
                (add + ["--hostname", "not a host"], "--hostname"),
                (["add-site", "--hostname", "a.example.com"], "missing required argument --install"),
            ] {
                try SiteTesting.expectRefused(world, arguments, problem)
            }
        }

        try expectUndoRestores(world) {
            // A site in the managed domain, with its own secure hostname and path: the www name's
            // CNAME gives way to the store's A records.
            #expect(try rows("SELECT type, content FROM divinity.dns_records WHERE name = 'www.example.com'") == ["'CNAME' 'example.com'"])
            let run = try world.planAndRun(add + ["--hostname", "www.example.com", "--secure-hostname", "secure.example.com", "--rel-url", "/shop"])
            #expect(run.exitCode == 0, "\(run)")
            #expect(try rows(storeSites) == pristineSites + ["'http://www.example.com' 'https://secure.example.com' '/shop' '/shop'"])
            #expect(try rows("SELECT id, install_id, hostname, secure_hostname, rel_url, secure_rel_url FROM internal.install_sites WHERE id = 2")
                    == ["2 1 'www.example.com' 'secure.example.com' '/shop' '/shop'"])
            // One fixed address on the master (the free install's first site has 192.0.2.100).
            #expect(try rows("SELECT install_site_id, ip, handler_id FROM internal.install_site_ips ORDER BY id")
                    == ["1 '192.0.2.100' 1", "2 '192.0.2.101' 1"])
            #expect(try rows("SELECT ip, movable, install_id, install_site_id FROM divinity.server_ips WHERE install_id IS NOT NULL ORDER BY ip")
                    == ["'192.0.2.100' 0 1 1", "'192.0.2.101' 0 1 2"])
            #expect(try rows("SELECT name, type, content FROM divinity.dns_records WHERE name IN ('www.example.com', 'secure.example.com') ORDER BY name")
                    == ["'secure.example.com' 'A' '192.0.2.101'", "'www.example.com' 'A' '192.0.2.101'"])
            #expect(try rows("SELECT COUNT(*) FROM divinity.dns_records WHERE name LIKE '%example.org'") == ["0"], "example.org is not managed")
            let conf = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(conf.contains("    listen 192.0.2.101:\(port);\n    server_name www.example.com secure.example.com;\n"), "\(conf)")
            #expect(conf.contains("upstream install_1_php {\n    server 10.0.0.1:9000 weight=1 max_fails=3 fail_timeout=30s;\n}"), "a free install: its master only\n\(conf)")
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            // The new name is taken now.
            try SiteTesting.expectRefused(world, ["add-site", "--install", "1", "--hostname", "secure.example.com"],
                                          "hostname secure.example.com is already the secure hostname of site 2 of install 1")

            let runToUndo = try #require(DemoWorld.runID(run))

            return runToUndo
        }
        #expect(try rows(storeSites) == pristineSites)

        // A site whose nginx config fails its test (a custom rewrite with a broken regex): the run
        // fails at the rebuild, nginx keeps its config, and everything the run did is undone.
        _ = try db.execute("UPDATE internal.installs SET custom_rewrites = ? WHERE id = 1", [.string("a:1:{i:0;s:15:\"rewrite ^/x( /y\";}")])
        try expectUndoRestores(world, "after the failed run") {
            let failed = try world.runbook(["run"] + add + ["--hostname", "www.example.com"])
            #expect(failed.exitCode == 1 && failed.stderr.contains("nginx config test failed"), "\(failed)")
            #expect(failed.stdout.contains("pcre2_compile() failed"), "\(failed)")
            return nil
        }
        #expect(try rows(storeSites) == pristineSites)

        // Certificates are written in the install's home on its master: elsewhere it is refused.
        _ = try db.execute("UPDATE internal.installs SET master_handler_id = 2 WHERE id = 1")
        try SiteTesting.expectRefused(world, add + ["--hostname", "www.example.com"],
                                      "install 1 (freeexam1) has its master on dispatch2.make-a-store.com: run add-site there, not on dispatch1.make-a-store.com")
    }
}
