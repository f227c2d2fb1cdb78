// downgrade on a demo world (the guide's "Downgrade paid to free"): a paid store moved to the
// free codebase of the same revision — links, installs row, one IP per site (the other back
// in the pool), no FTP mounts, FTP user _del, one DNS record, no copy or cron on dispatch2,
// nginx with the master only — planned exactly, undone exactly; another revision, an
// unknown install and a free install are refused without a change.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct DowngradeTests {
    @Test func aPaidInstallIsDowngradedToFreeAndUndone() throws {
        let world = try DemoWorld.built()
        let installed = try world.runbook(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com",
                                           "--plan", "paid"])
        #expect(installed.exitCode == 0, "\(installed)")
        let root = world.root
        let port = try world.value("DEMO_WORLD_NGINX_PORT")
        let home = root + "/usr/home/shopexam1"
        let free = root + "/home/shared_codes/code_share_free_1", paid = root + "/home/shared_codes/code_share_paid_1"
        let dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] {
            try db.query(sql).rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
        }
        func links(_ tree: String) -> [String] { TreeFingerprint(tree).entries.values.filter { $0.contains(" -> ") }.sorted() }

        // What the install made, as the downgrade finds it.
        #expect(try rows("SELECT shared_code_group_id, free, license, dynamic_ips, ftp_user FROM internal.installs")
                == ["2 0 'paid' 1 'www_shopexam1'"])
        #expect(try rows("SELECT install_site_id, ip, handler_id FROM internal.install_site_ips ORDER BY id")
                == ["1 '192.0.2.10' 1", "1 '198.51.100.10' 2"])
        #expect(links(home).count == 6 && links(home).allSatisfy { $0.contains(paid + "/") }, "\(links(home))")
        #expect(DemoWorld.mounts(under: home).count == 3)

        try expectUndoRestores(world) {
            // Refused, nothing changed: the free group at another revision (one line naming both),
            // a group named with --codebase at another revision, an unknown install.
            _ = try db.execute("UPDATE internal.shared_code_groups SET revision = '2' WHERE id = 1")
            let otherRevision = try world.state()
            let refused = try world.runbook(["run", "downgrade", "--install", "shop.example.com"])
            #expect(refused.exitCode == 1, "\(refused)")
            let reason = refused.stderr.split(separator: "\n").filter { $0.contains("failed:") }
            #expect(reason.count == 1 && reason[0].contains("the install's code_share_paid_1 (group 2) is at revision 1")
                    && reason[0].contains("code_share_free_1 (group 1) is at revision 2")
                    && reason[0].contains("must be the same revision"), "\(refused)")
            let named = try world.runbook(["run", "downgrade", "--install", "shopexam1", "--codebase", "1"])
            #expect(named.exitCode == 1 && named.stderr.contains(
                "--codebase 1: code_share_free_1 (group 1) is at revision 2 and the install's code_share_paid_1 (group 2) at revision 1"),
                    "\(named)")
            let unknown = try world.runbook(["run", "downgrade", "--install", "nosuch.example.com"])
            #expect(unknown.exitCode == 1 && unknown.stderr.contains("no install nosuch.example.com"), "\(unknown)")
            let paidGroup = try world.runbook(["run", "downgrade", "--install", "1", "--codebase", "3"])
            #expect(paidGroup.exitCode == 1 && paidGroup.stderr.contains("is a codebase for paid installs"), "\(paidGroup)")
            let unchanged = otherRevision.differences(from: try world.state())
            #expect(unchanged.isEmpty, "a refused downgrade changed:\n\(unchanged.joined(separator: "\n"))")
            _ = try db.execute("UPDATE internal.shared_code_groups SET revision = '1' WHERE id = 1")

            // The downgrade: planned, then applied exactly as planned.
            let run = try world.planAndRun(["downgrade", "--install", "shop.example.com"])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run))

            // 1. Links into the free codebase of the same revision, none left in the paid one.
            let relinked = links(home)
            #expect(relinked.count == 6 && relinked.allSatisfy { $0.contains(free + "/") } && !relinked.contains { $0.contains(paid) },
                    "\(relinked)")
            #expect(Posix.readLink(home + "/heavymetal/lib") == free + "/heavymetal/lib")
            #expect(Posix.lstatInfo(home + "/heavymetal/theme")?.kind == .directory, "the install's own copies stay")
            #expect(Files.read(home + "/heavymetal/config.php")?.contains("$config['shared_code_dir'] = '/home/shared_codes/code_share_free_1';")
                    == true)
            // 1, 3, 5: the installs row.
            #expect(try rows("SELECT shared_code_group_id, free, license, dynamic_ips, ftp_user FROM internal.installs")
                    == ["1 1 'free' 0 'www_shopexam1_del'"])
            // 2. One address left, on the master; the other back in the master's pool.
            #expect(try rows("SELECT install_site_id, ip, handler_id FROM internal.install_site_ips") == ["1 '192.0.2.10' 1"])
            #expect(try rows("SELECT ip, install_id, install_site_id FROM divinity.server_ips WHERE ip IN ('192.0.2.10', '198.51.100.10') ORDER BY ip")
                    == ["'192.0.2.10' 1 1", "'198.51.100.10' NULL NULL"])
            // 4. No bind mounts under the home, none left for cron_mount to mount again.
            #expect(DemoWorld.mounts(under: home).isEmpty, "\(DemoWorld.mounts(under: home))")
            #expect(try rows("SELECT COUNT(*) FROM internal.startup_mounts") == ["0"])
            // 6. One A record for the site, at the master's address; the zone's other records stay.
            #expect(try rows("SELECT name, content FROM divinity.dns_records WHERE type = 'A' AND name LIKE '%shop%'")
                    == ["'shop.example.com' '192.0.2.10'"])
            #expect(try rows("SELECT COUNT(*) FROM divinity.dns_records WHERE name <> 'shop.example.com'") == ["6"])
            // The other dispatcher no longer has the install: no copy, no cron line.
            #expect(!Files.exists(dispatch2 + "/usr/home/shopexam1"))
            #expect(!(Files.read(dispatch2 + "/etc/cron.d/divinity-installs") ?? "").contains("shopexam1"))
            // 7. nginx: PHP on the master only, the site on its one address; nginx took it.
            let served = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(served.contains("# install 1 shopexam1 (free)\nupstream install_1_php {\n    server 10.0.0.1:9000 weight=1 max_fails=3 fail_timeout=30s;\n}\n"),
                    "\(served)")
            #expect(served.contains("server {\n    listen 192.0.2.10:\(port);\n    server_name shop.example.com;"), "\(served)")
            #expect(!served.contains("10.0.0.2:9000") && !served.contains("198.51.100.10"), "\(served)")
            #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf.last-good") == served)
            let nginxErrors = (Files.read(world.directory + "/nginx/error.log") ?? "").split(separator: "\n").filter { $0.contains("[emerg]") }
            #expect(nginxErrors.isEmpty, "\(nginxErrors)")
            _ = try system(["nginx", "-t", "-q", "-c", try world.value("DEMO_WORLD_NGINX_CONFIG")])

            // A free install is refused, and nothing changes.
            let again = try expectUnchanged(world, "a second downgrade") { try world.runbook(["run", "downgrade", "--install", "shopexam1"]) }
            #expect(again.exitCode == 1 && again.stderr.contains("install 1 (shopexam1) is already free"), "\(again)")

            // Undo makes it paid again: every row, link, file, mount and the nginx config as after the install.
            return runID
        }
        #expect(DemoWorld.mounts(under: home).count == 3)
    }
}
