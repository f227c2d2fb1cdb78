// The crash campaign across hosts for install (issue 20): a paid install run on d1 reaches
// d2 (its home through the rsync daemon, its crons and nginx through the agent), cloud-db1
// (rows, the store's database and users) and the master (IPs, DNS). At effect k the run is
// SIGKILLed — just before it, or just after it — then `runbook undo` on d1: every host's
// platform folders and all three database servers must be as before, and the client must
// get d1's own page for the store's name. Quick mode (CI) takes every 9th effect; with
// RUNBOOK_FULL_CAMPAIGN=1 every effect. The figures go to docs/reliability.md.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("crash campaign across hosts: install", .serialized)
struct LabInstallCrashTests {
    static let install = ["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid", "--yes", "--json"]

    @Test("SIGKILL before and after effects of a paid install reaching d1, d2, cloud-db1 and the master, then undo: every host and database as before")
    func killedInstallsAreUndoneOnEveryHost() throws {
        try SharedLab.use { lab in
            let pristine = try lab.state()
            // How many effects a whole install makes here.
            let whole = try lab.runbookOnD1(Self.install)
            #expect(whole.exitCode == 0, "\(whole)")
            let effects = whole.events("effect_applied").count
            #expect(effects > 20, "\(effects) effects")
            let wholeUndo = try lab.runbookOnD1(["undo", try #require(DemoWorld.runID(whole))])
            #expect(wholeUndo.exitCode == 0, "\(wholeUndo)")

            let full = Posix.environment("RUNBOOK_FULL_CAMPAIGN") == "1"
            let points = Array(stride(from: 1, through: effects, by: full ? 1 : 9))
            var tried = 0, failures: [String] = []
            for effect in points {
                for variable in ["RUNBOOK_CRASH_BEFORE_EFFECT", "RUNBOOK_CRASH_AFTER_EFFECT"] {
                    let killed = try lab.exec("d1", ["env", "\(variable)=\(effect)", try RunbookBinary.require(), "--config",
                                                     "/etc/runbook/config.toml"] + Self.install, timeout: 300)
                    tried += 1
                    guard killed.exitCode != 0, let id = DemoWorld.runID(killed) else {
                        failures.append("\(variable)=\(effect): the run was not killed (\(killed.exitCode.map(String.init) ?? "signal"))")
                        continue
                    }
                    let undo = try lab.runbookOnD1(["undo", id], timeout: 300)
                    // (A SIGKILLed run runs no cleanup hook: not even the queue record that a
                    // failed install keeps on purpose may stay.)
                    let after = try lab.state()
                    if undo.exitCode != 0 || after != pristine {
                        failures.append("\(variable)=\(effect): undo exit \(undo.exitCode.map(String.init) ?? "-"): "
                                        + pristine.differences(from: after).prefix(5).joined(separator: "; "))
                    }
                }
            }
            print("lab crash install: effects=\(effects) points=\(tried) failures=\(failures.count)\(full ? "" : " (quick: every 9th effect)")")
            #expect(failures.isEmpty, "\(failures.count) of \(tried) points left a host changed:\n\(failures.joined(separator: "\n"))")
        }
    }

    @Test("SIGKILL before and after effects of update-shared-code reaching d1, d2 and the cloud, then undo: every host's code and files as before")
    func killedCodeUpdatesAreUndoneOnEveryHost() throws {
        try SharedLab.use { lab in
            // A paid store on d1 and d2, put on the cloud too: its group reaches all three.
            var setUp: [String] = []
            defer { for id in setUp.reversed() { _ = try? lab.runbookOnD1(["undo", id], timeout: 300) } }
            for words in [Self.install, ["run", "cloud-manager", "--action", "add-install", "--id", "shopexam1",
                                         "--hostname", "tmp-cloud.make-a-store.com", "--yes", "--json"]] {
                let run = try lab.runbookOnD1(words, timeout: 300)
                #expect(run.exitCode == 0, "\(run)")
                setUp.append(try #require(DemoWorld.runID(run)))
            }
            let before = try lab.state().withoutSvnBookkeeping
            let update = ["run", "update-shared-code", "--group", "2", "--yes", "--json"]
            // Twice: the first applies the stores' SQL updates, which stay (DDL commits); every
            // later run makes the same effects, which the second counts.
            var effects = 0
            for _ in 0..<2 {
                let whole = try lab.runbookOnD1(update, timeout: 300)
                #expect(whole.exitCode == 0, "\(whole)")
                effects = whole.events("effect_applied").count
                let wholeUndo = try lab.runbookOnD1(["undo", try #require(DemoWorld.runID(whole))], timeout: 300)
                #expect(wholeUndo.exitCode == 0, "\(wholeUndo)")
            }
            // The SQL updates (DDL) and truncated cache tables cannot be undone (runbooks.md):
            // the databases are compared on the rows undo owns, the files everywhere.
            func comparable(_ state: LabState) -> LabState {
                var state = state
                state.databases = state.databases.mapValues { lines in lines.filter { $0.hasPrefix("`internal`.`shared_code_groups`") } }
                return state
            }
            let reference = comparable(try lab.state().withoutSvnBookkeeping)
            #expect(reference == comparable(before), "a whole update and its undo: \(comparable(before).differences(from: reference).prefix(5))")

            let full = Posix.environment("RUNBOOK_FULL_CAMPAIGN") == "1"
            var tried = 0, failures: [String] = []
            for effect in stride(from: 1, through: effects, by: full ? 1 : 4) {
                for variable in ["RUNBOOK_CRASH_BEFORE_EFFECT", "RUNBOOK_CRASH_AFTER_EFFECT"] {
                    let killed = try lab.exec("d1", ["env", "\(variable)=\(effect)", try RunbookBinary.require(), "--config",
                                                     "/etc/runbook/config.toml"] + update, timeout: 300)
                    tried += 1
                    guard killed.exitCode != 0, let id = DemoWorld.runID(killed) else {
                        failures.append("\(variable)=\(effect): the run was not killed")
                        continue
                    }
                    let undo = try lab.runbookOnD1(["undo", id], timeout: 300)
                    let after = comparable(try lab.state().withoutSvnBookkeeping)
                    if undo.exitCode != 0 || after != reference {
                        failures.append("\(variable)=\(effect): undo exit \(undo.exitCode.map(String.init) ?? "-"): "
                                        + reference.differences(from: after).prefix(5).joined(separator: "; "))
                    }
                }
            }
            print("lab crash update-shared-code: effects=\(effects) points=\(tried) failures=\(failures.count)\(full ? "" : " (quick: every 4th effect)")")
            #expect(failures.isEmpty, "\(failures.count) of \(tried) points left a host changed:\n\(failures.joined(separator: "\n"))")
        }
    }
}
