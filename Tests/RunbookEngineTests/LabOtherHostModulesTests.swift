// on(HOST, fn) beyond files, in the lab: a run on d1 reads d2 with a read-only command,
// runs a command with its undo, adds a cron line, an address and an nginx server on d2 and
// reloads d2's nginx behind its own config test; the dry-run reads d2 and changes nothing,
// the undo (after a failure, or later) brings d2 back — files, address, what nginx serves.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("on(HOST): commands, cron, services and addresses on another host", .serialized)
struct LabOtherHostModulesTests {
    static let runbook = """
        return runbook {
          summary = "cmd, cron, service and net on d2, from d1",
          params = {
            server = { type = "string", required = true },
            fail = { type = "bool", default = false },
          },
          on_failure = "undo",
          run = function(args)
            step("Configure d2", function()
              on("d2", function()
                local seen = cmd.run({ "cat", "/usr/local/etc/only-on-d2" }, { read_only = true })
                assert(seen.stdout == "d2's own\\n", "the read-only command ran on d2: " .. seen.stdout)
                assert(net.ping("10.0.0.1"), "d2 reaches d1")
                cmd.run({ "touch", "/usr/local/etc/touched" }, { undo = { "rm", "-f", "/usr/local/etc/touched" } })
                fs.chown("/usr/local/etc/only-on-d2", "nobody:nogroup")
                assert(fs.relink_tree("/usr/local/etc/relinked", "/home/shared_codes/r1", "/home/shared_codes/r2") == 1)
                cron.add("*/5 * * * * root /bin/true", { file = "/etc/cron.d/other-host" })
                net.add_ip("eth0", "10.0.0.222")
                local found = false
                for _, address in ipairs(net.addresses("eth0")) do found = found or address == "10.0.0.222" end
                assert(found, "net.addresses reads d2 (with what the run planned there)")
                fs.write("/usr/local/etc/nginx/installs.conf", args.server .. "\\n")
                service.reload("nginx", { config = "/usr/local/etc/nginx/nginx.conf" })
              end)
              assert(not fs.exists("/usr/local/etc/touched"), "d1 was not touched")
            end)
            if args.fail then error("failing on purpose after d2 was configured") end
          end,
        }
        """

    static let server = #"server { listen 80; server_name othersite.example; location / { return 200 "othersite on d2\n"; } }"#

    /// What d2's nginx answers for othersite.example, asked from d1 over the lab's network.
    /// A reload takes effect when nginx's new workers take over: asked again for up to 3 s
    /// until the answer is `awaited`.
    static func served(_ lab: Lab, awaiting awaited: String? = nil) throws -> String {
        let deadline = Clock.monotonic() + 3
        while true {
            let answer = try lab.exec("d1", ["curl", "-s", "-m", "5", "-H", "Host: othersite.example", "http://10.0.0.2/"], timeout: 20).stdout
            if awaited == nil || answer == awaited || Clock.monotonic() > deadline { return answer }
            usleep(100_000)
        }
    }

    /// d2 as an operator would check it: its files, its addresses, what its nginx serves.
    struct D2State: Equatable {
        var usr: TreeFingerprint
        var cron: TreeFingerprint
        var addresses: String
        var served: String

        init(_ lab: Lab, serving awaited: String? = nil) throws {
            let d2 = try lab.files("d2")
            usr = TreeFingerprint(d2 + "/usr")
            cron = TreeFingerprint(d2 + "/etc/cron.d")
            addresses = try lab.exec("d2", ["ip", "-o", "-4", "addr", "show", "dev", "eth0"], timeout: 10).stdout
                .split(separator: "\n").map { $0.split(separator: " ").prefix(4).joined(separator: " ") }.joined(separator: "\n")
            served = try LabOtherHostModulesTests.served(lab, awaiting: awaited)
        }
    }

    static func prepare(_ lab: Lab) throws {
        try LabOtherHostTests.prepare(lab, runbook: runbook)
        let d2 = try lab.files("d2")
        try Files.write(d2 + "/usr/local/etc/only-on-d2", "d2's own\n")
        try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/relinked")
        try Files.mkdir(d2 + "/usr/local/etc/relinked")
        try Files.symlink("/home/shared_codes/r1/lib", d2 + "/usr/local/etc/relinked/lib")
    }

    @Test("dry-run reads d2 and changes nothing; the real run configures d2 only; undo on d1 brings d2 back, nginx included")
    func commandsCronServiceAndAddressOnD2() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            defer { try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/only-on-d2") }
            let before = try D2State(lab)
            let d1Before = TreeFingerprint(d1 + "/usr")
            #expect(before.served.contains("dispatch2"), "d2 serves its own page before: \(before.served)")

            let plan = try LabOtherHostTests.run(lab, ["run", "on_d2", "--server", Self.server, "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            for line in ["on d2: run touch /usr/local/etc/touched", "on d2: chown /usr/local/etc/only-on-d2 to nobody:nogroup",
                         "on d2: relink 1 symlink under /usr/local/etc/relinked", "on d2: add address 10.0.0.222 to eth0",
                         "on d2: write /etc/cron.d/other-host", "on d2: reload nginx (after its config test)"] {
                #expect(plan.stdout.contains(line), "the plan names \(line): \(plan.stdout)")
            }
            #expect(try D2State(lab) == before, "a dry-run changes nothing on d2")

            let real = try LabOtherHostTests.run(lab, ["run", "on_d2", "--server", Self.server, "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            #expect(Files.exists(d2 + "/usr/local/etc/touched") && !Files.exists(d1 + "/usr/local/etc/touched"))
            #expect(Files.read(d2 + "/etc/cron.d/other-host") == "*/5 * * * * root /bin/true\n")
            #expect(Posix.lstatInfo(d2 + "/usr/local/etc/only-on-d2")?.uid == 65534, "chown on d2 to d2's nobody")
            #expect(Posix.readLink(d2 + "/usr/local/etc/relinked/lib") == "/home/shared_codes/r2/lib")
            #expect(!Files.exists(d1 + "/etc/cron.d/other-host"))
            #expect(try D2State(lab).addresses.contains("10.0.0.222/32"))
            #expect(try Self.served(lab, awaiting: "othersite on d2\n") == "othersite on d2\n", "d2's nginx was reloaded with the new server")
            #expect(TreeFingerprint(d1 + "/usr") == d1Before, "d1's own files are untouched")

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try LabOtherHostTests.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            let after = try D2State(lab, serving: before.served)
            #expect(after == before, "undo brings d2 back: \(after.usr.difference(from: before.usr)) \(after.addresses) \(after.served)\n\(undo.stdout)")
        }
    }

    /// Two ways a run that configured d2 fails; either way d2 ends as it was.
    static let failures: [(words: [String], error: String)] = [
        // The runbook fails after d2 was configured: the run's undo reloads d2's nginx last.
        (["--server", server, "--fail"], "failing on purpose"),
        // d2's nginx refuses the new config: its files are restored there, nginx keeps serving.
        (["--server", "garbage here;"], "on d2: nginx config test failed, so nginx was not reloaded and keeps its running configuration; "
            + "the 1 file change this run made under its config folder was restored"),
    ]

    @Test("a run failing after it configured d2, or d2's nginx refusing the new config, leaves d2 as it was; one line names the cause",
          arguments: 0..<2)
    func failedRunUndoesD2(failure: Int) throws {
        let (words, error) = Self.failures[failure]
        try SharedLab.use { lab in
            try Self.prepare(lab)
            defer { try? FileManager.default.removeItem(atPath: (try? lab.files("d2")).map { $0 + "/usr/local/etc/only-on-d2" } ?? "") }
            let before = try D2State(lab)
            let failed = try LabOtherHostTests.run(lab, ["run", "on_d2"] + words + ["--yes"])
            #expect(failed.exitCode == 1, "\(failed)")
            #expect(failed.stderr.contains(error), "\(failed.stderr)")
            let after = try D2State(lab, serving: before.served)
            #expect(after == before, "d2 is back: \(failed.stdout) \(after.usr.difference(from: before.usr)) \(after.served)")
        }
    }

    @Test("SIGKILL of the run on d1 before and after each of its effects on d2, then undo on d1: d2 is back (files, owners, links, cron, address, what nginx serves)")
    func crashAtEveryEffectIsUndone() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            let d2 = try lab.files("d2")
            defer { try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/only-on-d2") }
            let before = try D2State(lab)
            // The effects: touch, chown, relink, cron file, address, nginx config, reload.
            let effects = 7
            var points = 0
            for effect in 1...effects {
                for variable in ["RUNBOOK_CRASH_BEFORE_EFFECT", "RUNBOOK_CRASH_AFTER_EFFECT"] {
                    let killed = try lab.exec("d1", ["env", "\(variable)=\(effect)", try RunbookBinary.require(), "--config",
                                                     "/etc/runbook/other-host.toml", "run", "on_d2", "--server", Self.server, "--yes", "--json"],
                                              timeout: 120)
                    #expect(killed.exitCode != 0, "\(variable)=\(effect): the run was killed: \(killed)")
                    let id = try #require(DemoWorld.runID(killed), "\(killed.stdout)")
                    let undo = try LabOtherHostTests.run(lab, ["undo", id])
                    #expect(undo.exitCode == 0, "\(variable)=\(effect): \(undo)")
                    let after = try D2State(lab, serving: before.served)
                    #expect(after == before, "\(variable)=\(effect): \(after.usr.difference(from: before.usr)) \(after.addresses) \(after.served)")
                    points += 1
                }
            }
            #expect(points == 2 * effects)
        }
    }
}
