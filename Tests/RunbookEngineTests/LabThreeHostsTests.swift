// One run over three hosts of the lab: d1 (where it runs), d2 and the cloud handler each
// get a folder, a file with its mode, a link, a cron line and a config; d1 and d2 a new
// nginx server, reloaded behind its config test. A dry-run changes nothing on any host;
// SIGKILL of the run before and after each of its effects, then `runbook undo` on d1,
// leaves every host as it was: files, modes, owners, link targets, cron, what nginx serves.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("three hosts: a run on d1 that changes d1, d2 and the cloud, killed at every effect", .serialized)
struct LabThreeHostsTests {
    static let runbook = """
        return runbook {
          summary = "files, a link, a cron line, a config and nginx on d1, d2 and the cloud",
          params = { fail = { type = "bool", default = false } },
          on_failure = "undo",
          run = function(args)
            step("Every host", function()
              for _, host in ipairs({ "d1", "d2", "tmp-cloud" }) do
                local function work()
                  fs.mkdir("/usr/home/three")
                  fs.write("/usr/home/three/index.php", "<?php echo 'three on " .. host .. "';\\n", { mode = "0640" })
                  fs.symlink("/home/shared_codes", "/usr/home/three/code")
                  cron.add("*/7 * * * * root /bin/true", { file = "/etc/cron.d/three" })
                  fs.write("/usr/local/etc/three.conf", "host = " .. host .. "\\n")
                  if host ~= "tmp-cloud" then
                    fs.write("/usr/local/etc/nginx/installs.conf",
                             'server { listen 80; server_name three.example; location / { return 200 "three on ' .. host .. '\\\\n"; } }\\n')
                    service.reload("nginx", { config = "/usr/local/etc/nginx/nginx.conf" })
                  end
                end
                if host == "d1" then work() else on(host, work) end
              end
            end)
            if args.fail then error("failing on purpose after every host changed") end
          end,
        }
        """

    /// 7 effects on d1, 7 on d2 (both with nginx), 5 on the cloud.
    static let effects = 19

    static func prepare(_ lab: Lab) throws {
        try LabOtherHostTests.prepare(lab, runbook: runbook)
        let config = try lab.files("d1") + "/etc/runbook/other-host.toml"
        try Files.write(config, (Files.read(config) ?? "") + """

            [hosts.tmp-cloud]
            address = "10.0.4.1"
            runbook = ["\(try RunbookBinary.require())", "--config", "/etc/runbook/config.toml"]

            """)
    }

    /// What nginx on `host` answers for three.example, asked from the other dispatcher; asked
    /// again for up to 3 s until it is `awaited` (a reload takes effect with the new workers).
    static func served(_ lab: Lab, _ host: String, awaiting awaited: String?) throws -> String {
        let (from, address) = host == "d1" ? ("d2", "10.0.0.1") : ("d1", "10.0.0.2")
        let deadline = Clock.monotonic() + 3
        while true {
            let answer = try lab.exec(from, ["curl", "-s", "-m", "5", "-H", "Host: three.example", "http://\(address)/"], timeout: 20).stdout
            if awaited == nil || answer == awaited || Clock.monotonic() > deadline { return answer }
            usleep(100_000)
        }
    }

    /// Every host as an operator would check it.
    struct Hosts: Equatable {
        var trees: [String: TreeFingerprint] = [:]
        var served: [String: String] = [:]

        init(_ lab: Lab, serving awaited: Hosts? = nil) throws {
            for host in ["d1", "d2", "tmp-cloud"] {
                let files = try lab.files(host)
                for folder in ["/usr/home", "/usr/local/etc", "/etc/cron.d"] { trees[host + folder] = TreeFingerprint(files + folder) }
            }
            for host in ["d1", "d2"] { served[host] = try LabThreeHostsTests.served(lab, host, awaiting: awaited?.served[host]) }
        }

        func difference(from other: Hosts) -> String {
            trees.keys.sorted().compactMap { key in
                trees[key] == other.trees[key] ? nil : "\(key): \(trees[key]!.difference(from: other.trees[key]!))"
            }.joined(separator: "; ") + (served == other.served ? "" : " served: \(served) vs \(other.served)")
        }
    }

    static func run(_ lab: Lab, _ words: [String], environment: [String] = []) throws -> ChildResult {
        try lab.exec("d1", ["env"] + environment + [try RunbookBinary.require(), "--config", "/etc/runbook/other-host.toml"] + words,
                     timeout: 120)
    }

    @Test("a dry-run changes nothing on any host; the run changes all three; undo on d1 puts all three back")
    func runAndUndoOnThreeHosts() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            let before = try Hosts(lab)
            #expect(before.served["d2"]?.contains("dispatch2") == true, "\(before.served)")

            let plan = try Self.run(lab, ["run", "on_d2", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            for line in ["+ create directory /usr/home/three", "+ on d2: create directory /usr/home/three",
                         "+ on tmp-cloud: create directory /usr/home/three", "on tmp-cloud: write /etc/cron.d/three",
                         "on d2: reload nginx (after its config test)"] {
                #expect(plan.stdout.contains(line), "the plan names \(line): \(plan.stdout)")
            }
            let afterPlan = try Hosts(lab)
            #expect(afterPlan == before, "a dry-run changes nothing: \(afterPlan.difference(from: before))")

            let real = try Self.run(lab, ["run", "on_d2", "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            for host in ["d1", "d2", "tmp-cloud"] {
                let files = try lab.files(host)
                #expect(Files.read(files + "/usr/home/three/index.php") == "<?php echo 'three on \(host)';\n", "\(host)")
                #expect(Posix.readLink(files + "/usr/home/three/code") == "/home/shared_codes", "\(host)")
                #expect(Files.read(files + "/etc/cron.d/three") == "*/7 * * * * root /bin/true\n", "\(host)")
                #expect(Files.read(files + "/usr/local/etc/three.conf") == "host = \(host)\n", "\(host)")
            }
            for host in ["d1", "d2"] {
                #expect(try Self.served(lab, host, awaiting: "three on \(host)\n") == "three on \(host)\n", "\(host)'s nginx serves the new server")
            }

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try Self.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            let after = try Hosts(lab, serving: before)
            #expect(after == before, "undo puts every host back: \(after.difference(from: before))")
        }
    }

    @Test("SIGKILL of the run before and after each of its 19 effects, then undo on d1: d1, d2 and the cloud are as before")
    func crashAtEveryEffectOnThreeHosts() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            let before = try Hosts(lab)
            var points = 0, failures: [String] = []
            for effect in 1...Self.effects {
                for variable in ["RUNBOOK_CRASH_BEFORE_EFFECT", "RUNBOOK_CRASH_AFTER_EFFECT"] {
                    let killed = try Self.run(lab, ["run", "on_d2", "--yes", "--json"], environment: ["\(variable)=\(effect)"])
                    #expect(killed.exitCode != 0, "\(variable)=\(effect): the run was killed: \(killed)")
                    let id = try #require(DemoWorld.runID(killed), "\(killed.stdout)")
                    if variable == "RUNBOOK_CRASH_AFTER_EFFECT" {
                        // The kill came after effect k was applied: some host shows it.
                        let trees = try Hosts(lab).trees
                        #expect(trees != before.trees, "\(variable)=\(effect): effect \(effect) was applied before the kill")
                    }
                    let undo = try Self.run(lab, ["undo", id])
                    let after = try Hosts(lab, serving: before)
                    if undo.exitCode != 0 || after != before {
                        failures.append("\(variable)=\(effect): undo \(undo.exitCode) \(undo.stderr) \(after.difference(from: before))")
                    }
                    points += 1
                }
            }
            #expect(points == 2 * Self.effects)
            #expect(failures.isEmpty, "\(failures.count) of \(points) points left a host changed:\n\(failures.joined(separator: "\n"))")
        }
    }

    @Test("a run failing after it changed all three hosts is undone on all three")
    func failedRunIsUndoneEverywhere() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab)
            let before = try Hosts(lab)
            let failed = try Self.run(lab, ["run", "on_d2", "--fail", "--yes"])
            #expect(failed.exitCode == 1 && failed.stderr.contains("failing on purpose"), "\(failed)")
            let after = try Hosts(lab, serving: before)
            #expect(after == before, "\(after.difference(from: before))")
        }
    }
}
