// ip-status in the lab: run on d1, it reads d1's and d2's interfaces (d2 through its agent),
// the master database's pool and mas_ip_manager.cfg, pings every floating IP at once, and
// reports who holds each; an address added to the pool but to no carp section is flagged.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("ip-status in the lab", .serialized)
struct LabIPStatusTests {
    @Test("each floating IP is shown with the dispatcher holding it and whether it answers; a pool address in no carp section is flagged; --json is one object")
    func whereEveryFloatingIPIs() throws {
        try SharedLab.use { lab in
            let master = try lab.database("master")
            defer { _ = try? master.execute("DELETE FROM divinity.server_ips WHERE ip = '192.0.2.77'"); master.close() }
            _ = try master.execute("INSERT INTO divinity.server_ips (server_id, ip, movable) SELECT id, '192.0.2.77', 1 FROM divinity.servers ORDER BY id LIMIT 1")

            let shown = try lab.runbookOnD1(["run", "ip-status", "--yes"])
            #expect(shown.exitCode == 0, "\(shown)")
            let lines = shown.stdoutLines
            func line(_ ip: String) -> String { lines.first { $0.contains(" \(ip) ") } ?? "(no line for \(ip))" }
            #expect(line("192.0.2.10").contains("carp1") && line("192.0.2.10").contains("held by dispatch1.make-a-store.com")
                    && line("192.0.2.10").contains("answers ping"), "\(line("192.0.2.10"))")
            // (d1 has no route to d2's public segment: from d1, d2's addresses do not answer.)
            #expect(line("198.51.100.10").contains("carp2") && line("198.51.100.10").contains("held by dispatch2.make-a-store.com"),
                    "\(line("198.51.100.10"))")
            #expect(shown.stdout.contains("192.0.2.77 is in the pool (") && shown.stdout.contains("but in no carp section"), "\(shown.stdout)")
            #expect(shown.stdout.contains("[carp1] on eth1: dispatch1.make-a-store.com no carp (linux), dispatch2.make-a-store.com no carp (linux)"),
                    "\(shown.stdout)")

            let json = try lab.runbookOnD1(["run", "ip-status", "--yes", "--json"])
            let text = try #require(json.events("log").compactMap { $0["message"]?.stringValue }.first { $0.hasPrefix("{") }, "\(json.stdout)")
            let report = try JSON.parse(text)
            let entry = report["addresses"]?.arrayValue?.first { $0["ip"]?.stringValue == "198.51.100.10" }
            #expect(entry?["held_by"]?.arrayValue?.compactMap(\.stringValue) == ["dispatch2.make-a-store.com"], "\(text.prefix(600))")
            #expect(report["addresses"]?.arrayValue?.first { $0["ip"]?.stringValue == "192.0.2.10" }?["answers"]?.boolValue == true)
            #expect(report["flags"]?.arrayValue?.contains { $0.stringValue?.contains("192.0.2.77") == true } == true)
        }
    }
}
