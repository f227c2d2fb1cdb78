// on(HOST, fn) in the lab (docs/lab.md): a run on d1 plans, makes and undoes files on d2
// through runbook's agent there (one ssh session, `runbook agent` with d2's own config),
// reading d2's real files in a dry-run too; d1's own files are not touched, and a module
// that cannot act on another host yet is refused inside `on` rather than run on d1.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("on(HOST): files on another host", .serialized)
struct LabOtherHostTests {
    /// A configuration `/etc/runbook/NAME.toml` and a runbook folder `/etc/runbook/NAME/`
    /// of this test on d1, the runbook in it as `FILE.lua`; d2 is `[hosts.d2]` (with
    /// `d2Options` for its ssh), whose agent is the same runbook program with d2's own
    /// configuration.
    static func prepare(_ lab: Lab, runbook: String, name: String = "other-host", file: String = "on_d2",
                        d2Options: [String] = []) throws {
        let d1 = try lab.files("d1")
        try Files.mkdir(d1 + "/etc/runbook/" + name)
        try Files.write(d1 + "/etc/runbook/\(name).toml", """
            state_dir = "/var/lib/runbook"
            runbooks = ["/etc/runbook/\(name)"]

            [hosts.d2]
            address = "10.0.0.2"
            runbook = ["\(try RunbookBinary.require())", "--config", "/etc/runbook/config.toml"]
            ssh_options = [\(d2Options.map { "\"\($0)\"" }.joined(separator: ", "))]

            [hosts.nowhere]
            address = "10.0.0.99"
            ssh_options = ["ConnectTimeout=2"]
            """)
        try Files.write(d1 + "/etc/runbook/\(name)/\(file).lua", runbook)
    }

    static func run(_ lab: Lab, _ words: [String]) throws -> ChildResult {
        try lab.exec("d1", [try RunbookBinary.require(), "--config", "/etc/runbook/other-host.toml"] + words, timeout: 120)
    }

    static let siteRunbook = """
        return runbook {
          summary = "a site's files on d2, made from d1",
          params = { name = { type = "string", required = true } },
          on_failure = "undo",
          run = function(args)
            local home = "/usr/home/" .. args.name
            step("Make the site on d2", function()
              local seen = on("d2", function()
                fs.mkdir(home)
                fs.write(home .. "/index.html", "hello from d1\\n", { mode = "0640" })
                fs.symlink("/home/shared_codes", home .. "/code")
                fs.write("/usr/local/etc/other-host.conf", "new\\n")
                -- Reads there see what was just done (planned, in a dry-run).
                assert(fs.read(home .. "/index.html") == "hello from d1\\n")
                assert(fs.readlink(home .. "/code") == "/home/shared_codes")
                return fs.read("/usr/local/etc/other-host.conf")
              end)
              assert(seen == "new\\n")
              -- Outside `on`, this host: d1 has no such site.
              assert(not fs.exists(home), "d1 was not touched")
            end)
          end,
        }
        """

    @Test("a dry-run reads d2 and changes nothing there; the real run makes the files on d2 only; undo on d1 brings d2 back byte for byte")
    func filesOnD2AreMadeAndUndone() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab, runbook: Self.siteRunbook)
            let d1 = try lab.files("d1"), d2 = try lab.files("d2")
            try Files.write(d2 + "/usr/local/etc/other-host.conf", "old\n")
            let before = (d2: TreeFingerprint(d2 + "/usr"), d1: TreeFingerprint(d1 + "/usr"))

            let plan = try Self.run(lab, ["run", "on_d2", "--name", "othersite", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("on d2: create directory /usr/home/othersite"), "\(plan.stdout)")
            #expect(plan.stdout.contains("on d2: change /usr/local/etc/other-host.conf"), "the plan read d2's file: \(plan.stdout)")
            #expect(TreeFingerprint(d2 + "/usr") == before.d2, "a dry-run changes nothing on d2")

            let real = try Self.run(lab, ["run", "on_d2", "--name", "othersite", "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            #expect(Files.read(d2 + "/usr/home/othersite/index.html") == "hello from d1\n")
            #expect(Posix.lstatInfo(d2 + "/usr/home/othersite/index.html")?.mode == 0o640)
            #expect(Posix.readLink(d2 + "/usr/home/othersite/code") == "/home/shared_codes")
            #expect(Files.read(d2 + "/usr/local/etc/other-host.conf") == "new\n")
            #expect(TreeFingerprint(d1 + "/usr") == before.d1, "d1's own files are untouched")

            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try Self.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(undo.stdout.contains("on d2:"), "the undo names the host: \(undo.stdout)")
            #expect(TreeFingerprint(d2 + "/usr") == before.d2, "undo brings d2 back: \(TreeFingerprint(d2 + "/usr").difference(from: before.d2))")
            try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/other-host.conf")
        }
    }

    @Test("SIGKILL of the run on d1 before and after each effect on d2, then runbook undo on d1: d2 is back byte for byte")
    func crashAtEveryEffectIsUndoneOnD2() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab, runbook: Self.siteRunbook)
            let d2 = try lab.files("d2")
            try Files.write(d2 + "/usr/local/etc/other-host.conf", "old\n")
            let before = TreeFingerprint(d2 + "/usr")
            var points = 0
            for (variable, effect) in [("RUNBOOK_CRASH_BEFORE_EFFECT", 1), ("RUNBOOK_CRASH_AFTER_EFFECT", 1), ("RUNBOOK_CRASH_BEFORE_EFFECT", 2),
                                       ("RUNBOOK_CRASH_AFTER_EFFECT", 3), ("RUNBOOK_CRASH_BEFORE_EFFECT", 4), ("RUNBOOK_CRASH_AFTER_EFFECT", 4)] {
                let killed = try lab.exec("d1", ["env", "\(variable)=\(effect)", try RunbookBinary.require(), "--config", "/etc/runbook/other-host.toml",
                                                 "run", "on_d2", "--name", "crashsite", "--yes", "--json"], timeout: 120)
                #expect(killed.exitCode != 0, "\(variable)=\(effect): the run was killed: \(killed)")
                let id = try #require(DemoWorld.runID(killed), "\(killed.stdout)")
                let undo = try Self.run(lab, ["undo", id])
                #expect(undo.exitCode == 0, "\(variable)=\(effect): \(undo)")
                #expect(TreeFingerprint(d2 + "/usr") == before,
                        "\(variable)=\(effect): \(TreeFingerprint(d2 + "/usr").difference(from: before))")
                points += 1
            }
            #expect(points == 6)
            try? FileManager.default.removeItem(atPath: d2 + "/usr/local/etc/other-host.conf")
        }
    }

    @Test("an unknown or unreachable host, and a module that cannot act there yet, fail with one line and change nothing")
    func refusalsNameTheHost() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab, runbook: """
                return runbook {
                  summary = "refusals",
                  params = { host = { type = "string", required = true }, what = { type = "string", required = true } },
                  run = function(args)
                    on(args.host, function()
                      if args.what == "http" then http.get("http://10.0.0.2/")
                      elseif args.what == "chown" then fs.chown("/usr/home", "nosuchuser")
                      else fs.mkdir("/usr/home/refused") end
                    end)
                  end,
                }
                """)
            let d2 = try lab.files("d2")
            let unknown = try Self.run(lab, ["run", "on_d2", "--host", "d9", "--what", "fs", "--yes"])
            #expect(unknown.exitCode == 1)
            #expect(unknown.stderr.contains("'d9' is not a host of the configuration (add [hosts.d9])"), "\(unknown.stderr)")
            let unreachable = try Self.run(lab, ["run", "on_d2", "--host", "nowhere", "--what", "fs", "--yes"])
            #expect(unreachable.exitCode == 1)
            #expect(unreachable.stderr.contains("cannot reach host nowhere") || unreachable.stderr.contains("host nowhere:"), "\(unreachable.stderr)")
            let http = try Self.run(lab, ["run", "on_d2", "--host", "d2", "--what", "http", "--yes"])
            #expect(http.exitCode == 1)
            #expect(http.stderr.contains("http.get cannot run on another host yet: call it outside on(\"d2\", ...)"), "\(http.stderr)")
            // fs.chown names d2's users, looked up there.
            let chown = try Self.run(lab, ["run", "on_d2", "--host", "d2", "--what", "chown", "--yes"])
            #expect(chown.exitCode == 1)
            #expect(chown.stderr.contains("fs.chown: no user 'nosuchuser' on d2"), "\(chown.stderr)")
            #expect(Posix.lstatInfo(d2 + "/usr/home/refused") == nil)
        }
    }

    @Test("mount.bind on d2 mounts in d2's own mount namespace only; mount.list reads d2's table; undo unmounts it there")
    func bindMountOnD2() throws {
        try SharedLab.use { lab in
            try Self.prepare(lab, runbook: """
                return runbook {
                  summary = "a bind mount on d2",
                  run = function()
                    step("Mount on d2", function()
                      on("d2", function()
                        fs.mkdir("/usr/home/mnt-target")
                        assert(mount.bind("/home/shared_codes", "/usr/home/mnt-target"))
                        assert(#mount.list("/usr/home/mnt-target") == 1, "d2's table has it")
                        assert(not mount.bind("/home/shared_codes", "/usr/home/mnt-target"), "already mounted there")
                      end)
                      assert(#mount.list("/usr/home/mnt-target") == 0, "d1's table has no such mount")
                    end)
                  end,
                }
                """, file: "mount_d2")
            func mounted(_ host: String) throws -> Bool {
                try lab.exec(host, ["cat", "/proc/self/mountinfo"], timeout: 10).stdout.contains(" /usr/home/mnt-target ")
            }
            let d2 = try lab.files("d2")
            let before = TreeFingerprint(d2 + "/usr/home")
            let plan = try Self.run(lab, ["run", "mount_d2", "--dry-run"])
            #expect(plan.exitCode == 0, "\(plan)")
            #expect(plan.stdout.contains("on d2: bind-mount /home/shared_codes on /usr/home/mnt-target"), "\(plan.stdout)")
            #expect(try !mounted("d2"))
            let real = try Self.run(lab, ["run", "mount_d2", "--yes", "--json"])
            #expect(real.exitCode == 0, "\(real)")
            #expect(try mounted("d2"), "mounted on d2")
            #expect(try !mounted("d1"), "not on d1")
            #expect(!((try? Posix.readText("/proc/self/mountinfo")) ?? "").contains("mnt-target"), "not on the machine")
            let id = try #require(DemoWorld.runID(real), "\(real.stdout)")
            let undo = try Self.run(lab, ["undo", id])
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(try !mounted("d2"), "undo unmounted it on d2")
            #expect(TreeFingerprint(d2 + "/usr/home") == before, "\(TreeFingerprint(d2 + "/usr/home").difference(from: before))")
        }
    }
}
