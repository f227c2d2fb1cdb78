// Acceptance 2: on the same starting state, the effects a real run applies are exactly the
// effects its dry-run planned (kind, sign, step and identity per effect, in order; planned
// "(known after apply: ...)" values match anything).

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

/// One sample: a runbook, how to seed its world, and its arguments.
struct FidelitySample: CustomTestStringConvertible, Sendable {
    var name: String
    var runbook: String?          // nil: a runbook shipped in the project's runbooks/
    var usesDatabase: Bool
    var expectedEffects: Int
    var arguments: @Sendable (Sandbox) -> [String]
    var seed: @Sendable (Sandbox) throws -> Void

    var testDescription: String { name }
}

/// Writes, then reads back what it planned in the same run: fs.read, fs.readlink, fs.exists,
/// fs.list and fs.stat must see the planned state, or the planned content differs.
let readBackRunbook = """
    return runbook {
      summary = "Builds files from what it wrote earlier in the same run",
      params = { dir = { type = "path", required = true } },
      run = function(args)
        local d = args.dir
        step("Write and read back", function()
          fs.mkdir(d .. "/app/releases/r1")
          fs.write(d .. "/app/releases/r1/VERSION", "1.4.2\\n")
          local version = fs.read(d .. "/app/releases/r1/VERSION"):gsub("%s+$", "")
          fs.write(d .. "/app/releases/r1/BUILD", "build of " .. version .. "\\n")
          fs.symlink(d .. "/app/releases/r1", d .. "/app/current")
          fs.write(d .. "/app/current.txt", "current -> " .. tostring(fs.readlink(d .. "/app/current")) .. "\\n")
        end)
        step("Decide from what exists", function()
          if fs.exists(d .. "/app/releases/r1/VERSION") then fs.write(d .. "/app/releases/r1/OK", "yes\\n") end
          if not fs.exists(d .. "/app/releases/r0") then fs.mkdir(d .. "/app/releases/r0") end
          fs.write(d .. "/app/MANIFEST", table.concat(fs.list(d .. "/app/releases/r1"), "\\n") .. "\\n")
          fs.rename(d .. "/app/releases/r1/BUILD", d .. "/app/releases/r1/BUILD.txt")
          fs.write(d .. "/app/MANIFEST2", table.concat(fs.list(d .. "/app/releases/r1"), ",") .. "\\n")
          fs.remove(d .. "/app/releases/r0")
          if fs.exists(d .. "/app/releases/r0") then error("r0 still exists after it was removed") end
          fs.write(d .. "/app/releases.txt", table.concat(fs.list(d .. "/app/releases"), ",") .. "\\n")
        end)
        step("Work over existing files", function()
          fs.write(d .. "/existing.txt", "v2\\n")
          fs.write(d .. "/existing.copy", fs.read(d .. "/existing.txt"))
          fs.remove(d .. "/doomed.txt")
          fs.rename(d .. "/movable.txt", d .. "/untouched/moved.txt")
          fs.write(d .. "/listing.txt", table.concat(fs.list(d), ",") .. "\\n")
          fs.write(d .. "/moved-listing.txt", table.concat(fs.list(d .. "/untouched"), ",") .. "\\n")
          fs.write(d .. "/moved-content.txt", fs.read(d .. "/untouched/moved.txt"))
          fs.chmod(d .. "/script.sh", "0750")
          fs.write(d .. "/mode.txt", fs.stat(d .. "/script.sh").mode .. "\\n")
          fs.write(d .. "/shared/lib/VERSION", "1.0\\n")
          fs.write(d .. "/through-real-link.txt", fs.read(d .. "/oldlink/lib/VERSION"))
          fs.chmod(d .. "/target.txt", "0640")
          fs.rename(d .. "/target.txt", d .. "/target.moved")
          fs.write(d .. "/target-mode.txt", fs.stat(d .. "/target.moved").mode .. "\\n")
          fs.symlink(d .. "/app/releases/r1", d .. "/oldlink")
          fs.write(d .. "/oldlink.txt", fs.readlink(d .. "/oldlink") .. "\\n")
          fs.write(d .. "/through-link.txt", fs.read(d .. "/oldlink/VERSION"))
          fs.remove(d .. "/doomed_dir")
          fs.write(d .. "/gone.txt", tostring(fs.exists(d .. "/doomed_dir/b/c.txt")) .. "\\n")
        end)
      end,
    }
    """

/// Database effects whose results feed later effects (a symbolic id in the plan).
let databaseRunbook = """
    return runbook {
      summary = "Adds a site with its IP, upgrades one, removes one",
      params = { hostname = { type = "hostname", required = true } },
      run = function(args)
        step("Add the site", function()
          local id = db.insert("test", "sites", { hostname = args.hostname, plan = "free", note = "added" })
          db.insert("test", "site_ips", { site_id = id, ip = "10.0.0.42" })
          db.exec("test", "INSERT INTO audit (note) VALUES (?)", { "added " .. args.hostname })
        end)
        step("Rework the others", function()
          local row = db.query_one("test", "SELECT id, plan FROM sites WHERE hostname = ?", { "old.example.com" })
          db.update("test", "sites", { plan = "paid" }, { id = row.id })
          db.delete("test", "site_ips", { site_id = 2 })
          db.delete("test", "sites", { hostname = "gone.example.com" })
          db.delete("test", "sites", { hostname = "never.example.com" })
          db.exec("test", "UPDATE counters SET n = n + ? WHERE name = ?", { 5, "updates" },
                  { undo = { "UPDATE counters SET n = n - ? WHERE name = ?", { 5, "updates" } } })
        end)
      end,
    }
    """

let fidelitySamples: [FidelitySample] = [
    FidelitySample(name: "demo (shipped)", runbook: nil, usesDatabase: false, expectedEffects: 4 + 3 * 4,
                   arguments: { ["demo", "--dir", $0.tree + "/demo", "--count", "4", "--mode", "paid"] },
                   seed: { _ in }),
    FidelitySample(name: "read back planned files", runbook: readBackRunbook, usesDatabase: false, expectedEffects: 33,
                   arguments: { ["sample", "--dir", $0.tree] },
                   seed: { try Fixtures.seedTree($0.tree) }),
    FidelitySample(name: "database rows", runbook: databaseRunbook, usesDatabase: true, expectedEffects: 7,
                   arguments: { _ in ["sample", "--hostname", "new.example.com"] },
                   seed: { try Fixtures.seedDatabase(try $0.db) }),
    FidelitySample(name: "files and rows", runbook: Fixtures.changeEverything(irreversible: true), usesDatabase: true,
                   expectedEffects: Fixtures.changeEverythingEffectCount(irreversible: true),
                   arguments: { ["sample", "--dir", $0.tree] },
                   seed: {
                       try Fixtures.seedTree($0.tree)
                       try Fixtures.seedDatabase(try $0.db)
                   }),
]

@Suite("Dry-run fidelity")
struct DryRunFidelityTests {
    @Test("a real run applies exactly the effects its dry-run planned", arguments: fidelitySamples)
    func realRunMatchesPlan(_ sample: FidelitySample) throws {
        let sandbox = try Sandbox(database: sample.usesDatabase)
        try sample.seed(sandbox)
        if let source = sample.runbook { try sandbox.addRunbook("sample", source) }
        let arguments = ["run"] + sample.arguments(sandbox) + ["--json"]

        let plan = try sandbox.runbook(arguments + ["--dry-run"])
        #expect(plan.exitCode == 0, "the dry-run failed\n\(plan)")
        let planned = plan.events("effect_planned").map(ReportedEffect.init)

        let real = try sandbox.runbook(arguments)
        #expect(real.exitCode == 0, "the real run failed\n\(real)")
        let applied = real.events("effect_applied").map(ReportedEffect.init)

        #expect(planned.count == sample.expectedEffects, "planned:\n\(planned.map(\.description).joined(separator: "\n"))")
        #expect(applied.count == planned.count,
                "planned \(planned.count) effects, applied \(applied.count)\nplanned:\n\(planned.map(\.description).joined(separator: "\n"))\napplied:\n\(applied.map(\.description).joined(separator: "\n"))")
        for (index, (plannedEffect, appliedEffect)) in zip(planned, applied).enumerated() {
            #expect(plannedEffect.matches(applied: appliedEffect),
                    "effect \(index + 1) differs:\n  planned: \(plannedEffect)\n  applied: \(appliedEffect)")
        }
        // The comparison is not vacuous: a symbolic value was planned where the real run
        // had a concrete one, and it was matched.
        if sample.usesDatabase {
            #expect(plan.stdout.contains("(known after apply"), "the plan has a symbolic id")
            #expect(!real.stdout.contains("(known after apply"), "the real run has none")
        }
    }

    @Test("the comparison used above tells different effects apart")
    func matcherIsStrict() throws {
        func effect(_ kind: String, _ identity: String) throws -> ReportedEffect {
            ReportedEffect(.object([("kind", .string(kind)), ("sign", .string("+")), ("step", .string("s")),
                                    ("identity", try JSON.parse(identity))]))
        }
        let symbolic = try effect("db.insert", #"{"row":{"site_id":"(known after apply: sites.id)","ip":"1.2.3.4"}}"#)
        #expect(symbolic.matches(applied: try effect("db.insert", #"{"row":{"site_id":17,"ip":"1.2.3.4"}}"#)))
        #expect(!symbolic.matches(applied: try effect("db.insert", #"{"row":{"site_id":17,"ip":"1.2.3.5"}}"#)))
        #expect(!symbolic.matches(applied: try effect("db.update", #"{"row":{"site_id":17,"ip":"1.2.3.4"}}"#)))
        #expect(!(try effect("fs.write", #"{"path":"/a","digest":"1"}"#)).matches(applied: try effect("fs.write", #"{"path":"/a","digest":"2"}"#)))
    }
}
