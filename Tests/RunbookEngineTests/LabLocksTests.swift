// Locks across hosts in the lab: with `lock_database = "internal"` (cloud-db1, over TCP), a
// run on d1 holding a group's lock makes the same runbook on d2 exit 3 naming the holder
// (run, pid, user@host); once the holder is SIGKILLed, cloud-db1 drops its lock with its
// connection and d2's run goes through.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("locks across hosts: one group at a time on the whole platform", .serialized)
struct LabLocksTests {
    static let runbook = """
        return runbook {
          summary = "hold a group's lock until told",
          params = { release = { type = "string", default = "" } },
          locks = function() return { "group:2" } end,
          run = function(args)
            step("Hold", function()
              print("holding the lock")
              if args.release ~= "" then
                while not fs.exists(args.release) do cmd.run({ "sleep", "0.05" }, { read_only = true }) end
              end
            end)
          end,
        }
        """

    @Test("d2 is refused while d1 holds the lock (exit 3, naming d1's run); a SIGKILLed holder's lock is released")
    func oneGroupAtATime() throws {
        try SharedLab.use { lab in
            for host in ["d1", "d2"] {
                let files = try lab.files(host)
                let config = Files.read(files + "/etc/runbook/config.toml") ?? ""
                try Files.mkdir(files + "/etc/runbook/locks")
                try Files.write(files + "/etc/runbook/locks/hold.lua", Self.runbook)
                try Files.write(files + "/etc/runbook/locks.toml",
                                "lock_database = \"internal\"\nrunbooks = [\"/etc/runbook/locks\"]\n" + config)
            }
            defer {
                // The holders' table the lock database got (runbook_lock_holders) goes too.
                if let db = try? lab.database("cloud-db1") { _ = try? db.execute("DROP TABLE IF EXISTS internal.runbook_lock_holders"); db.close() }
                for host in ["d1", "d2"] {
                    let files = (try? lab.files(host)) ?? ""
                    try? FileManager.default.removeItem(atPath: files + "/etc/runbook/locks")
                    try? FileManager.default.removeItem(atPath: files + "/etc/runbook/locks.toml")
                }
            }
            let release = "/tmp/lab-locks-release-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: release) }
            let binary = try RunbookBinary.require()
            let holder = try lab.startScript(["exec", lab.directory, "d1", "--", binary, "--config", "/etc/runbook/locks.toml",
                                              "run", "hold", "--release", release, "--yes"])
            defer { try? Files.write(release, "go"); holder.wait(timeout: 20) }
            #expect(holder.waitForOutput("holding the lock", timeout: 30), "d1 took the lock")
            let holderID = try #require(holder.stdout.split(separator: "\n").first { $0.hasPrefix("run ") }?.split(separator: " ").dropFirst().first)

            let refused = try lab.exec("d2", [binary, "--config", "/etc/runbook/locks.toml", "run", "hold", "--yes"], timeout: 60)
            #expect(refused.exitCode == 3, "\(refused)")
            #expect(refused.stderr.contains("lock 'group:2' is held by run \(holderID) (pid ")
                    && refused.stderr.contains("root@dispatch1.make-a-store.com"), "names d1's run: \(refused.stderr)")

            // The holder dies without a word: its connection goes, and with it the lock.
            let pids = ((try? Posix.list("/proc")) ?? []).compactMap { name -> pid_t? in
                guard let pid = pid_t(name), let line = Lab.commandLine(pid) else { return nil }
                return line.hasPrefix(binary) && line.contains(" run hold --release \(release) ") ? pid : nil
            }
            #expect(!pids.isEmpty, "the holder runs on d1")
            for pid in pids { kill(pid, SIGKILL) }
            holder.wait(timeout: 20)
            let after = try lab.exec("d2", [binary, "--config", "/etc/runbook/locks.toml", "run", "hold", "--yes", "--lock-timeout", "10"],
                                     timeout: 60)
            #expect(after.exitCode == 0, "the dead holder's lock was released: \(after)")
        }
    }
}
