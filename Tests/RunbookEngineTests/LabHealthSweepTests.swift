// health-sweep in the lab: a free store lives on d1 only (its address is d1's); d2's sweep
// does not check it — until d2 holds that address, as after failover-ips took d1's floating
// IPs: then d2 checks it too, through d2's own nginx, and says the address was taken over.
// (A free install's files are on its master only, so d2's nginx answers 404 for it: the
// sweep warns; a paid one is on both dispatchers and answers.)

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("health-sweep in the lab: sites on addresses taken over from the peer", .serialized)
struct LabHealthSweepTests {
    func runbook(_ lab: Lab, on host: String, _ words: [String]) throws -> ChildResult {
        try lab.exec(host, [try RunbookBinary.require(), "--config", "/etc/runbook/config.toml"] + words, timeout: 300)
    }

    @Test("d2's sweep checks d1's free store only once d2 holds its address, and says it was taken over")
    func takenOverAddressesAreChecked() throws {
        try SharedLab.use { lab in
            let install = try runbook(lab, on: "d1", ["run", "install", "--email", "demo@example.com", "--hostname", "free.example.com",
                                                      "--plan", "free", "--yes", "--json"])
            #expect(install.exitCode == 0, "\(install)")
            let installID = try #require(DemoWorld.runID(install), "\(install)")
            defer { _ = try? runbook(lab, on: "d1", ["undo", installID]) }
            let conf = Files.read(try lab.files("d2") + "/usr/local/etc/nginx/installs.conf") ?? ""
            let address = try #require(conf.firstMatch(of: /listen (192\.0\.2\.\d+):80;\n    server_name free\.example\.com;/)?.1,
                                       "d2's nginx has the free store, on one of d1's addresses\n\(conf)")

            let before = try runbook(lab, on: "d2", ["run", "health-sweep", "--yes"])
            #expect(before.exitCode == 0, "\(before)")
            #expect(!before.stdout.contains("free.example.com"), "d2 does not serve d1's free store yet\n\(before.stdout)")

            // As failover-ips would on d1's LINK_DOWN: d2 holds the address on the interface of
            // its mas_ip_manager.cfg.
            let add = try lab.exec("d2", ["ip", "addr", "add", "\(address)/32", "dev", "eth1"], timeout: 20)
            #expect(add.exitCode == 0, "\(add)")
            defer { _ = try? lab.exec("d2", ["ip", "addr", "del", "\(address)/32", "dev", "eth1"], timeout: 20) }
            let after = try runbook(lab, on: "d2", ["run", "health-sweep", "--yes"])
            #expect(after.exitCode == 0, "\(after)")
            // d2 answers for it through its own nginx; the free store's files are on d1 only
            // (free installs live on their master), so d2's nginx has no page for it: 404, a
            // warning, not a dead site.
            #expect(after.stdout.contains("free.example.com answers 404 Not Found for http://\(address):80/ (an address taken over from the peer)"),
                    "d2 checks the store on the address it took over\n\(after.stdout)")
        }
    }
}
