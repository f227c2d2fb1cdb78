// Campaign 1 of issue 7 (docs/reliability.md): crash and interrupt at every point of the
// shipped runbooks on the demo world, then `runbook undo RUN_ID`, and compare the world's
// fingerprint (ReliabilitySupport.swift) with the one taken before. The points:
//
//   kill-after-effect   SIGKILL right after effect k is applied (RUNBOOK_CRASH_AFTER_EFFECT)
//   kill-before-effect  SIGKILL after effect k's intent is journaled, before it is applied
//                       (RUNBOOK_CRASH_BEFORE_EFFECT): undo sees an intent without outcome
//   term-after-effect   SIGTERM right after effect k (RUNBOOK_SIGNAL_AFTER_EFFECT): the
//                       failure path runs (automatic undo, cleanup and finally hooks)
//   term-at-step        SIGTERM as step k starts (RUNBOOK_SIGNAL_AT_STEP)
//   kill-during-undo    a finished run, then `runbook undo` SIGKILLed right after its j-th
//                       reversed effect (RUNBOOK_CRASH_AFTER_UNDONE), then undo again
//
// Every point: the world is identical to the one before (or differs only where the runbook
// declares its effects cannot be undone, checked exactly), and a second undo is refused.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

enum CrashPoint: String, CaseIterable {
    case killAfterEffect = "kill-after-effect"
    case killBeforeEffect = "kill-before-effect"
    case termAfterEffect = "term-after-effect"
    case termAtStep = "term-at-step"
    case killDuringUndo = "kill-during-undo"

    var variable: String {
        switch self {
        case .killAfterEffect: return "RUNBOOK_CRASH_AFTER_EFFECT"
        case .killBeforeEffect: return "RUNBOOK_CRASH_BEFORE_EFFECT"
        case .termAfterEffect: return "RUNBOOK_SIGNAL_AFTER_EFFECT"
        case .termAtStep: return "RUNBOOK_SIGNAL_AT_STEP"
        case .killDuringUndo: return "RUNBOOK_CRASH_AFTER_UNDONE"
        }
    }
}

/// One runbook's crash campaign on a campaign world whose current state is the "before".
final class CrashCampaign {
    let name: String
    let world: CampaignWorld
    /// What follows `runbook run`.
    let arguments: [String]
    /// Fingerprint keys ("table aexample1.vars") that `runbook undo` leaves changed because
    /// the runbook's effects on them cannot be undone (`!`, listed by undo as such), with
    /// `reset` to put them back between points. Everything else must be identical.
    var irreversible: [String] = []
    var reset: (() throws -> Void)?
    /// What a failed run's own failure path leaves for `runbook undo` (its queue record);
    /// nil for a runbook whose policy is on_failure = "keep" (it leaves what it applied).
    var leftByFailurePath: [String]? = []

    private(set) var pristine = Fingerprint()
    private(set) var effects = 0
    private(set) var steps = 0
    private(set) var undoable = 0
    private(set) var tried: [CrashPoint: Int] = [:]
    private(set) var hooksRan = 0
    private(set) var failed = false

    init(_ name: String, world: CampaignWorld, arguments: [String]) {
        self.name = name
        self.world = world
        self.arguments = arguments
    }

    /// A full run and its undo: counts the effects, steps and reversed effects, and checks
    /// that the undo of a finished run restores the world.
    func prepare() throws {
        pristine = try world.fingerprint()
        let run = try world.runbook(["run"] + arguments + ["--json"])
        guard run.exitCode == 0, let id = run.runID else { throw TestSetupError("\(name): the run does not succeed\n\(run)") }
        effects = run.events("effect_applied").count
        steps = run.events("step_started").count
        let undo = try world.runbook(["undo", id, "--json"])
        #expect(undo.exitCode == 0, "\(name): undo of the finished run\n\(undo)")
        undoable = try world.journal(id).filter { $0["t"]?.stringValue == "undone" }.count
        try expectRestored("\(name): undo of the finished run", statusOf: id)
    }

    /// `runbook undo` left the world as before (but for the declared irreversible keys,
    /// then reset), and a second undo is refused.
    @discardableResult
    private func expectRestored(_ what: String, statusOf id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        let now = try world.settledFingerprint(like: pristine)
        let differing = now.differingKeys(from: pristine)
        let unexpected = differing.filter { key in !irreversible.contains { key == $0 || key.hasPrefix($0 + ".") } }
        #expect(unexpected.isEmpty, "\(what): the world differs from before:\n\(now.differences(from: pristine))", sourceLocation: sourceLocation)
        let again = try world.runbook(["undo", id])
        #expect(again.exitCode == 2 && again.stderr.contains("already undone"), "\(what): a second undo is refused\n\(again)",
                sourceLocation: sourceLocation)
        if !differing.isEmpty, let reset {
            try reset()
            let after = try world.settledFingerprint(like: pristine)
            // (Compared by keys: a failing `after == pristine` would print both whole worlds.)
            #expect(after.differingKeys(from: pristine).isEmpty, "\(what): after the reset\n\(after.differences(from: pristine))",
                    sourceLocation: sourceLocation)
            if after != pristine { return false }
        }
        return unexpected.isEmpty && again.exitCode == 2
    }

    /// Runs the points of `point` (all in full mode, about `quickSamples` in quick mode).
    func run(_ point: CrashPoint, quickSamples: Int) throws {
        guard !failed else { return }
        let count: Int
        switch point {
        case .killAfterEffect, .killBeforeEffect, .termAfterEffect: count = effects
        case .termAtStep: count = steps
        case .killDuringUndo: count = undoable
        }
        var points = Reliability.points(count, quickSamples: quickSamples)
        // RUNBOOK_RELIABILITY_ONLY="term-after-effect=71,72" retries just those (to chase one).
        if let only = Posix.environment("RUNBOOK_RELIABILITY_ONLY") {
            let parts = only.split(separator: "=", maxSplits: 1).map(String.init)
            points = parts.count == 2 && parts[0] == point.rawValue ? parts[1].split(separator: ",").compactMap { Int($0) } : []
        }
        for k in points {
            tried[point, default: 0] += 1
            let ok = try attempt(point, k)
            if !ok {
                failed = true
                let journal = lastJournal()
                Issue.record("\(name): \(point.rawValue) k=\(k) failed (see above); the campaign stops here\nthe last run's journal:\n\(journal)")
                return
            }
        }
    }

    private var lastRunID: String?

    /// The effects and undo outcomes of the last run tried, one line each (for a failure).
    private func lastJournal() -> String {
        guard let lastRunID, let records = try? world.journal(lastRunID) else { return "(none)" }
        return records.compactMap { record -> String? in
            guard let type = record["t"]?.stringValue, ["intent", "applied", "undone", "undo_failed", "undo_skipped"].contains(type) else {
                return nil
            }
            let seq = record["seq"]?.intValue.map { String($0) } ?? "-"
            return "  \(seq) \(type) \(record["summary"]?.stringValue ?? record["error"]?.stringValue ?? "")"
        }.joined(separator: "\n")
    }

    private func attempt(_ point: CrashPoint, _ k: Int) throws -> Bool {
        let what = "\(name) \(point.rawValue) k=\(k)"
        let environment = [point.variable: String(k)]
        if point == .killDuringUndo {
            let run = try world.runbook(["run"] + arguments + ["--json"])
            guard run.exitCode == 0, let id = run.runID else {
                Issue.record("\(what): the run failed\n\(run)")
                return false
            }
            lastRunID = id
            let killed = try world.runbook(["undo", id], environment: environment)
            #expect(killed.signal == SIGKILL, "\(what): undo should have been killed\n\(killed)")
            #expect(try world.status(of: id) == "undo-crashed", "\(what): history shows the undo crashed")
            let undo = try world.runbook(["undo", id])
            #expect(undo.exitCode == 0, "\(what): undo after the crashed undo\n\(undo)")
            return try expectRestored(what, statusOf: id) && killed.signal == SIGKILL && undo.exitCode == 0
        }

        let run = try world.runbook(["run"] + arguments + ["--json"], environment: environment)
        guard let id = run.runID else {
            Issue.record("\(what): no run id\n\(run)")
            return false
        }
        lastRunID = id
        var ok = true
        switch point {
        case .killAfterEffect, .killBeforeEffect:
            ok = run.signal == SIGKILL
            #expect(ok, "\(what): the run should have been killed\n\(run)")
            #expect(try world.status(of: id) == "crashed", "\(what): history shows the run crashed")
            let undo = try world.runbook(["undo", id])
            #expect(undo.exitCode == 0, "\(what): undo\n\(undo)")
            ok = ok && undo.exitCode == 0
        case .termAfterEffect, .termAtStep:
            ok = run.exitCode == 130
            #expect(ok, "\(what): an interrupted run exits 130\n\(run)")
            let records = try world.journal(id)
            let failing = records.first { $0["t"]?.stringValue == "run_failing" }
            #expect(failing?["interrupted"]?.boolValue == true, "\(what): the failure path ran as an interrupt\n\(run)")
            let hookFailures = records.filter { $0["t"]?.stringValue == "hook_failed" }
            #expect(hookFailures.isEmpty, "\(what): a hook failed: \(hookFailures.map(\.serialized))")
            hooksRan += records.filter { $0["t"]?.stringValue == "hook_ran" }.count
            // What the failure path left: nothing but what the runbook keeps on failure.
            var left: [String] = []
            if let leftByFailurePath {
                left = try world.settledFingerprint(like: pristine).differingKeys(from: pristine)
                    .filter { key in !(leftByFailurePath + irreversible).contains { key == $0 || key.hasPrefix($0 + ".") } }
                #expect(left.isEmpty, "\(what): the interrupted run left \(left)")
            }
            let status = try world.status(of: id)
            #expect(status == "interrupted" || status == "undone", "\(what): status \(status ?? "-")")
            let undo = try world.runbook(["undo", id])
            if status == "undone" {
                #expect(undo.exitCode == 2 && undo.stderr.contains("already undone"), "\(what)\n\(undo)")
            } else {
                #expect(undo.exitCode == 0, "\(what): undo\n\(undo)")
                ok = ok && undo.exitCode == 0
            }
            ok = ok && left.isEmpty && hookFailures.isEmpty
        case .killDuringUndo:
            break
        }
        return try expectRestored(what, statusOf: id) && ok
    }

    func report() {
        var figures: [(String, Int)] = [("effects", effects), ("steps", steps)]
        for point in CrashPoint.allCases { figures.append((point.rawValue, tried[point] ?? 0)) }
        figures.append(("points", tried.values.reduce(0, +)))
        figures.append(("cleanup_hooks_ran", hooksRan))
        figures.append(("failures", failed ? 1 : 0))
        Reliability.report("crash \(name)", figures)
    }
}

@Suite(.serialized) struct ReliabilityCrashTests {
    /// Quick mode (scripts/test): about this many points of each kind per runbook; full mode
    /// (scripts/reliability full) tries every one.
    static let quickSamples: [(CrashPoint, Int)] = [(.killAfterEffect, 12), (.killBeforeEffect, 5), (.termAfterEffect, 5),
                                                    (.termAtStep, 4), (.killDuringUndo, 3)]

    static func campaign(_ campaign: CrashCampaign, samples: [(CrashPoint, Int)] = quickSamples) throws {
        try campaign.prepare()
        for (point, count) in samples { try campaign.run(point, quickSamples: count) }
        campaign.report()
    }

    /// Installs a store for real (the campaigns that start from an installed store).
    static func install(_ world: CampaignWorld, _ email: String, _ hostname: String, plan: String = "paid") throws {
        let run = try world.runbook(["run", "install", "--email", email, "--hostname", hostname, "--plan", plan])
        guard run.exitCode == 0 else { throw TestSetupError("install \(hostname) failed\n\(run)") }
    }

    @Test func installSurvivesACrashAtEveryPoint() throws {
        let world = try CampaignWorld(probeHosts: ["shop.example.com", "www.shop.example.com"])
        let campaign = CrashCampaign("install", world: world, arguments: [
            "install", "--email", "crash@example.com", "--hostname", "shop.example.com,www.shop.example.com", "--plan", "paid",
        ])
        // on_failure = "undo": the queue record, written failed by its cleanup hook.
        campaign.leftByFailurePath = ["table internal.queue"]
        try Self.campaign(campaign, samples: [(.killAfterEffect, 18), (.killBeforeEffect, 8), (.termAfterEffect, 8),
                                              (.termAtStep, 5), (.killDuringUndo, 4)])
        #expect(campaign.effects > 60, "install applies its many effects (\(campaign.effects))")
    }

    @Test func downgradeSurvivesACrashAtEveryPoint() throws {
        let world = try CampaignWorld(probeHosts: ["shop.example.com"])
        try Self.install(world, "crash@example.com", "shop.example.com")
        let campaign = CrashCampaign("downgrade", world: world, arguments: ["downgrade", "--install", "shop.example.com"])
        try Self.campaign(campaign)
        #expect(campaign.effects > 10, "downgrade applies its effects (\(campaign.effects))")
    }

    @Test func changeHostnameSurvivesACrashAtEveryPoint() throws {
        let world = try CampaignWorld(probeHosts: ["shop.example.com", "store.example.com"])
        try Self.install(world, "crash@example.com", "shop.example.com")
        let cert = try SiteTesting.certificate(world.world, file: "store", names: ["store.example.com"])
        // 192.0.2.13 of the pool, moved to loopback by the campaign world.
        let campaign = CrashCampaign("change-hostname", world: world, arguments: [
            "change-hostname", "--from", "shop.example.com", "--to", "store.example.com", "--new-ip", "127.192.2.13",
            "--ssl-pem", cert.pem, "--ssl-key", cert.key,
        ])
        try Self.campaign(campaign)
        #expect(campaign.effects > 10, "change-hostname applies its effects (\(campaign.effects))")
    }

    @Test func updateSharedCodeSurvivesACrashAtEveryPoint() throws {
        let world = try CampaignWorld(probeHosts: ["a.example.com", "b.example.com"])
        try Self.install(world, "a@example.com", "a.example.com")
        try Self.install(world, "b@example.com", "b.example.com")
        let stores = ["aexample1", "bexample1"]
        for name in stores {
            let home = world.root + "/usr/home/" + name
            try Files.write(home + "/heavymetal/tmp/rudolf/compiled_layout.php", "<?php // rudolf's compiled template\n")
            try Files.write(home + "/local/tmp/sess_abc", "a session\n")
            try world.sql("INSERT INTO `\(name)`.cache (name, value) VALUES ('catalog:tea', 'cached')")
        }
        let campaign = CrashCampaign("update-shared-code", world: world, arguments: ["update-shared-code", "--group", "2", "--revision", "2"])
        // The SQL update (catalog 0002: products.sku, vars catalog.schema, its database_updates
        // row) and the emptied cache table cannot be undone (undo lists them); put back by hand.
        campaign.irreversible = stores.flatMap { name in
            ["schema \(name).products", "table \(name).products", "table \(name).vars", "table \(name).database_updates",
             "table \(name).cache"]
        }
        campaign.reset = {
            for name in stores {
                try world.sql("ALTER TABLE `\(name)`.products DROP COLUMN IF EXISTS sku")
                try world.sql("UPDATE `\(name)`.vars SET value = '1' WHERE name = 'catalog.schema'")
                try world.sql("DELETE FROM `\(name)`.database_updates WHERE filename = '0002_product_sku.sql'")
                try world.sql("DELETE FROM `\(name)`.cache")
                try world.sql("INSERT INTO `\(name)`.cache (name, value) VALUES ('catalog:tea', 'cached')")
            }
        }
        // on_failure = "keep": an interrupted run keeps what it applied, for `runbook undo`.
        campaign.leftByFailurePath = nil
        try Self.campaign(campaign)
        #expect(campaign.effects > 10, "update-shared-code applies its effects (\(campaign.effects))")
    }
}
