// cron-health in the lab, with stand-ins of the guide's crons on d1 and d2 (their cron file
// lines, success stamps and lock files, as the convention in docs/runbooks.md has them): a
// cron missing from d1's cron file, one on d2 whose last success is two hours old, and one
// on d2 that also still holds its lock are each reported in one line, mailed, and fail the
// run; with every cron healthy the run passes.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("cron-health in the lab", .serialized)
struct LabCronHealthTests {
    static let crons = ["cron_installs", "cron_mount", "cron_slave_queue", "cron_site_accounting", "cron_slave_sync", "sphinx",
                        "web_server_config"]
    static let stamps = "/usr/local/etc/divinity-crons"

    /// The cron file, fresh stamps, and a config that points cron-health at them.
    static func prepare(_ lab: Lab, leaving missing: String? = nil) throws {
        for host in ["d1", "d2"] {
            let files = try lab.files(host)
            try Files.mkdir(files + stamps)
            let lines = crons.filter { !(host == "d1" && $0 == missing) }.map {
                "*/5 * * * * root flock -n \(stamps)/\($0).lock php /home/internal/heavymetal/lib/cron/\($0).php && touch \(stamps)/\($0).ok"
            }
            try Files.write(files + "/etc/cron.d/divinity", lines.joined(separator: "\n") + "\n")
            for cron in crons {
                try Files.write(files + stamps + "/\(cron).ok", "")
                try Files.write(files + stamps + "/\(cron).lock", "")
            }
            let config = Files.read(files + "/etc/runbook/config.toml") ?? ""
            try Files.write(files + "/etc/runbook/cron-health.toml",
                            config + "\n[settings.cron_health]\nstamps = \"\(stamps)\"\nmail_to = \"ops@make-a-store.com\"\n")
        }
    }

    static func cleanUp(_ lab: Lab) {
        for host in ["d1", "d2"] {
            guard let files = try? lab.files(host) else { continue }
            for path in [stamps, "/etc/cron.d/divinity", "/etc/runbook/cron-health.toml"] { try? FileManager.default.removeItem(atPath: files + path) }
        }
    }

    @Test("a cron missing from the cron file, one two hours without success, one locked up: each named, mailed, exit 1; healthy: exit 0")
    func rottenCronsAreFound() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab, leaving: "cron_site_accounting")
            defer { Self.cleanUp(lab) }
            let d2 = try lab.files("d2") + Self.stamps
            for cron in ["cron_mount", "cron_slave_sync"] {
                let touched = try ProcessRunner.run(["touch", "-d", "2 hours ago", d2 + "/\(cron).ok"], timeout: 10)
                #expect(touched.succeeded)
            }
            // cron_slave_sync's run on d2 hangs, holding its lock (the same file, seen from here).
            let lock = open(d2 + "/cron_slave_sync.lock", O_RDWR)
            #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
            defer { close(lock) }
            let outbox = lab.directory + "/log/d1/outbox"
            let mailed = (Files.read(outbox) ?? "").count

            let checked = try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/cron-health.toml", "run", "cron-health", "--yes"],
                                       timeout: 120)
            #expect(checked.exitCode == 1, "\(checked)")
            for line in ["dispatch1.make-a-store.com cron_site_accounting: not in /etc/cron.d/divinity",
                         "dispatch2.make-a-store.com cron_mount: last success 2 h ago, every 5 min: rotten: no run holds its lock",
                         "dispatch2.make-a-store.com cron_slave_sync: last success 2 h ago, every 10 min: locked up: a run still holds \(Self.stamps)/cron_slave_sync.lock"] {
                #expect(checked.stdout.contains(line), "reported: \(line)\n\(checked.stdout)")
            }
            #expect(checked.stdout.contains("14 crons checked, 3 findings"), "\(checked.stdout)")
            let mail = String((Files.read(outbox) ?? "").dropFirst(mailed))
            #expect(mail.contains("cron-health: 3 findings") && mail.contains("locked up"), "the report was mailed: \(mail)")

            // Healthy again: the line back, fresh stamps, the lock let go.
            flock(lock, LOCK_UN)
            try Self.prepare(lab)
            let healthy = try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/cron-health.toml", "run", "cron-health", "--yes"],
                                       timeout: 120)
            #expect(healthy.exitCode == 0 && healthy.stdout.contains("14 crons checked, 0 findings"), "\(healthy)")
        }
    }
}
