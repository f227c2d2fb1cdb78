// The platform primitives for real on this machine: bind mounts in a temporary folder,
// IP addresses and ping inside network namespaces the test creates (never the root
// namespace's), nginx on 127.0.0.1 with its own config, and commands.

@testable import RunbookEngine
import Foundation
import RunbookCore
import RunbookSupport
import RunbookTestKit
import Testing


@Suite(.serialized) struct SystemPrimitivesTests {
    @Test func bindMountAndItsUndo() throws {
        let box = try Sandbox()
        let source = box.tree + "/shared", target = box.tree + "/ftp/html"
        try Files.mkdir(source)
        try Files.write(source + "/index.html", "hello")
        try Files.mkdir(box.tree + "/ftp")
        try Files.mkdir(target)
        defer { _ = try? ProcessRunner.run(["umount", "-l", target]) }
        try box.addRunbook("mount", """
            return runbook {
              summary = "bind-mount the shared folder",
              run = function()
                step("Mount", function() mount.bind("\(source)", "\(target)") end)
                step("Check", function()
                  local found = false
                  for _, m in ipairs(mount.list("\(box.tree)")) do
                    if m.target == "\(target)" then found = true end
                  end
                  if not found then error("mount.list does not show the mount") end
                  if not fs.exists("\(target)/index.html") and not context.dry_run then error("not visible") end
                end)
              end,
            }
            """)
        let mounted = { MountTable.current(platform: PlatformAdapter()).contains { $0.target == target } }

        let plan = try box.runbook(["run", "mount", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("+ bind-mount \(source) on \(target)"))
        #expect(!mounted(), "a dry-run must not mount")

        let run = try box.planAndRun(["mount"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(mounted())
        #expect(Files.read(target + "/index.html") == "hello")
        let id = try #require(run.runID)

        let undo = try box.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(!mounted(), "undo of a mount is the unmount")

        // And the other way round: unbind, then undo mounts it again from the same source.
        try system(["mount", "--bind", source, target])
        try box.addRunbook("unmount", """
            return runbook { summary = "unmount", run = function() step("Unmount", function() mount.unbind("\(target)") end) end }
            """)
        let unbind = try box.planAndRun(["unmount"])
        #expect(unbind.exitCode == 0, "\(unbind)")
        #expect(!mounted())
        let undoUnbind = try box.runbook(["undo", try #require(unbind.runID)])
        #expect(undoUnbind.exitCode == 0, "\(undoUnbind)")
        #expect(mounted())
        #expect(Files.read(target + "/index.html") == "hello")
    }

    @Test func addressesInsideNamespaces() throws {
        let net = try NamespacePair(1)
        let box = try Sandbox()
        let free = "\(net.subnet).50", taken = "\(net.subnet).60"
        try system(["ip", "-n", net.b, "addr", "add", "\(taken)/32", "dev", net.interfaceB])
        try box.addRunbook("take", """
            return runbook {
              summary = "take addresses",
              params = { address = { type = "ip", required = true }, force = { type = "bool", default = false } },
              run = function(args)
                step("Take the address", function()
                  net.add_ip("\(net.interfaceA)", args.address, { force = args.force })
                end)
              end,
            }
            """)

        let plan = try box.runbook(inNamespace: net.a, ["run", "take", "--address", free, "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("+ add address \(free) to \(net.interfaceA)"))
        #expect(try !net.addresses(net.a, net.interfaceA).contains(free), "a dry-run must not add the address")

        let run = try box.planAndRun(["take", "--address", free], runner: { try box.runbook(inNamespace: net.a, $0) })
        #expect(run.exitCode == 0, "\(run)")
        #expect(try net.addresses(net.a, net.interfaceA).contains(free))
        #expect(net.pings(from: net.b, free), "the other host reaches the new address")

        // An address that still answers ping belongs to another host: refused unless forced.
        let refused = try box.runbook(inNamespace: net.a, ["run", "take", "--address", taken])
        #expect(refused.exitCode == 1, "\(refused)")
        #expect(refused.stderr.contains("still answers ping"))
        #expect(try !net.addresses(net.a, net.interfaceA).contains(taken))

        let undo = try box.runbook(inNamespace: net.a, ["undo", try #require(run.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(try !net.addresses(net.a, net.interfaceA).contains(free), "undo of add is remove")

        // remove_ip, and its undo adds the address back.
        try system(["ip", "-n", net.a, "addr", "add", "\(net.subnet).70/32", "dev", net.interfaceA])
        try box.addRunbook("release", """
            return runbook { summary = "release", run = function()
              step("Release", function() net.remove_ip("\(net.interfaceA)", "\(net.subnet).70") end)
              if not net.ping("\(net.subnet).2") then error("the peer should answer") end
            end }
            """)
        let release = try box.planAndRun(["release"], runner: { try box.runbook(inNamespace: net.a, $0) })
        #expect(release.exitCode == 0, "\(release)")
        #expect(try !net.addresses(net.a, net.interfaceA).contains("\(net.subnet).70"))
        let undoRelease = try box.runbook(inNamespace: net.a, ["undo", try #require(release.runID)])
        #expect(undoRelease.exitCode == 0, "\(undoRelease)")
        #expect(try net.addresses(net.a, net.interfaceA).contains("\(net.subnet).70"))
    }

    @Test func nginxReloadIsGatedByItsConfigTest() throws {
        let box = try Sandbox()
        let port = try SilentListener.unusedPort()
        let web = box.base + "/nginx"
        try Files.mkdir(web)
        try Files.mkdir(web + "/conf.d")
        let config = web + "/nginx.conf"
        try Files.write(config, Files.nginxConfig(web, http: "  include \(web)/conf.d/*.conf;"))
        let site = web + "/conf.d/site.conf"
        func siteConfig(_ body: String) -> String {
            "server { listen 127.0.0.1:\(port); location / { return 200 \"\(body)\\n\"; } }\n"
        }
        try Files.write(site, siteConfig("old"))
        try system(["nginx", "-c", config])
        defer { _ = try? ProcessRunner.run(["nginx", "-c", config, "-s", "stop"]) }
        #expect(try waitForBody(port, "old"))

        try box.addRunbook("site", """
            return runbook {
              summary = "write the site and reload nginx",
              params = { body = { type = "string", required = true } },
              run = function(args)
                step("Write the site", function()
                  fs.write("\(site)", 'server { listen 127.0.0.1:\(port); location / { return 200 "' .. args.body .. '\\\\n"; } }\\n')
                  service.reload("nginx", { config = "\(config)" })
                  service.reload("nginx", { config = "\(config)" })
                end)
              end,
            }
            """)
        let plan = try box.runbook(["run", "site", "--body", "planned", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("~ reload nginx"))
        #expect(Files.read(site) == siteConfig("old"))

        let good = try box.runbook(["run", "site", "--body", "new"])
        #expect(good.exitCode == 0, "\(good)")
        #expect(good.stdout.components(separatedBy: "reload nginx").count == 2, "one reload per service per step")
        #expect(try waitForBody(port, "new"))

        let broken = try box.runbook(["run", "site", "--body", "x\"; bogus_directive"])
        #expect(broken.exitCode == 1, "\(broken)")
        #expect(broken.stderr.contains("config test failed"))
        #expect(Files.read(site) == siteConfig("new"), "the file the run wrote is restored")
        #expect(try waitForBody(port, "new"), "the old configuration keeps serving")
    }

    @Test func commandsAreIrreversibleUnlessTheyDeclareTheirUndo() throws {
        let box = try Sandbox()
        let marker = box.tree + "/ran", undone = box.tree + "/undone"
        try box.addRunbook("cmd", """
            return runbook {
              summary = "commands",
              run = function()
                step("Touch", function()
                  local seen = cmd.run({ "ls", "\(box.tree)" }, { read_only = true })
                  if seen.status ~= 0 then error("ls failed") end
                  cmd.run({ "touch", "\(marker)" }, { undo = { "touch", "\(undone)" } })
                  cmd.run({ "true" })
                end)
              end,
            }
            """)
        let plan = try box.runbook(["run", "cmd", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("~ run touch \(marker)"))
        #expect(plan.stdout.contains("! run true"))
        #expect(!Files.exists(marker), "a dry-run does not run commands that change things")
        let run = try box.planAndRun(["cmd"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(Files.exists(marker))
        let undo = try box.runbook(["undo", try #require(run.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(Files.exists(undone), "the declared undo ran")
        #expect(undo.stdout.contains("cannot be undone"), "the command without an undo is reported")
    }
}

