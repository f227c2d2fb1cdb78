// A partition in the lab: d2's cables to the switch are cut while a run on d1 has effects
// on d2 (scripts/lab link DIR d2 down). The run fails at the next request to d2 (ssh's
// keepalives give up; no silent reconnect), its own undo reverses what it can reach and says
// that d2 still owes its part; once the cables are back, `runbook undo` finishes it.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("on(HOST): d2 cut off mid-run", .serialized)
struct LabPartitionTests {
    static let runbook = """
        return runbook {
          summary = "d2 cut off between two of its effects",
          on_failure = "undo",
          run = function(args)
            step("Here and on d2", function()
              fs.write("/usr/local/etc/partition-here", "d1\\n")
              on("d2", function() fs.write("/usr/local/etc/partition-a", "a\\n") end)
            end)
            step("Wait for the cut", function()
              cmd.run({ "sh", "-c", "touch /etc/runbook/partition/waiting; "
                        .. "while [ ! -e /etc/runbook/partition/go ]; do sleep 0.1; done" }, { read_only = true, timeout = 60 })
            end)
            step("On d2 again", function()
              on("d2", function() fs.write("/usr/local/etc/partition-b", "b\\n") end)
            end)
          end,
        }
        """

    enum Fault: String, CaseIterable { case cableCut, agentKilled }

    /// The pids of runbook agents running with the lab hosts' own configuration: d2's, in
    /// this test (d1 runs the controlling run, no agent).
    static func agentPIDs() -> [pid_t] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), let line = Lab.commandLine(pid) else { return nil }
            return line.hasSuffix("--config /etc/runbook/config.toml agent ") ? pid : nil
        }
    }

    /// Starts the runbook on d1, lets it reach d2, then `fault` strikes before its next effect
    /// there; the run's result.
    static func runAndFail(_ lab: Lab, fault: Fault) throws -> ChildResult {
        let d1 = try lab.files("d1"), d2 = try lab.files("d2")
        let agentsBefore = Set(agentPIDs())
        let run = try lab.startScript(["exec", lab.directory, "d1", "--", try RunbookBinary.require(), "--config",
                                       "/etc/runbook/partition.toml", "run", "cut", "--yes"])
        let waiting = d1 + "/etc/runbook/partition/waiting"
        let deadline = Clock.monotonic() + 60
        while !Files.exists(waiting) && Clock.monotonic() < deadline { usleep(50_000) }
        try #require(Files.exists(waiting), "the run reached its wait")
        #expect(Files.read(d2 + "/usr/local/etc/partition-a") == "a\n", "the first effect reached d2")

        switch fault {
        case .cableCut:
            let cut = try lab.script(["link", lab.directory, "d2", "down"])
            #expect(cut.exitCode == 0, "\(cut)")
        case .agentKilled:
            // The agent this run started on d2 (and the shell ssh started it with).
            let agents = agentPIDs().filter { !agentsBefore.contains($0) }
            #expect(!agents.isEmpty, "d2's agent runs")
            for pid in agents { kill(pid, SIGKILL) }
        }
        try Files.write(d1 + "/etc/runbook/partition/go", "")
        let failed = run.wait(timeout: 90)
        return failed
    }

    @Test("the run fails naming d2, undoes d1's part and says d2 owes its own; once d2 is back, undo finishes there",
          arguments: Fault.allCases)
    func cutMidRunThenUndoLater(fault: Fault) throws {
        try SharedLab.use { lab in
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            // ssh gives up on a silent d2 after 2 unanswered keepalives a second apart.
            try LabOtherHostTests.prepare(lab, runbook: Self.runbook, name: "partition", file: "cut",
                                          d2Options: ["ServerAliveInterval=1", "ServerAliveCountMax=2"])
            let before = (d1: TreeFingerprint(d1 + "/usr/local/etc"), d2: TreeFingerprint(d2 + "/usr/local/etc"))
            defer {
                _ = try? lab.script(["link", lab.directory, "d2", "up"])
                for path in ["/etc/runbook/partition", "/etc/runbook/partition.toml"] { try? FileManager.default.removeItem(atPath: d1 + path) }
            }

            let agentsBefore = Set(Self.agentPIDs())
            let failed = try Self.runAndFail(lab, fault: fault)
            #expect(failed.exitCode == 1, "\(failed)")
            #expect(failed.stdout.contains("cut.lua:14: host d2: the connection ended without a word") || fault == .agentKilled
                    && failed.stdout.contains("cut.lua:14: host d2: "),
                    "the failure names d2: \(failed.stdout)")
            #expect(failed.stdout.contains("could not undo: on d2: write /usr/local/etc/partition-a (2 bytes): host d2 is unreachable"),
                    "the undo says what d2 still owes: \(failed.stdout)")
            #expect(TreeFingerprint(d1 + "/usr/local/etc") == before.d1, "d1's own part was undone")
            #expect(Files.read(d2 + "/usr/local/etc/partition-a") == "a\n", "d2 could not be reached: its part waits")
            #expect(!Files.exists(d2 + "/usr/local/etc/partition-b"), "nothing reached d2 after the cut")

            let id = try #require(failed.stdout.split(separator: "\n").first?.split(separator: " ").dropFirst().first.map(String.init),
                                  "\(failed.stdout)")
            if fault == .cableCut {
                // The agent the run left on d2 does not wait forever for a controller that
                // cannot answer (the cable still cut): d2's sshd drops the session after its
                // unanswered probes (ClientAliveInterval), and the agent ends.
                let gone = Clock.monotonic() + 40
                while !Self.agentPIDs().filter({ !agentsBefore.contains($0) }).isEmpty && Clock.monotonic() < gone { usleep(200_000) }
                #expect(Self.agentPIDs().filter { !agentsBefore.contains($0) }.isEmpty, "no agent of the run is left on d2")
            }
            let history = try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/partition.toml", "history"], timeout: 30)
            #expect(history.stdout.contains(id), "\(history.stdout)")

            let plugged = try lab.script(["link", lab.directory, "d2", "up"])
            #expect(plugged.exitCode == 0, "\(plugged)")
            let undo = try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/partition.toml", "undo", id], timeout: 120)
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(TreeFingerprint(d2 + "/usr/local/etc") == before.d2,
                    "undo finished on d2: \(TreeFingerprint(d2 + "/usr/local/etc").difference(from: before.d2))")
            #expect(TreeFingerprint(d1 + "/usr/local/etc") == before.d1)
        }
    }

    @Test("d2 gone for good: undo --abandon d2 records d2's part as abandoned and finishes the rest; an unknown host is refused")
    func abandonAHostThatNeverComesBack() throws {
        try SharedLab.use { lab in
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            try LabOtherHostTests.prepare(lab, runbook: Self.runbook, name: "partition", file: "cut",
                                          d2Options: ["ServerAliveInterval=1", "ServerAliveCountMax=2", "ConnectTimeout=2"])
            let before = TreeFingerprint(d1 + "/usr/local/etc")
            defer {
                _ = try? lab.script(["link", lab.directory, "d2", "up"])
                try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/partition-a")
                for path in ["/etc/runbook/partition", "/etc/runbook/partition.toml"] { try? FileManager.default.removeItem(atPath: d1 + path) }
            }
            let failed = try Self.runAndFail(lab, fault: .cableCut)
            #expect(failed.exitCode == 1 && failed.stdout.contains("could not undo: on d2: "), "\(failed)")
            let id = try #require(failed.stdout.split(separator: "\n").first?.split(separator: " ").dropFirst().first.map(String.init))
            func undo(_ words: [String]) throws -> ChildResult {
                try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/partition.toml", "undo", id] + words, timeout: 120)
            }

            let unknown = try undo(["--abandon", "d9"])
            #expect(unknown.exitCode == 2 && unknown.stderr.contains("--abandon d9: no [hosts.d9] in the configuration"), "\(unknown)")
            // The cable stays cut: d2 is gone for good.
            let abandoned = try undo(["--abandon", "d2"])
            #expect(abandoned.exitCode == 0, "\(abandoned)")
            #expect(abandoned.stdout.contains("abandoned: d2 was declared gone (--abandon d2)"), "\(abandoned.stdout)")
            #expect(abandoned.stdout.contains("abandoned (host declared gone): 1 on d2"), "\(abandoned.stdout)")
            #expect(TreeFingerprint(d1 + "/usr/local/etc") == before, "d1's part stays undone")
            let history = try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/partition.toml", "history"], timeout: 30)
            #expect(history.stdoutLines.contains { $0.contains(id) && $0.contains("undone") }, "the run is undone now: \(history.stdout)")
            let log = try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/partition.toml", "log", id], timeout: 30)
            #expect(log.stdout.contains("abandoned"), "the log keeps what was abandoned: \(log.stdout)")
            let again = try undo([])
            #expect(again.exitCode == 2 && again.stderr.contains("already undone"), "nothing is owed any more: \(again)")
        }
    }
}
