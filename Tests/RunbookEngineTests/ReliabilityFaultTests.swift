// Campaign 2 of issue 7 (docs/reliability.md): faults in the dependencies of a run, on a
// campaign world. Each fault makes `install` fail with one clear error naming the failing
// thing; the undo policy (on_failure = "undo") runs; once the fault is repaired the world
// is as before (a `runbook undo` finishes what the automatic undo could not). The faults:
//
//   database connections killed mid-run  the engine stopped after an effect (SIGSTOP through
//                                        RUNBOOK_PAUSE_AFTER_EFFECT), its MySQL sessions killed
//   full filesystem                      a 16 KiB tmpfs of 24 inodes on the root's /usr/home
//   rsync target unreachable             dispatch2 synced to a closed rsync:// port
//   nginx -t failing                     a broken nginx.conf
//   hostname collision                   the same hostname installed twice
//   database down for failover-db        failover-db with every database socket dead
//
// A failing SQL update is UpdateSharedCodeTests.aBrokenInstallFailsAloneAndAConflictIsResolved.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct ReliabilityFaultTests {
    static let install = ["install", "--email", "fault@example.com", "--hostname", "shop.example.com", "--plan", "paid"]

    /// The process's state letter from /proc (T once stopped).
    static func state(_ pid: pid_t) -> Character? {
        guard let text = Files.read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(close, offsetBy: 2)...].first
    }

    final class Campaign {
        let world: CampaignWorld
        let pristine: Fingerprint
        var faults = 0
        var failures = 0

        init(_ world: CampaignWorld) throws {
            self.world = world
            pristine = try world.snapshot()
        }

        /// The world is as before (the install's failed queue record aside while the run is
        /// not undone: its cleanup hook writes it so the queue shows the failure).
        func expectPristine(_ what: String, allowing: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
            let now = try world.settledSnapshot(like: pristine)
            expectSame(pristine, now, what, ignoring: allowing, sourceLocation: sourceLocation)
            return relevantDifferences(now, pristine, ignoring: allowing).isEmpty
        }

        /// Runs `arguments` under a fault: `inject` before (or, with `pauseAfter`, while the
        /// run is stopped after that effect), `repair` after. The run must fail with an error
        /// line containing every one of `names`; then the world must come back.
        func fault(_ what: String, _ arguments: [String], names: [String], pauseAfter: Int? = nil,
                   inject: () throws -> Void, repair: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws {
            faults += 1
            var ok = true
            var environment: [String: String] = [:]
            if let pauseAfter { environment["RUNBOOK_PAUSE_AFTER_EFFECT"] = String(pauseAfter) } else { try inject() }
            let child = try world.start(["run"] + arguments, environment: environment)
            if pauseAfter != nil {
                let deadline = Clock.monotonic() + 60
                while ReliabilityFaultTests.state(child.pid) != "T", child.poll() == nil, Clock.monotonic() < deadline { usleep(2000) }
                #expect(ReliabilityFaultTests.state(child.pid) == "T", "\(what): the run paused", sourceLocation: sourceLocation)
                try inject()
                child.send(SIGCONT)
            }
            let result = child.wait(timeout: 300)
            let errorLine = result.stderrLines.first { $0.contains("failed:") } ?? result.stderrLines.first ?? ""
            ok = ok && result.exitCode == 1
            #expect(result.exitCode == 1, "\(what): the run fails\n\(result)", sourceLocation: sourceLocation)
            for name in names where !errorLine.contains(name) {
                ok = false
                Issue.record("\(what): the error line names '\(name)': \(errorLine)\n\(result)", sourceLocation: sourceLocation)
            }
            try repair()
            // What the failure path left is put back by `runbook undo` (nothing to do when the
            // automatic undo finished: then it is refused as already undone).
            if let id = result.runID {
                let status = try world.status(of: id)
                print("reliability fault \(what): \(status ?? "-"): \(errorLine)")
                let undo = try world.runbook(["undo", id])
                if status == "undone" {
                    #expect(undo.exitCode == 2, "\(what): a finished undo is not repeated\n\(undo)", sourceLocation: sourceLocation)
                } else {
                    ok = ok && undo.exitCode == 0
                    #expect(undo.exitCode == 0, "\(what): undo after the repair\n\(undo)", sourceLocation: sourceLocation)
                }
            }
            ok = try expectPristine(what, sourceLocation: sourceLocation) && ok
            if !ok { failures += 1 }
        }
    }

    @Test func installUnderFaultsFailsClearlyAndComesBack() throws {
        let world = try CampaignWorld(probeHosts: ["shop.example.com"])
        let campaign = try Campaign(world)
        let nginxConf = world.root + "/usr/local/etc/nginx/nginx.conf"
        let config = try #require(Files.read(world.config))

        // The database: every session of the engine's MySQL user killed while it is stopped
        // after effect 10 (the next statement finds its connection gone).
        try campaign.fault("database connections killed", Self.install, names: ["MySQL", "database '", "gone away"], pauseAfter: 10, inject: {
            for row in try world.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'runbook'") {
                try? world.sql("KILL CONNECTION \(row[0])")
            }
        }, repair: {})

        // A full filesystem where the store's home is made.
        let homes = world.root + "/usr/home"
        try Files.mkdir(homes)
        try campaign.fault("full filesystem", Self.install, names: ["No space left on device"], inject: {
            try system(["mount", "-t", "tmpfs", "-o", "size=16k,nr_inodes=24,mode=0755", "tmpfs", homes])
        }, repair: {
            try system(["umount", homes])
        })

        // dispatch2 synced through an rsync daemon that is not there (a closed port).
        try campaign.fault("rsync target unreachable", Self.install, names: ["rsync"], inject: {
            try Files.write(world.config, config.replacingOccurrences(of: "sync = \"/srv/dispatch2\"", with: "sync = \"rsync://127.0.0.1:9/homes\""))
        }, repair: {
            try Files.write(world.config, config)
        })

        // nginx's configuration test fails (a broken nginx.conf): nothing is reloaded.
        let nginxText = try #require(Files.read(nginxConf))
        try campaign.fault("nginx -t failing", Self.install, names: ["nginx"], inject: {
            try Files.write(nginxConf, nginxText + "\nthis_is_not_a_directive on;\n")
        }, repair: {
            try Files.write(nginxConf, nginxText)
        })

        // A hostname that is taken: refused before anything changes.
        let installed = try world.runbook(["run"] + Self.install)
        #expect(installed.exitCode == 0, "\(installed)")
        let taken = try world.snapshot()
        let again = try world.runbook(["run", "install", "--email", "other@example.com", "--hostname", "www.example.org,shop.example.com",
                                       "--plan", "free"])
        campaign.faults += 1
        let line = again.stderrLines.first { $0.contains("failed:") } ?? ""
        #expect(again.exitCode == 1 && line.contains("shop.example.com"), "hostname collision: one clear error\n\(again)")
        let after = try world.settledSnapshot(like: taken)
        expectSame(taken, after, "hostname collision: nothing changed but the queue's record of the failure", ignoring: ["table internal.queue"])
        let changed = relevantDifferences(after, taken, ignoring: ["table internal.queue"])
        if !(again.exitCode == 1 && changed.isEmpty) { campaign.failures += 1 }

        // failover-db with the database down: every database socket in the config is dead.
        campaign.faults += 1
        let current = try #require(Files.read(world.config))
        let dead = current.replacingOccurrences(of: #"socket = "[^"]*""#, with: "socket = \"/nonexistent/mysql.sock\"", options: .regularExpression)
        try Files.write(world.config, dead)
        let failover = try world.runbook(["run", "failover-db", "--destination", "slave", "--local-only"])
        try Files.write(world.config, current)
        #expect(failover.exitCode == 0, "failover-db completes with the database down\n\(failover)")
        let configPHP = Files.read(world.root + "/usr/home/shopexam1/heavymetal/config.php") ?? ""
        #expect(configPHP.contains("10.0.0.2"), "config.php points at the replica\n\(configPHP)")
        if failover.exitCode != 0 { campaign.failures += 1 }

        Reliability.report("faults", [("faults", campaign.faults), ("failures", campaign.failures)])
    }
}
