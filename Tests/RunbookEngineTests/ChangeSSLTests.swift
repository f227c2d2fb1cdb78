// runbooks/change-ssl.lua end to end on a demo world with a paid store installed by the
// install runbook (shop.example.com with its certificate, www.shop.example.com without): a
// renewed certificate lands in HOME/certs on both dispatchers (0600), install_sites points at
// it, nginx serves it and accepts the config; the dry-run plans exactly what the run applies,
// the key's content shows nowhere, and undo puts the old certificate back. A key that is not
// the certificate's, an expired certificate, or one for another name is refused in one line
// with nothing touched. Helpers: SiteTesting (ChangeHostnameTests.swift).

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct ChangeSSLTests {
    /// A certificate for `name` that expired in 2020 and its key, under the world's
    /// /root/certs (openssl req cannot back-date; a self-signing `openssl ca` can).
    static func expiredCertificate(_ world: DemoWorld, file: String, name: String) throws -> (pem: String, key: String) {
        let folder = world.root + "/root/certs", ca = world.directory + "/expired-ca"
        try Files.mkdir(folder)
        try Files.mkdir(ca)
        try Files.write(ca + "/index.txt", "")
        try Files.write(ca + "/serial", "01\n")
        try Files.write(ca + "/ca.cnf", """
            [ca]
            default_ca = d
            [d]
            database = \(ca)/index.txt
            new_certs_dir = \(ca)
            serial = \(ca)/serial
            default_md = sha256
            policy = p
            copy_extensions = copy
            [p]
            commonName = supplied

            """)
        _ = try system(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", folder + "/" + file + ".key", "-out", ca + "/" + file + ".csr", "-subj", "/CN=" + name,
                        "-addext", "subjectAltName=DNS:" + name])
        _ = try system(["openssl", "ca", "-config", ca + "/ca.cnf", "-selfsign", "-keyfile", folder + "/" + file + ".key",
                        "-in", ca + "/" + file + ".csr", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
                        "-batch", "-notext", "-out", folder + "/" + file + ".pem"])
        return ("/root/certs/" + file + ".pem", "/root/certs/" + file + ".key")
    }

    @Test func aRenewedCertificateGoesToEveryServerAndNginxAndIsUndone() throws {
        let world = try DemoWorld.built()
        let root = world.root, dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
        let httpsPort = try world.value("DEMO_WORLD_NGINX_HTTPS_PORT")
        let first = try SiteTesting.certificate(world, file: "shop", names: ["shop.example.com"])
        try SiteTesting.install(world, ["--email", "demo@example.com", "--hostname", "shop.example.com,www.shop.example.com",
                                        "--plan", "paid", "--ssl-pem", first.pem, "--ssl-key", first.key])
        let nginxLog = SiteTesting.errorLogMark(world)
        let renewed = try SiteTesting.certificate(world, file: "renewed", names: ["shop.example.com", "www.shop.example.com"])
        let renewedKey = try #require(Files.read(root + renewed.key))
        let other = try SiteTesting.certificate(world, file: "other", names: ["shop.example.com"])
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }
        let home = "/usr/home/shopexam1"
        try expectUndoRestores(world) {
            #expect(try rows("SELECT id, hostname, ssl_pem FROM internal.install_sites ORDER BY id")
                    == ["1 'shop.example.com' '\(home)/certs/shop.example.com.pem'", "2 'www.shop.example.com' NULL"])

            // Both sites, by hostname and a comma list: one certificate that covers both names.
            let run = try world.planAndRun(["change-ssl", "--site", "shop.example.com,www.shop.example.com",
                                            "--ssl-pem", renewed.pem, "--ssl-key", renewed.key])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run))
            #expect(try rows("SELECT id, ssl_pem, ssl_key FROM internal.install_sites ORDER BY id")
                    == ["1 '\(home)/certs/shop.example.com.pem' '\(home)/certs/shop.example.com.key'",
                        "2 '\(home)/certs/shop.example.com.pem' '\(home)/certs/shop.example.com.key'"])
            for server in [root, dispatch2] {
                #expect(Files.read(server + home + "/certs/shop.example.com.pem") == Files.read(root + renewed.pem), "\(server)")
                #expect(Files.read(server + home + "/certs/shop.example.com.key") == renewedKey, "\(server)")
                for file in ["shop.example.com.pem", "shop.example.com.key"] {
                    #expect(Posix.lstatInfo(server + home + "/certs/" + file)?.mode == 0o600, "\(server) \(file)")
                }
            }
            // nginx: both names on 443 with the renewed files, and nginx takes them.
            let conf = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            for name in ["shop.example.com", "www.shop.example.com"] {
                #expect(conf.contains(":\(httpsPort) ssl;\n    server_name \(name);\n    ssl_certificate \(root)\(home)/certs/shop.example.com.pem;\n"
                    + "    ssl_certificate_key \(root)\(home)/certs/shop.example.com.key;\n"), "\(name)\n\(conf)")
            }
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            // The key is a secret: its content is in no output, plan, log or journal of the run.
            let keyBody = renewedKey.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            #expect(keyBody.count > 40)
            let state = try world.value("DEMO_WORLD_STATE")
            var places = [("run", run.stdout + run.stderr)]
            for command in [["log", runID], ["log", runID, "--json"], ["undo", runID, "--dry-run"]] {
                let shown = try world.runbook(command)
                places.append((command.joined(separator: " "), shown.stdout + shown.stderr))
            }
            for file in ["journal.jsonl", "run.json"] { places.append((file, Files.read(state + "/runs/\(runID)/" + file) ?? "")) }
            #expect(places.last(where: { $0.0 == "journal.jsonl" })?.1.isEmpty == false)
            for (place, text) in places {
                let flat = text.replacingOccurrences(of: "\\n", with: "").replacingOccurrences(of: "\n", with: "")
                #expect(!flat.contains(keyBody) && !text.contains("PRIVATE KEY-----\n"), "the key is in \(place)")
            }

            // Now the file is both sites': renewing one of them alone is refused.
            try expectUnchanged(world, "renewing one site of a shared certificate") {
                try SiteTesting.expectRefused(world, ["change-ssl", "--site", "shop.example.com", "--ssl-pem", other.pem, "--ssl-key", other.key],
                                              "\(home)/certs/shop.example.com.pem is also the certificate of site 2 (www.shop.example.com): give --site www.shop.example.com too")
            }

            // Undo: the first certificate is back (content and mode), the rows and nginx too.
            return runID
        }
        #expect(Files.read(root + home + "/certs/shop.example.com.key") == Files.read(root + first.key))
        let restored = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
        #expect(!restored.contains("server_name www.shop.example.com;\n    ssl_certificate"), "\(restored)")
        try SiteTesting.expectNginxAccepts(world, since: nginxLog)
    }

    @Test func aWrongKeyAnExpiredOrForeignCertificateIsRefusedWithNothingTouched() throws {
        let world = try DemoWorld.withStore(["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let root = world.root
        let nginxLog = SiteTesting.errorLogMark(world)
        let good = try SiteTesting.certificate(world, file: "good", names: ["shop.example.com"])
        let foreign = try SiteTesting.certificate(world, file: "foreign", names: ["other.example.net"])
        let expired = try Self.expiredCertificate(world, file: "expired", name: "shop.example.com")
        try Files.write(root + "/root/certs/junk.pem", "not a certificate\n")

        let change = ["change-ssl", "--site", "shop.example.com"]
        try expectUnchanged(world, "after the refused changes") {
            for (arguments, problem) in [
                (change + ["--ssl-pem", good.pem, "--ssl-key", foreign.key], "/root/certs/foreign.key is not the key of /root/certs/good.pem"),
                (change + ["--ssl-pem", expired.pem, "--ssl-key", expired.key], "/root/certs/expired.pem expired on Feb  1 00:00:00 2020 GMT"),
                (change + ["--ssl-pem", foreign.pem, "--ssl-key", foreign.key],
                 "the certificate does not cover shop.example.com: /root/certs/foreign.pem is for other.example.net"),
                (change + ["--ssl-pem", "/root/certs/junk.pem", "--ssl-key", good.key], "/root/certs/junk.pem is not a certificate"),
                (change + ["--ssl-pem", good.pem, "--ssl-key", "/root/certs/none.key"], "/root/certs/none.key does not exist"),
                (["change-ssl", "--site", "nosuch.example.com", "--ssl-pem", good.pem, "--ssl-key", good.key],
                 "--site nosuch.example.com: no site has this hostname or secure hostname"),
                (change + ["--site", "shop.example.com", "--ssl-pem", good.pem, "--ssl-key", good.key], "--site shop.example.com: site 1 (shop.example.com) is named twice"),
                (change + ["--ssl-pem", good.pem], "--ssl-key"),
            ] {
                try SiteTesting.expectRefused(world, arguments, problem)
            }
        }

        try expectUndoRestores(world) {
            // --any-name: served anyway, with a warning (a certificate bought for the wrong name is
            // the operator's call, never a silent one).
            let anyway = try world.planAndRun(change + ["--ssl-pem", foreign.pem, "--ssl-key", foreign.key, "--any-name"])
            #expect(anyway.exitCode == 0, "\(anyway)")
            #expect(SiteTesting.messages(anyway, "warn").contains { $0.hasPrefix("the certificate does not cover shop.example.com") }, "\(anyway)")
            #expect(Files.read(root + "/usr/home/shopexam1/certs/shop.example.com.pem") == Files.read(root + foreign.pem))
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)
            let runToUndo = try #require(DemoWorld.runID(anyway))
            return runToUndo
        }
    }
}
