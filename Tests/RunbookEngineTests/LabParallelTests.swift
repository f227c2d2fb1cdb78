// parallel(items, fn) in the lab: one branch per dispatcher (d1 and d2, each through its
// agent), overlapping where they wait — proved by a rendezvous each branch's host can only
// pass while the other branch waits too — lines carrying their branch, every effect undone;
// a failing branch stops the other at its next call and the run is undone on both hosts.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("parallel: branches on several hosts", .serialized)
struct LabParallelTests {
    /// `rendezvous` is a folder both hosts see (the lab's own, outside their bind mounts).
    static func runbook(rendezvous: String) -> String {
        """
        return runbook {
          summary = "both dispatchers at once",
          params = { broken = { type = "string", default = "" } },
          on_failure = "undo",
          run = function(args)
            step("Both dispatchers", function()
              local seen = parallel({ "d1", "d2" }, function(host)
                local other = host == "d1" and "d2" or "d1"
                return on(host, function()
                  fs.write("/usr/local/etc/fanout", host .. "\\n")
                  if host == args.broken then error(host .. " is broken") end
                  if not context.dry_run then
                    -- Passes only if the other branch reaches its own wait meanwhile.
                    cmd.run({ "sh", "-c", "touch \(rendezvous)/" .. host .. "; i=0; while [ ! -e \(rendezvous)/" .. other
                              .. " ]; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.05; done" }, { read_only = true })
                  end
                  fs.write("/usr/local/etc/fanout-after", host .. "\\n")
                  return fs.read("/usr/local/etc/fanout")
                end)
              end)
              assert(seen[1] == "d1\\n" and seen[2] == "d2\\n", "each branch read its own host")
            end)
          end,
        }
        """
    }

    static func prepare(_ lab: Lab) throws -> String {
        let rendezvous = lab.directory + "/rendezvous"
        try? FileManager.default.removeItem(atPath: rendezvous)
        try Files.mkdir(rendezvous)
        try LabOtherHostTests.prepare(lab, runbook: Self.runbook(rendezvous: rendezvous), name: "parallel", file: "fanout")
        // d1 reaches its own agent too, like any other host.
        let config = try lab.files("d1") + "/etc/runbook/parallel.toml"
        try Files.write(config, (Files.read(config) ?? "") + """

            [hosts.d1]
            address = "10.0.0.1"
            runbook = ["\(try RunbookBinary.require())", "--config", "/etc/runbook/config.toml"]
            """)
        return rendezvous
    }

    static func run(_ lab: Lab, _ words: [String]) throws -> ChildResult {
        try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/parallel.toml"] + words, timeout: 120)
    }

    @Test("the branches on d1 and d2 overlap, print their branch, and undo reverses both; a dry-run changes neither")
    func branchesOverlapAndUndo() throws {
        try SharedLab.use { lab in
            let rendezvous = try Self.prepare(lab)
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            let before = (d1: TreeFingerprint(d1 + "/usr/local/etc"), d2: TreeFingerprint(d2 + "/usr/local/etc"))

            let plan = try Self.run(lab, ["run", "fanout", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            // A dry-run runs the branches one after another, in the order of the items.
            #expect(plan.stdout.contains("""
                  [d1] + on d1: write /usr/local/etc/fanout (3 bytes)
                  [d1] + on d1: write /usr/local/etc/fanout-after (3 bytes)
                  [d2] + on d2: write /usr/local/etc/fanout (3 bytes)
                """), "\(plan.stdout)")
            #expect(TreeFingerprint(d1 + "/usr/local/etc") == before.d1 && TreeFingerprint(d2 + "/usr/local/etc") == before.d2)

            let real = try Self.run(lab, ["run", "fanout", "--yes", "--json"])
            #expect(real.exitCode == 0, "both branches passed the rendezvous, so they overlapped: \(real)")
            #expect(Files.exists(rendezvous + "/d1") && Files.exists(rendezvous + "/d2"))
            #expect(Files.read(d1 + "/usr/local/etc/fanout-after") == "d1\n" && Files.read(d2 + "/usr/local/etc/fanout-after") == "d2\n")
            let branches = Set(real.events("effect_applied").compactMap { $0["branch"]?.stringValue })
            #expect(branches == ["d1", "d2"], "events carry their branch")
            // Effects in flight at once (both branches write fanout-after after the rendezvous)
            // each have their own seq: undo finds each by it (a shared seq left d2's file behind).
            let seqs = real.events("effect_applied").compactMap { $0["seq"]?.intValue }
            #expect(seqs.count == 4 && Set(seqs) == Set(1...4), "one seq per effect: \(seqs)")

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try Self.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(TreeFingerprint(d1 + "/usr/local/etc") == before.d1, "\(TreeFingerprint(d1 + "/usr/local/etc").difference(from: before.d1))")
            #expect(TreeFingerprint(d2 + "/usr/local/etc") == before.d2, "\(TreeFingerprint(d2 + "/usr/local/etc").difference(from: before.d2))")
        }
    }

    @Test("d2's branch failing stops d1's at its next call; the run fails naming d2 and is undone on both hosts")
    func failingBranchStopsTheOther() throws {
        try SharedLab.use { lab in
            _ = try Self.prepare(lab)
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            let before = (d1: TreeFingerprint(d1 + "/usr/local/etc"), d2: TreeFingerprint(d2 + "/usr/local/etc"))
            let failed = try Self.run(lab, ["run", "fanout", "--broken", "d2", "--yes"])
            #expect(failed.exitCode == 1, "\(failed)")
            #expect(failed.stdout.contains("parallel: the branch for d2 failed:") && failed.stdout.contains("d2 is broken"), "\(failed.stdout)")
            #expect(!failed.stdout.contains("[d1] + on d1: write /usr/local/etc/fanout-after"), "d1's branch stopped: \(failed.stdout)")
            #expect(TreeFingerprint(d1 + "/usr/local/etc") == before.d1,
                    "\(TreeFingerprint(d1 + "/usr/local/etc").difference(from: before.d1))\n\(failed.stdout)")
            #expect(TreeFingerprint(d2 + "/usr/local/etc") == before.d2, "\(TreeFingerprint(d2 + "/usr/local/etc").difference(from: before.d2))\n\(failed.stdout)")
        }
    }
}
