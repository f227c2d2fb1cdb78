// rsync (local, to an rsync daemon with a password, over ssh), remote.run through a local
// sshd with a throwaway key, and mail through a capturing sendmail — all on 127.0.0.1.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing


@Suite(.serialized) struct RemotePrimitivesTests {
    @Test func rsyncLocallyAndToADaemonWithAPasswordFile() throws {
        let box = try Sandbox()
        let source = box.tree + "/src", local = box.tree + "/copy", module = box.tree + "/module"
        try Files.mkdir(source)
        try Files.mkdir(module)
        try Files.write(source + "/a.txt", "alpha")
        try Files.write(source + "/b.txt", "beta")
        try Files.mkdir(local)
        try Files.write(local + "/stale.txt", "old")
        let port = 21000 + Int(getpid()) % 10000
        let password = "rsync-Pa55-\(getpid())-secret"
        try Files.write(box.base + "/rsyncd.secrets", "sync:\(password)\n", mode: 0o600)
        try Files.write(box.base + "/rsyncd.conf", """
            use chroot = no
            pid file = \(box.base)/rsyncd.pid
            [files]
              path = \(module)
              read only = no
              uid = root
              gid = root
              auth users = sync
              secrets file = \(box.base)/rsyncd.secrets
            """)
        let daemon = try TestServer([ProcessRunner.resolve("rsync")!, "--daemon", "--no-detach", "--config=\(box.base)/rsyncd.conf",
                                     "--port=\(port)", "--address=127.0.0.1"])
        _ = daemon
        #expect(waitForPort(port))
        try box.addRunbook("sync", """
            return runbook {
              summary = "sync",
              params = { password = { type = "string", secret = true, required = true } },
              run = function(args)
                step("Sync locally", function() rsync.push("\(source)/", "\(local)/", { delete = true }) end)
                step("Sync to the daemon", function()
                  rsync.push("\(source)/", "rsync://sync@127.0.0.1:\(port)/files/", { password = args.password })
                end)
              end,
            }
            """)
        let env = ["RUNBOOK_ARG_PASSWORD": password]
        // Every process's command line while the plan and the run go (ReliabilitySecretTests).
        let sampler = CommandLineSampler()
        let plan = try expectUnchanged(box, "the dry-run") { try box.runbook(["run", "sync", "--dry-run"], environment: env) }
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("a.txt"), "the plan lists the files rsync would move")
        #expect(plan.stdout.contains("! sync \(source)/ -> rsync://sync@127.0.0.1:\(port)/files/"))

        let run = try box.planAndRun(["sync"], environment: env)
        #expect(run.exitCode == 0, "\(run)")
        #expect(Files.read(local + "/a.txt") == "alpha")
        #expect(!Files.exists(local + "/stale.txt"), "delete = true removes extra files")
        #expect(Files.read(module + "/b.txt") == "beta", "the daemon received the files")
        for output in [plan.stdout, plan.stderr, run.stdout, run.stderr] { #expect(!output.contains(password)) }
        for file in Files.allFiles(box.state) { #expect(!(Files.read(file) ?? "").contains(password), "\(file)") }
        // rsync got the password through a file, never in its argv.
        let commandLines = sampler.stop().commandLines
        #expect(commandLines.contains { $0.contains("rsync") && $0.contains("--password-file=") }, "rsync was sampled")
        #expect(!commandLines.contains { $0.contains(password) }, "the password in a command line")

        let wrong = try box.runbook(["run", "sync"], environment: ["RUNBOOK_ARG_PASSWORD": "not-the-password"])
        #expect(wrong.exitCode == 1, "\(wrong)")
        #expect(wrong.stderr.contains("rsync"))
    }

    @Test func remoteRunThroughALocalSSHDaemon() throws {
        let box = try Sandbox()
        let ssh = try LocalSSHServer.shared()
        let port = ssh.port
        try box.appendConfig("""

            [hosts.peer]
            address = "127.0.0.1"
            port = \(port)
            user = "root"
            identity_file = "\(ssh.clientKey)"
            ssh_options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]
            runbook = ["\(try RunbookBinary.require())", "--config", "\(box.base)/peer.toml", "--state-dir", "\(box.base)/peer-state", "--runbooks", "\(box.base)/peer-runbooks"]
            """)
        // The runbook the peer runs, with its own state (as another host would have).
        try Files.write(box.base + "/peer.toml", "# the peer's config\n")
        try Files.mkdir(box.base + "/peer-runbooks")
        let peerFile = box.tree + "/written on the peer"
        try Files.write(box.base + "/peer-runbooks/mark.lua", """
            return runbook {
              summary = "mark",
              params = { text = { type = "string", required = true } },
              run = function(args) step("Write the mark", function() fs.write("\(peerFile)", args.text) end) end,
            }
            """)
        let marker = box.tree + "/made by ssh"
        try Files.mkdir(box.tree + "/src")
        try Files.write(box.tree + "/src/page.html", "synced over ssh")
        try box.addRunbook("remote", """
            return runbook {
              summary = "remote",
              run = function()
                step("Run there", function()
                  local seen = remote.run("peer", { "echo", "it's; fine" }, { read_only = true })
                  if seen.stdout ~= "it's; fine\\n" then error("quoting broke: " .. seen.stdout) end
                  remote.run("peer", { "touch", "\(marker)" }, { undo = { "rm", "\(marker)" } })
                end)
                step("Run a runbook there", function() remote.runbook("peer", "mark", { text = "hello peer" }) end)
                step("Sync over ssh", function() rsync.push("\(box.tree)/src/", "peer:\(box.base)/over-ssh/") end)
              end,
            }
            """)
        let plan = try box.runbook(["run", "remote", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(!Files.exists(marker))
        #expect(!Files.exists(peerFile), "the remote runbook ran as a dry-run too")
        #expect(plan.stdout.contains("[peer] effect planned: write \(peerFile)"), "its plan is streamed back")
        let run = try box.runbook(["run", "remote"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(Files.exists(marker), "the command ran through ssh with its argv intact")
        #expect(Files.read(peerFile) == "hello peer")
        #expect(Files.read(box.base + "/over-ssh/page.html") == "synced over ssh", "rsync went through the configured ssh")
        #expect(run.stdout.contains("[peer] effect applied: write \(peerFile)"))
        let undo = try box.runbook(["undo", try #require(run.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(!Files.exists(marker))
    }

    @Test func mailGoesThroughSendmailAndNeverInADryRun() throws {
        let box = try Sandbox()
        let captured = box.base + "/mail.txt"
        // A capturing sendmail first in the PATH the engine runs with.
        try Files.mkdir(box.base + "/bin")
        try Files.write(box.base + "/bin/sendmail", "#!/bin/sh\necho \"ARGS: $*\" > \(captured)\ncat >> \(captured)\n", mode: 0o755)
        let path = ["PATH": box.base + "/bin:" + (Posix.environment("PATH") ?? "/usr/bin:/bin")]
        try box.addRunbook("welcome", """
            return runbook {
              summary = "mail",
              params = { email = { type = "email", required = true } },
              run = function(args)
                step("Send mail to customer", function()
                  mail.send({ to = args.email, subject = "Your store is ready", body = "Welcome!\\n.\\nBye", from = "ops@example.com" })
                end)
              end,
            }
            """)
        let plan = try box.runbook(["run", "welcome", "--email", "a@example.com", "--dry-run"], environment: path)
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("! mail \"Your store is ready\" to a@example.com"))
        #expect(!Files.exists(captured), "a dry-run sends nothing")
        let run = try box.planAndRun(["welcome", "--email", "a@example.com"], environment: path)
        #expect(run.exitCode == 0, "\(run)")
        let mail = try #require(Files.read(captured))
        #expect(mail.hasPrefix("ARGS: -t -i\n"))
        #expect(mail.contains("To: a@example.com\nSubject: Your store is ready\nFrom: ops@example.com\n"))
        #expect(mail.hasSuffix("\n\nWelcome!\n.\nBye"))
        let undo = try box.runbook(["undo", try #require(run.runID)])
        #expect(undo.stdout.contains("cannot be undone"))
    }
}
