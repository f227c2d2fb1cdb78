// Campaign 5 of issue 7 (docs/reliability.md): concurrency and load on a campaign world.
// N installs started at once (they all take the "installs" lock: one at a time, the others
// wait with --lock-timeout); then, at once, one reset-permissions on each of those N installs
// (a lock per install: they run side by side) and M update-shared-code of the same group (the
// group's lock: exactly one at a time). Every run succeeds, the runs holding the same lock
// never overlap, no journal is lost (each starts with run_started and ends with run_finished),
// and `runbook history` shows every run as it ended. Quick mode: N = 20, M = 5; full: 40 and 10.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct ReliabilityLoadTests {
    /// A finished run's time under its lock: from its first step to its last record.
    struct Span {
        var id: String
        var start: String
        var end: String
        func overlaps(_ other: Span) -> Bool { start < other.end && other.start < end }
    }

    /// Starts every command at once, waits for all; each must exit 0 with a run id.
    static func together(_ world: CampaignWorld, _ commands: [[String]], what: String) throws -> [String] {
        let children = try commands.map { try world.start($0) }
        var ids: [String] = []
        for (child, command) in zip(children, commands) {
            let result = child.wait(timeout: 600)
            #expect(result.exitCode == 0, "\(what): \(command.joined(separator: " "))\n\(result)")
            if let id = result.runID { ids.append(id) } else { Issue.record("\(what): no run id\n\(result)") }
        }
        return ids
    }

    /// Checks that each run's journal is whole, and returns its span under the lock.
    static func span(_ world: CampaignWorld, _ id: String) throws -> Span? {
        let records = try world.journal(id)
        let types = records.compactMap { $0["t"]?.stringValue }
        #expect(types.first == "run_started" && types.last == "run_finished", "run \(id): the journal is whole (\(types.first ?? "-")...\(types.last ?? "-"))")
        guard let start = records.first(where: { $0["t"]?.stringValue == "step_started" })?["at"]?.stringValue,
              let end = records.last?["at"]?.stringValue else { return nil }
        return Span(id: id, start: start, end: end)
    }

    @Test func concurrentRunsKeepTheirLocksAndJournals() throws {
        let installs = Reliability.full ? 40 : 20, sameGroup = Reliability.full ? 10 : 5
        let world = try CampaignWorld(probeHosts: [])
        let hosts = (1...installs).map { String(format: "s%02d.example.com", $0) }
        // The demo pool has 7 movable addresses per dispatcher: enough for the quick mode;
        // more (on loopback, like the campaign world's) for N installs.
        for server in [6, 7] {
            for n in 1...installs {
                try world.sql("INSERT INTO divinity.server_ips (server_id, ip, movable) VALUES (?, ?, 1)",
                              [.int(Int64(server)), .string("127.20\(server).9.\(n)")])
            }
        }
        let started = Clock.monotonic()

        // N installs at once: the first two paid (group 2, for the updates below), the rest free.
        let installIDs = try Self.together(world, hosts.enumerated().map { index, host in
            ["run", "install", "--email", "load\(index)@example.com", "--hostname", host, "--plan", index < 2 ? "paid" : "free",
             "--lock-timeout", "600", "--json"]
        }, what: "install")
        let installSpans = try installIDs.compactMap { try Self.span(world, $0) }
        for (i, a) in installSpans.enumerated() {
            for b in installSpans[(i + 1)...] where a.overlaps(b) {
                Issue.record("installs \(a.id) and \(b.id) held the installs lock at the same time (\(a.start)-\(a.end), \(b.start)-\(b.end))")
            }
        }
        #expect(try world.query("SELECT COUNT(*) FROM internal.installs") == [[String(installs)]])

        // At once: a reset-permissions on each install (a lock each), M updates of group 2.
        let resets = hosts.map { ["run", "reset-permissions", "--user", $0, "--lock-timeout", "600", "--json"] }
        let updates = (0..<sameGroup).map { _ in ["run", "update-shared-code", "--group", "2", "--revision", "2", "--lock-timeout", "600", "--json"] }
        let ids = try Self.together(world, resets + updates, what: "load")
        let updateSpans = try ids.suffix(sameGroup).compactMap { try Self.span(world, $0) }
        for id in ids.prefix(installs) { _ = try Self.span(world, id) }
        var overlaps = 0
        for (i, a) in updateSpans.enumerated() {
            for b in updateSpans[(i + 1)...] where a.overlaps(b) {
                overlaps += 1
                Issue.record("updates \(a.id) and \(b.id) of group 2 ran at the same time (\(a.start)-\(a.end), \(b.start)-\(b.end))")
            }
        }
        // The resets, on different installs, were not serialised: some ran side by side.
        let resetSpans = try ids.prefix(installs).compactMap { try Self.span(world, $0) }
        let parallel = resetSpans.enumerated().contains { i, a in resetSpans[(i + 1)...].contains { a.overlaps($0) } }
        #expect(parallel, "reset-permissions on different installs ran side by side")
        #expect(try world.query("SELECT revision FROM internal.shared_code_groups WHERE id = 2") == [["'2'"]])

        // History: every run, as it ended.
        let history = try world.runbook(["history", "--json", "--limit", "100000"])
        let statuses = Dictionary(history.stdoutLines.compactMap { try? JSON.parse($0) }.compactMap { run -> (String, String)? in
            guard let id = run["id"]?.stringValue, let status = run["status"]?.stringValue else { return nil }
            return (id, status)
        }, uniquingKeysWith: { first, _ in first })
        let all = installIDs + ids
        let wrong = all.filter { statuses[$0] != "succeeded" }
        #expect(wrong.isEmpty, "history shows every run succeeded: \(wrong.map { "\($0)=\(statuses[$0] ?? "missing")" })")
        Reliability.report("load", [("runs", all.count), ("installs_at_once", installs), ("resets_at_once", installs),
                                    ("same_group_at_once", sameGroup), ("lock_overlaps", overlaps), ("wrong_history", wrong.count),
                                    ("seconds", Int(Clock.monotonic() - started))])
    }
}
