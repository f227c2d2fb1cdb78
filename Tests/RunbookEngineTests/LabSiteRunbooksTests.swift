// The runbooks that change a store's sites, run on d1 in the lab after a paid install: each
// rebuilds, tests and reloads nginx on both dispatchers (d2's through its agent), so the
// client gets the store through d1's and d2's addresses alike; a dry-run of each changes
// nothing on any host; undoing them in reverse brings every host back to the pristine lab.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("site runbooks in the lab: nginx on both dispatchers", .serialized)
struct LabSiteRunbooksTests {
    /// The install's site addresses as add-site logged them ("ADDRESS on ..."): one on d1, one on d2.
    static func addresses(_ run: ChildResult) -> [String] {
        run.stdoutLines.compactMap { line in
            guard let range = line.range(of: #"\b(192\.0\.2|198\.51\.100)\.\d+ on (the master|handler \d+) \(movable\)"#,
                                         options: .regularExpression) else { return nil }
            return String(line[range].split(separator: " ")[0])
        }
    }

    /// What the client gets for `host` at `address`, asked again for up to 5 s until the
    /// first line is `awaited` (a reload takes effect with nginx's new workers).
    static func firstLine(_ lab: Lab, _ address: String, host: String, path: String = "/", awaiting awaited: String) throws -> String {
        let deadline = Clock.monotonic() + 5
        while true {
            let line = try lab.fetch(address, host: host, path: path).stdoutLines.first ?? ""
            if line == awaited || Clock.monotonic() > deadline { return line }
            usleep(100_000)
        }
    }

    /// Both dispatchers' installs.conf are the same file.
    static func sameNginxConfig(_ lab: Lab) throws -> Bool {
        Files.read(try lab.files("d1") + "/usr/local/etc/nginx/installs.conf")
            == Files.read(try lab.files("d2") + "/usr/local/etc/nginx/installs.conf")
    }

    @Test("add-site, change-hostname, custom-rewrites, change-ssl and downgrade each rebuild nginx on d1 and d2; dry-runs change nothing; undo in reverse restores the lab")
    func siteRunbooksReachBothDispatchers() throws {
        try SharedLab.use { lab in
            let pristine = try lab.state()
            let runs = RunsOnD1(lab)
            defer { runs.undoLeft() }
            try runs.run(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
            let store = "store: shopexam1 (install 1)"

            // Each step: its dry-run changes nothing; the run leaves both dispatchers with the same config.
            func step(_ words: [String]) throws -> ChildResult {
                let before = try lab.state()
                let plan = try lab.runbookOnD1(words + ["--dry-run", "--json"])
                #expect(plan.exitCode == 0, "\(words[1]) --dry-run: \(plan)")
                #expect(plan.stdout.contains("on d2: change /usr/local/etc/nginx/installs.conf"), "\(words[1]) plans d2's nginx: \(plan.stdout)")
                let planned = try lab.state()
                #expect(planned == before, "\(words[1]) --dry-run changed the lab: \(before.differences(from: planned).prefix(5))")
                let run = try runs.run(words)
                #expect(try Self.sameNginxConfig(lab), "after \(words[1]) d1 and d2 have the same installs.conf")
                return run
            }

            let added = try step(["run", "add-site", "--install", "shopexam1", "--hostname", "wholesale.example.com"])
            let addresses = Self.addresses(added)
            #expect(addresses.count == 2 && addresses.contains { $0.hasPrefix("198.51.100.") }, "a movable address on each dispatcher: \(added.stdout)")
            for address in addresses {
                #expect(try Self.firstLine(lab, address, host: "wholesale.example.com", awaiting: store) == store,
                        "the new site answers through \(address)")
            }

            _ = try step(["run", "change-hostname", "--from", "wholesale.example.com", "--to", "trade.example.com"])
            for address in addresses {
                #expect(try Self.firstLine(lab, address, host: "trade.example.com", awaiting: store) == store,
                        "the new name answers through \(address)")
            }

            // The machine's /tmp is d1's too (not a platform path of the lab's hosts).
            let rules = "/tmp/lab-rules-\(getpid()).txt"
            try Files.write(rules, "rewrite ^/old-page$ /mas_assets/js/divinity.js last;\n")
            defer { try? FileManager.default.removeItem(atPath: rules) }
            _ = try step(["run", "custom-rewrites", "--install", "shopexam1", "--file", rules])
            for address in addresses {
                let script = "// Divinity's shared script."
                #expect(try Self.firstLine(lab, address, host: "trade.example.com", path: "/old-page", awaiting: script) == script,
                        "the rewrite rule is live on the dispatcher of \(address)")
            }

            // The guide's "put the files in /home/$install/certs on all servers": d2 gets them
            // through its agent (undone there), and both nginx configs name them.
            let certs = "/tmp/lab-certs-\(getpid())"
            try Files.mkdir(certs)
            defer { try? FileManager.default.removeItem(atPath: certs) }
            _ = try system(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", certs + "/trade.key", "-out", certs + "/trade.pem", "-days", "30",
                            "-subj", "/CN=trade.example.com", "-addext", "subjectAltName=DNS:trade.example.com"])
            _ = try step(["run", "change-ssl", "--site", "trade.example.com", "--ssl-pem", certs + "/trade.pem",
                          "--ssl-key", certs + "/trade.key"])
            let d2Certs = try lab.files("d2") + "/usr/home/shopexam1/certs"
            #expect(Files.read(d2Certs + "/trade.example.com.pem") == Files.read(certs + "/trade.pem"), "the certificate is on d2")
            #expect(Posix.lstatInfo(d2Certs + "/trade.example.com.key")?.mode == 0o600, "its key, mode 0600, on d2")
            #expect((Files.read(try lab.files("d2") + "/usr/local/etc/nginx/installs.conf") ?? "").contains("certs/trade.example.com.pem"))

            _ = try step(["run", "downgrade", "--install", "shopexam1"])

            // Undo in reverse order: every host as before the install.
            try runs.undoAll()
            let undone = try lab.state()
            #expect(undone == pristine, "undo left differences:\n\(pristine.differences(from: undone).prefix(20).joined(separator: "\n"))")
        }
    }

    @Test("d2 unreachable: add-site fails in its first step, naming d2, before anything changed")
    func unreachableDispatcherFailsFirst() throws {
        try SharedLab.use { lab in
            let install = try lab.runbookOnD1(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com",
                                               "--plan", "paid", "--yes", "--json"])
            #expect(install.exitCode == 0, "\(install)")
            let installID = try #require(DemoWorld.runID(install), "\(install)")
            defer { _ = try? lab.runbookOnD1(["undo", installID]) }
            let before = try lab.state()
            try lab.script(["link", lab.directory, "d2", "down"])
            defer { _ = try? lab.script(["link", lab.directory, "d2", "up"]) }
            let added = try lab.runbookOnD1(["run", "add-site", "--install", "shopexam1", "--hostname", "wholesale.example.com", "--yes"],
                                            timeout: 180)
            #expect(added.exitCode == 1, "\(added)")
            #expect(added.stderr.contains("d2"), "the error names d2: \(added.stderr)")
            #expect(added.stdout.contains("nothing was changed") || added.stderr.contains("nothing was changed"), "\(added)")
            let after = try lab.state()
            #expect(after == before, "\(before.differences(from: after).prefix(10))")
        }
    }

    @Test("nginx -t failing on d2 only: add-site fails naming d2, and both dispatchers keep their old config (d1's new one is not kept either)")
    func aConfigTestFailingOnD2KeepsBothOld() throws {
        try SharedLab.use { lab in
            let install = try lab.runbookOnD1(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com",
                                               "--plan", "paid", "--yes", "--json"])
            #expect(install.exitCode == 0, "\(install)")
            let installID = try #require(DemoWorld.runID(install), "\(install)")
            defer { _ = try? lab.runbookOnD1(["undo", installID]) }
            // d2's nginx.conf gets a directive its config test refuses; the running nginx is
            // untouched until a reload, which the test then refuses.
            let d2Conf = try lab.files("d2") + "/usr/local/etc/nginx/nginx.conf"
            let original = try #require(Files.read(d2Conf))
            try Files.write(d2Conf, original + "\nthis_is_not_a_directive on;\n")
            defer { try? Files.write(d2Conf, original) }
            let before = try lab.state()

            let added = try lab.runbookOnD1(["run", "add-site", "--install", "shopexam1", "--hostname", "wholesale.example.com", "--yes"])
            #expect(added.exitCode == 1, "\(added)")
            #expect(added.stderr.contains("on d2: nginx config test failed"), "the error names d2 and the cause: \(added.stderr)")
            let after = try lab.state()
            #expect(after == before, "every host as before the run: \(before.differences(from: after).prefix(10))")
            // Neither dispatcher serves the new site: d1's reload was undone with the run.
            let page = try lab.fetch("192.0.2.11", host: "wholesale.example.com")
            #expect(!page.stdout.contains("store: shopexam1"), "d1 does not serve the new site: \(page)")
        }
    }
}
