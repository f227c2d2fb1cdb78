// failover-db in the lab, the guide's "Failsafe of DB": a paid store on d1 and d2 and on the
// cloud handler; cloud-db1 (the primary) is cut off; failover-db run on d1 points every
// config.php — d1's, d2's (its own run there), the cloud's (through its agent) and each
// server's /home/internal — at d2's replica, and the client gets the store's page again,
// read from the replica. Undo of both runs brings every file back.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("failover-db in the lab: every config.php on every server, the store answers from the replica", .serialized)
struct LabFailoverDBTests {
    static let internalConfig = "/home/internal/heavymetal/config.php"

    @Test("with cloud-db1 cut off, failover-db --destination slave makes the store answer from d2's replica through d1; undo puts every file back")
    func storesAnswerFromTheReplica() throws {
        try SharedLab.use { lab in
            // The internal plugin's config on each server (the lab has no /home/internal).
            for host in ["d1", "d2", "tmp-cloud"] {
                try Files.mkdir(try lab.files(host) + "/home/internal/heavymetal")
                try Files.write(try lab.files(host) + Self.internalConfig, "<?php\n$config['db_host'] = '10.0.0.5';\n")
            }
            defer { for host in ["d1", "d2", "tmp-cloud"] { try? FileManager.default.removeItem(atPath: (try? lab.files(host) + "/home/internal") ?? "") } }
            let pristine = try lab.state()
            let runs = RunsOnD1(lab)
            defer { runs.undoLeft() }
            try runs.run(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
            try runs.run(["run", "cloud-manager", "--action", "add-install", "--id", "shopexam1", "--hostname", "tmp-cloud.make-a-store.com"])

            try lab.script(["link", lab.directory, "cloud-db1", "down"])
            defer { _ = try? lab.script(["link", lab.directory, "cloud-db1", "up"]) }
            let failover = try runs.run(["run", "failover-db", "--destination", "slave", "--peer", "d2", "--also", "tmp-cloud"])
            for host in ["d1", "d2", "tmp-cloud"] {
                for path in ["/usr/home/shopexam1/heavymetal/config.php", Self.internalConfig] {
                    #expect((Files.read(try lab.files(host) + path) ?? "").contains("$config['db_host'] = '10.0.0.2';"), "\(host):\(path)")
                }
            }
            // Every PHP handler (d1, d2, the cloud) reads the store from the replica now.
            var handlers: Set<String> = []
            for _ in 0..<9 {
                let page = try lab.fetch("192.0.2.10", host: "shop.example.com")
                #expect(page.stdoutLines.first == "store: shopexam1 (install 1)", "\(page)")
                #expect(page.stdoutLines.contains("database: shopexam1 on 10.0.0.2"), "\(page)")
                if let handler = page.stdoutLines.last, handler.hasPrefix("handler: ") { handlers.insert(String(handler.dropFirst(9))) }
            }
            #expect(handlers.count >= 2, "more than one handler answered from the replica: \(handlers)")

            // Undo: this run (d1 and the cloud), then the peer's own run on d2.
            let peerLine = try #require(failover.stdout.split(separator: "\n").first { $0.contains("runbook undo ") && $0.contains("dispatch2") },
                                        "the peer's run id is in the log\n\(failover.stdout.suffix(2000))")
            let peerRun = String(try #require(peerLine.components(separatedBy: "runbook undo ").last).prefix { $0 != "`" })
            let failoverRun = runs.takeLast()
            let undo = try lab.runbookOnD1(["undo", failoverRun], timeout: 120)
            #expect(undo.exitCode == 0, "\(undo)")
            let peerUndo = try lab.exec("d2", [try RunbookBinary.require(), "--config", "/etc/runbook/config.toml", "undo", peerRun], timeout: 120)
            #expect(peerUndo.exitCode == 0, "\(peerUndo)")
            for host in ["d1", "d2", "tmp-cloud"] {
                #expect((Files.read(try lab.files(host) + Self.internalConfig) ?? "").contains("'10.0.0.5'"), "\(host) is back")
            }
            try lab.script(["link", lab.directory, "cloud-db1", "up"])
            try runs.undoAll()
            let undone = try lab.state()
            #expect(undone == pristine, "undo left differences:\n\(pristine.differences(from: undone).prefix(20).joined(separator: "\n"))")
        }
    }
}
