// Runs a runbook twice from the same state — as a dry-run, then for real, both with
// --json — and checks that the real run applied exactly the effects the dry-run planned.

import RunbookSupport
import Testing
import RunbookEngine

extension Sandbox {
    /// Plans then runs `run ARGS...`; fails the test when the two disagree. Returns the
    /// real run. `runner` runs the binary (inside a namespace, for example).
    @discardableResult
    package func planAndRun(_ arguments: [String], environment: [String: String] = [:],
                    runner: (([String]) throws -> ChildResult)? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ChildResult
    {
        let invoke = runner ?? { try self.runbook($0, environment: environment) }
        let plan = try invoke(["run"] + arguments + ["--dry-run", "--json"])
        #expect(plan.exitCode == 0, "dry-run failed\n\(plan)", sourceLocation: sourceLocation)
        let run = try invoke(["run"] + arguments + ["--json"])
        let planned = plan.events("effect_planned").map(ReportedEffect.init)
        let applied = run.events("effect_applied").map(ReportedEffect.init)
        #expect(planned.count == applied.count && zip(planned, applied).allSatisfy { $0.matches(applied: $1) },
                "the real run did not apply what the dry-run planned\nplanned:\n\(planned.map(\.description).joined(separator: "\n"))\napplied:\n\(applied.map(\.description).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        return run
    }
}
