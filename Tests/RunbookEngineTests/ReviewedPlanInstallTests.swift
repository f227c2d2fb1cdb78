// The reviewed-plan workflow on the shipped install runbook and the demo world: the plan
// saved by the dry-run is what the real run applies, effect for effect (including the
// queue record that names the run), and the run held to it succeeds.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct ReviewedPlanInstallTests {
    @Test func aPaidInstallRunsHeldToItsReviewedPlan() throws {
        let world = try DemoWorld.built()
        let box = world.box
        let arguments = ["install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"]
        let planFile = box.base + "/install-plan.json"
        let pristine = try world.state()

        let dry = try expectUnchanged(world, "the dry-run") {
            try world.runbook(["run"] + arguments + ["--dry-run", "--save-plan", planFile, "--json"])
        }
        #expect(dry.exitCode == 0, "\(dry)")
        let text = try #require(Files.read(planFile))
        let planned = try #require(try JSON.parse(text)["effects"]?.arrayValue)
        #expect(planned.count == dry.events("effect_planned").count && planned.count > 20, "\(planned.count) effects")
        // The queue record's log names the run: the plan holds the dry-run's id there, and
        // the real run's own id stands for it when the two are compared.
        let dryID = try #require(DemoWorld.runID(dry))
        #expect(planned.contains { $0.serialized.contains(dryID) }, "no planned effect names the run")

        // `--plan paid` is the runbook's argument; the reviewed plan is --plan-file.
        let real = try world.runbook(["run"] + arguments + ["--plan-file", planFile, "--json"])
        #expect(real.exitCode == 0, "\(real)")
        #expect(real.events("effect_applied").count == planned.count, "\(real)")
        #expect(real.events("log").allSatisfy { $0["level"]?.stringValue != "warn" || !($0["message"]?.stringValue ?? "").contains("reviewed") })
        #expect(try world.state() != pristine, "the install happened")
    }
}
