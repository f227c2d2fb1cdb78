// ip-pool-check on a demo world: the free movable and fixed addresses per server, and a
// failure naming the dispatcher and how many to order when the pool runs low.

@testable import RunbookEngine
import Foundation
import RunbookTestKit
import Testing

@Suite(.serialized) struct IPPoolCheckTests {
    @Test func reportsThePoolAndFailsBelowTheThreshold() throws {
        let world = try DemoWorld.built()

        try expectUnchanged(world, "ip-pool-check only reads") {
            let full = try world.runbook(["run", "ip-pool-check"])
            #expect(full.exitCode == 0, "\(full)")
            #expect(full.stdout.contains("dispatch1.make-a-store.com  dispatcher       7 of 7        2 of 2"), "\(full)")
            #expect(full.stdout.contains("tmp-cloud.make-a-store.com  cloud            0 of 0        0 of 0"), "\(full)")

            // Installs take five of d2's seven movable addresses and one fixed one.
            let db = try world.admin()
            defer { db.close() }
            _ = try db.execute("""
                UPDATE divinity.server_ips SET install_id = 90
                WHERE server_id = 7 AND (ip IN ('198.51.100.10', '198.51.100.11', '198.51.100.12', '198.51.100.13', '203.0.113.2')
                                         OR ip = '198.51.100.100')
                """)
            let low = try world.runbook(["run", "ip-pool-check", "--min-movable", "3", "--min-fixed", "1"])
            #expect(low.exitCode == 1, "\(low)")
            #expect(low.stdout.contains("dispatch2.make-a-store.com  dispatcher       2 of 7        1 of 2"), "\(low)")
            #expect(low.stderr.contains("dispatch2.make-a-store.com has 2 free movable IPs (at least 3 wanted): order 1 more routed to the VLAN"),
                    "\(low)")
            #expect(!low.stderr.contains("dispatch1.make-a-store.com has"), "d1 has enough\n\(low)")
            #expect(!low.stderr.contains("tmp-cloud"), "a cloud handler serves no sites\n\(low)")

            // Thresholds from the settings; a negative one is refused.
            let config = try #require(Files.read(world.directory + "/config.toml"))
            try Files.write(world.directory + "/config.toml", config.replacingOccurrences(of: "[settings.database_hosts]",
                with: "[settings.ip_pool]\nmin_movable = 2\nmin_fixed = 2\n\n[settings.database_hosts]"))
            let fromSettings = try world.runbook(["run", "ip-pool-check"])
            #expect(fromSettings.exitCode == 1 && fromSettings.stderr.contains("has 1 free fixed IP (at least 2 wanted): order 1 more"),
                    "\(fromSettings)")
            let negative = try world.runbook(["run", "ip-pool-check", "--min-fixed", "-1"])
            #expect(negative.exitCode != 0 && negative.stderr.contains("thresholds cannot be negative"), "\(negative)")

            // Give d2's addresses back: what remains to compare is what the runbook did.
            _ = try db.execute("UPDATE divinity.server_ips SET install_id = NULL WHERE install_id = 90")
        }
    }
}
