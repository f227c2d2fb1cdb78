// Which configuration file and root a run used is said where an operator looks: the run's
// header, `runbook log` and the `run_started` event (an exported RUNBOOK_CONFIG once sent
// a run into another root without a word).

import RunbookJournal
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("The config file and the root in effect")
struct RunHeaderTests {
    @Test("the header, runbook log and run_started name the config file and the root; RUNBOOK_CONFIG is seen")
    func configAndRootAreNamed() throws {
        let sandbox = try Sandbox()
        let root = sandbox.base + "/root"
        try Files.mkdir(root)
        let run = try sandbox.runbook(["run", "demo", "--dir", "/site", "--count", "1", "--root", root])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.stdout.contains("  config \(sandbox.config), root \(root)\n"), "the header\n\(run)")

        let id = try #require(sandbox.runIDs().last)
        let log = try sandbox.runbook(["log", id])
        #expect(log.stdoutLines.contains { $0.hasSuffix("  config \(sandbox.config), root \(root)") }, "runbook log\n\(log)")

        let json = try sandbox.runbook(["run", "demo", "--dir", "/site2", "--count", "1", "--root", root, "--json"])
        let started = try #require(json.events("run_started").first, "\(json)")
        #expect(started["config"]?.stringValue == sandbox.config && started["root"]?.stringValue == root, "\(started)")

        // A config file given only by the environment: the run names it.
        let other = sandbox.base + "/other.toml"
        try Files.write(other, "root = \"\(root)\"\n")
        let child = try ChildProcess(executable: try RunbookBinary.require(),
                                     arguments: ["--state-dir", sandbox.state, "--runbooks", sandbox.runbooks,
                                                 "run", "demo", "--dir", "/site3", "--count", "1", "--yes", "--json"],
                                     environment: sandbox.environment(["RUNBOOK_CONFIG": other]),
                                     stdoutPath: sandbox.base + "/out/env.stdout", stderrPath: sandbox.base + "/out/env.stderr")
        let viaEnvironment = child.wait()
        let event = try #require(viaEnvironment.events("run_started").first, "\(viaEnvironment)")
        #expect(event["config"]?.stringValue == other && event["root"]?.stringValue == root, "\(event)")
        #expect(Files.exists(root + "/site3"), "the run went into the root the config named")
    }
}
