// `runbook run NAME --on HOST` in the lab: from d1, a whole runbook runs on d2 (its runbook,
// its configuration, its journal), its output streamed on d1; a secret given on d1 in
// RUNBOOK_ARG_* reaches the run on d2 over ssh's stdin, never a command line; `undo --on`
// reverses it there.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("runbook run --on HOST", .serialized)
struct LabRunOnHostTests {
    static let runbook = """
        return runbook {
          summary = "leaves a mark where it runs",
          params = {
            word = { type = "string", required = true },
            token = { type = "string", secret = true, required = true },
          },
          run = function(args)
            step("Mark this host", function()
              fs.write("/usr/local/etc/ran-here", args.word .. "\\n")
              fs.write("/usr/local/etc/ran-here.token", args.token .. "\\n", { secret = true, mode = "0600" })
            end)
          end,
        }
        """

    @Test("the run happens on d2 and streams to d1; the secret travels off every command line; undo --on d2 removes the marks")
    func wholeRunbookOnD2() throws {
        try SharedLab.use { lab in
            try LabOtherHostTests.prepare(lab, runbook: "return runbook { summary = 'unused', run = function() end }")
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            try Files.mkdir(d2 + "/etc/runbook/on-d2")
            try Files.write(d2 + "/etc/runbook/on-d2/mark.lua", Self.runbook)
            defer { try? FileManager.default.removeItem(atPath: d2 + "/etc/runbook/on-d2") }
            let before = TreeFingerprint(d2 + "/usr/local/etc")
            let binary = try RunbookBinary.require()
            let base = ["env", "RUNBOOK_ARG_TOKEN=s3cr3t-token-value", binary, "--config", "/etc/runbook/other-host.toml"]

            let plan = try lab.exec("d1", base + ["run", "/etc/runbook/on-d2/mark.lua", "--on", "d2", "--dry-run", "--word", "hello"], timeout: 60)
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.hasPrefix("on d2: runbook run /etc/runbook/on-d2/mark.lua --dry-run"), "\(plan.stdout)")
            #expect(plan.stdout.contains("+ write /usr/local/etc/ran-here (6 bytes)"), "d2's plan streamed to d1: \(plan.stdout)")
            #expect(TreeFingerprint(d2 + "/usr/local/etc") == before)

            let real = try lab.exec("d1", base + ["run", "/etc/runbook/on-d2/mark.lua", "--on", "d2", "--yes", "--word", "hello"], timeout: 60)
            #expect(real.exitCode == 0, "\(real)")
            #expect(Files.read(d2 + "/usr/local/etc/ran-here") == "hello\n")
            #expect(Files.read(d2 + "/usr/local/etc/ran-here.token") == "s3cr3t-token-value\n", "the secret reached the run on d2")
            #expect(!Files.exists(d1 + "/usr/local/etc/ran-here"), "nothing ran on d1")
            #expect(!real.stdout.contains("s3cr3t-token-value") && !real.stderr.contains("s3cr3t-token-value"))
            // The second line is d2's run header: `run RUN_ID  NAME`.
            let header = try #require(real.stdout.split(separator: "\n").dropFirst().first, "\(real.stdout)")
            let id = try #require(header.split(separator: " ").dropFirst().first.map(String.init))
            #expect(Files.exists(d2 + "/var/lib/runbook/runs/\(id)/journal.jsonl"), "the run is d2's own, journaled there")
            let journals = try lab.exec("d2", ["grep", "-rl", "s3cr3t-token-value", "/var/lib/runbook"], timeout: 30)
            #expect(journals.exitCode == 1 && journals.stdout.isEmpty, "d2's journal and history hold no secret: \(journals)")
            let undo = try lab.exec("d1", base + ["undo", id, "--on", "d2"], timeout: 60)
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(TreeFingerprint(d2 + "/usr/local/etc") == before, "\(TreeFingerprint(d2 + "/usr/local/etc").difference(from: before))")

            let refused = try lab.exec("d1", base + ["run", "/etc/runbook/on-d2/mark.lua", "--on", "d9", "--yes", "--word", "x"], timeout: 30)
            #expect(refused.exitCode == 2)
            #expect(refused.stderr.contains("--on d9: not a host of the configuration (known: d2, nowhere)"), "\(refused.stderr)")
        }
    }
}
