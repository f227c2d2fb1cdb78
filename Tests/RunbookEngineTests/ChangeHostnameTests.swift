// runbooks/change-hostname.lua end to end on a demo world with a paid store installed by the
// install runbook (shop.example.com; example.com is a domain the company manages): the
// hostname, certificate, addresses, managed DNS records, the store's own sites row and nginx
// change as planned, nginx accepts the result, and `runbook undo` puts everything back. A
// certificate that does not cover the new name is refused unless the operator says what to do,
// and bad input is refused in one line with nothing touched.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing


@Suite(.serialized) struct ChangeHostnameTests {
    @Test func aHostnameChangeMovesTheSiteItsCertificateAddressDNSAndNginxAndIsUndone() throws {
        let world = try DemoWorld.withStore(["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let root = world.root
        let port = try world.value("DEMO_WORLD_NGINX_PORT"), httpsPort = try world.value("DEMO_WORLD_NGINX_HTTPS_PORT")
        let nginxLog = SiteTesting.errorLogMark(world)
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }

        // The store's zone as an operator would have it: an alias and a www name pointing at the
        // store, its own mail, and a parking record on the name the customer wants.
        _ = try db.execute("""
            INSERT INTO divinity.dns_records (domain, name, type, content) VALUES
              ('example.com', 'www.shop.example.com', 'CNAME', 'shop.example.com'),
              ('example.com', 'mail.shop.example.com', 'A', '203.0.113.25'),
              ('example.com', 'shop.example.com', 'MX', 'mail.shop.example.com'),
              ('example.com', 'alias.example.com', 'CNAME', 'shop.example.com.'),
              ('example.com', 'store.example.com', 'A', '203.0.113.99'),
              ('example.com', 'store.example.com', 'TXT', 'v=spf1 -all')
            """)
        // The customer's certificate for the new name (and the rest of its domain).
        let cert = try SiteTesting.certificate(world, file: "store", names: ["store.example.com", "*.example.com"])
        let storeSites = "SELECT hostname, secure_hostname, rel_url FROM shopexam1.sites ORDER BY id"
        let pristineSites = try rows(storeSites)
        #expect(pristineSites == ["'http://shop.example.com' 'https://shop.example.com' '/'"])

        try expectUndosRestore(world) {
            let run = try world.planAndRun(["change-hostname", "--from", "shop.example.com", "--to", "store.example.com",
                                            "--new-ip", "192.0.2.13", "--ssl-pem", cert.pem, "--ssl-key", cert.key])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run))

            // install_sites: the names and the new certificate, copied into the install's certs.
            let home = "/usr/home/shopexam1"
            #expect(try rows("SELECT id, hostname, secure_hostname, ssl_pem, ssl_key FROM internal.install_sites")
                    == ["1 'store.example.com' 'store.example.com' '\(home)/certs/store.example.com.pem' '\(home)/certs/store.example.com.key'"])
            let dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
            for server in [root, dispatch2] {
                #expect(Files.read(server + home + "/certs/store.example.com.pem") == Files.read(root + cert.pem), "\(server)")
                #expect(Posix.lstatInfo(server + home + "/certs/store.example.com.key")?.mode == 0o600, "\(server)")
            }
            // The address on d1 is replaced by 192.0.2.13; 192.0.2.10 is back in the pool.
            #expect(try rows("SELECT install_site_id, ip, handler_id FROM internal.install_site_ips ORDER BY id")
                    == ["1 '192.0.2.13' 1", "1 '198.51.100.10' 2"])
            #expect(try rows("SELECT ip, install_id, install_site_id FROM divinity.server_ips WHERE install_id IS NOT NULL ORDER BY ip")
                    == ["'192.0.2.13' 1 1", "'198.51.100.10' 1 1"])
            #expect(try rows("SELECT install_id FROM divinity.server_ips WHERE ip = '192.0.2.10'") == ["NULL"])
            // DNS: the store's records moved (with the new address), the alias follows, the parking
            // record gave way; mail and the TXT record are not the store's and stay.
            #expect(try rows("SELECT name, type, content FROM divinity.dns_records WHERE name LIKE '%shop%' OR name LIKE '%store%' OR name LIKE 'alias%' ORDER BY name, type, content")
                    == ["'alias.example.com' 'CNAME' 'store.example.com.'",
                        "'mail.shop.example.com' 'A' '203.0.113.25'",
                        "'shop.example.com' 'MX' 'mail.shop.example.com'",
                        "'store.example.com' 'A' '192.0.2.13'", "'store.example.com' 'A' '198.51.100.10'",
                        "'store.example.com' 'TXT' 'v=spf1 -all'",
                        "'www.store.example.com' 'CNAME' 'store.example.com'"])
            // The store's own database answers by the new name.
            #expect(try rows(storeSites) == ["'http://store.example.com' 'https://store.example.com' '/'"])

            // nginx serves the new name on the new address, with the certificate on 443.
            let conf = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(conf.contains("    listen 192.0.2.13:\(port);\n    listen 198.51.100.10:\(port);\n    server_name store.example.com;\n"), "\(conf)")
            #expect(conf.contains("    listen 192.0.2.13:\(httpsPort) ssl;\n    listen 198.51.100.10:\(httpsPort) ssl;\n    server_name store.example.com;\n"
                + "    ssl_certificate \(root)\(home)/certs/store.example.com.pem;\n"), "\(conf)")
            #expect(!conf.contains("shop.example.com") && !conf.contains("192.0.2.10:"), "\(conf)")
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            // Again, to a name the certificate covers too (*.example.com): it is kept, not refused.
            let second = try world.planAndRun(["change-hostname", "--from", "store.example.com", "--to", "boutique.example.com"])
            #expect(second.exitCode == 0, "\(second)")
            #expect(SiteTesting.messages(second, "info").contains { $0.contains("covers boutique.example.com: it stays") }, "\(second)")
            #expect(try rows("SELECT hostname, ssl_pem FROM internal.install_sites") == ["'boutique.example.com' '\(home)/certs/store.example.com.pem'"])
            #expect(try rows("SELECT name, content FROM divinity.dns_records WHERE type = 'A' AND name LIKE 'boutique%' ORDER BY content")
                    == ["'boutique.example.com' '192.0.2.13'", "'boutique.example.com' '198.51.100.10'"])
            #expect(try rows(storeSites) == ["'http://boutique.example.com' 'https://boutique.example.com' '/'"])
            let conf2 = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(conf2.contains("server_name boutique.example.com;\n    ssl_certificate \(root)\(home)/certs/store.example.com.pem;"), "\(conf2)")
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            // Undo, newest first: the world, the store's database and nginx are as they were.
            return [try #require(DemoWorld.runID(second)), runID]
        }
        #expect(try rows(storeSites) == pristineSites)
        #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf")?.contains("server_name shop.example.com;") == true)
        try SiteTesting.expectNginxAccepts(world, since: nginxLog)
    }

    @Test func aCertificateThatDoesNotCoverTheNewNameIsNeverKeptSilentlyAndBadInputIsRefused() throws {
        let world = try DemoWorld.built()
        let root = world.root
        let cert = try SiteTesting.certificate(world, file: "shop", names: ["shop.example.com"])
        try SiteTesting.install(world, ["--email", "demo@example.com", "--hostname", "shop.example.com,www.shop.example.com",
                                        "--plan", "paid", "--ssl-pem", cert.pem, "--ssl-key", cert.key])
        let nginxLog = SiteTesting.errorLogMark(world)
        let other = try SiteTesting.certificate(world, file: "other", names: ["other.example.net"])
        let storeCert = try SiteTesting.certificate(world, file: "store", names: ["store.example.com"])
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }
        let storeSites = "SELECT hostname, secure_hostname FROM shopexam1.sites ORDER BY id"
        let pristineSites = try rows(storeSites)

        try expectUndosRestore(world) {
            let change = ["change-hostname", "--from", "shop.example.com"]
            try expectUnchanged(world, "after the refused changes") {
                for (arguments, problem) in [
                    (change + ["--to", "store.example.com"],
                     "site shop.example.com has its own certificate, which does not cover store.example.com (/usr/home/shopexam1/certs/shop.example.com.pem is for shop.example.com): give --ssl-pem and --ssl-key for the new name, --drop-ssl"),
                    (change + ["--to", "store.example.com", "--ssl-pem", other.pem, "--ssl-key", other.key],
                     "the certificate does not cover store.example.com: /root/certs/other.pem is for other.example.net"),
                    (change + ["--to", "store.example.com", "--ssl-pem", storeCert.pem, "--ssl-key", other.key],
                     "/root/certs/other.key is not the key of /root/certs/store.pem"),
                    (change + ["--to", "store.example.com", "--keep-ssl", "--drop-ssl"], "give one of --ssl-pem/--ssl-key, --keep-ssl and --drop-ssl"),
                    (change + ["--to", "store.example.com", "--ssl-pem", cert.pem], "give both --ssl-pem and --ssl-key, or neither"),
                    (["change-hostname", "--from", "nosuch.example.com", "--to", "store.example.com"], "no site has the hostname nosuch.example.com"),
                    (change + ["--to", "www.shop.example.com"], "hostname www.shop.example.com is already the hostname of site 2 of install 1"),
                    (change + ["--to", "shop.example.com"], "--to is the same as --from: nothing to change"),
                    (change + ["--to", "store.example.com", "--drop-ssl", "--secure-hostname", "www.shop.example.com"],
                     "secure hostname www.shop.example.com is already the hostname of site 2 of install 1"),
                    (change + ["--to", "store.example.com", "--drop-ssl", "--new-ip", "192.0.2.11"], "--new-ip 192.0.2.11 is held by install 1 (site 2)"),
                    (change + ["--to", "store.example.com", "--drop-ssl", "--new-ip", "192.0.2.10"], "--new-ip 192.0.2.10 is already an address of shop.example.com"),
                    (change + ["--to", "store.example.com", "--drop-ssl", "--new-ip", "192.0.2.100"],
                     "--new-ip 192.0.2.100 is a fixed address: a paid install's addresses are movable"),
                    (change + ["--to", "store.example.com", "--drop-ssl", "--new-ip", "10.9.9.9"], "--new-ip 10.9.9.9 is not in the IP pool (server_ips)"),
                    (change + ["--to", "store.example.com", "--drop-ssl", "--new-ip", "192.0.2.14,192.0.2.15"], "--new-ip: two addresses on dispatch1.make-a-store.com"),
                    (change + ["--to", "not a host"], "--to"),
                ] {
                    try SiteTesting.expectRefused(world, arguments, problem)
                }
            }
            #expect(try rows(storeSites) == pristineSites)

            // --drop-ssl to a domain the company does not manage: no certificate, and the old name's
            // records are removed (the customer's DNS must point the new one), the www site's stay.
            let dropped = try world.planAndRun(change + ["--to", "shop.example.org", "--drop-ssl"])
            #expect(dropped.exitCode == 0, "\(dropped)")
            let warnings = SiteTesting.messages(dropped, "warn")
            #expect(warnings.contains { $0.hasPrefix("shop.example.org is served without SSL now") }, "\(warnings)")
            #expect(warnings.contains { $0.contains("does not manage shop.example.org's domain: 2 records of shop.example.com removed; "
                                                    + "the customer's DNS must point shop.example.org at 192.0.2.10, 198.51.100.10") }, "\(warnings)")
            #expect(try rows("SELECT id, hostname, secure_hostname, ssl_pem, ssl_key FROM internal.install_sites ORDER BY id")
                    == ["1 'shop.example.org' 'shop.example.org' NULL NULL", "2 'www.shop.example.com' 'www.shop.example.com' NULL NULL"])
            #expect(try rows("SELECT name, content FROM divinity.dns_records WHERE name LIKE '%shop%' ORDER BY name, content")
                    == ["'www.shop.example.com' '192.0.2.11'", "'www.shop.example.com' '198.51.100.11'"])
            #expect(try rows(storeSites) == ["'http://shop.example.org' 'https://shop.example.org'",
                                             "'http://www.shop.example.com' 'https://www.shop.example.com'"])
            let conf = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(conf.contains("server_name shop.example.org;") && !conf.contains("ssl_certificate "), "\(conf)")
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            // Then into the managed domain again, under a new name: it gets A records for its addresses.
            let back = try world.planAndRun(["change-hostname", "--from", "shop.example.org", "--to", "store.example.com"])
            #expect(back.exitCode == 0, "\(back)")
            #expect(try rows("SELECT domain, name, content FROM divinity.dns_records WHERE name = 'store.example.com' ORDER BY content")
                    == ["'example.com' 'store.example.com' '192.0.2.10'", "'example.com' 'store.example.com' '198.51.100.10'"])
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            return [try #require(DemoWorld.runID(back)), try #require(DemoWorld.runID(dropped))]
        }
        #expect(try rows(storeSites) == pristineSites)
        #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf")?.contains("ssl_certificate \(root)/usr/home/shopexam1/certs/shop.example.com.pem;") == true)
    }
}
