// What the programs a run starts may see and how long they may live (issue 15): no secret in
// their environment, and none outliving a killed run to race its undo. Real children: env,
// sh and sleep, started through cmd.run by the real binary.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite struct ChildProcessSafetyTests {
    /// A secret argument given as RUNBOOK_ARG_TOKEN, and another variable that happens to hold
    /// the same value, reach no child: `env` run through cmd.run prints neither.
    @Test func secretsAreNotInAChildsEnvironment() throws {
        let sandbox = try Sandbox(runbook: "showenv", """
            return runbook {
              summary = "Shows a child's environment",
              params = { token = { type = "string", secret = true, required = true } },
              run = function(args)
                step("Env", function()
                  local seen = cmd.run({ "env" }, { read_only = true })
                  print("ENV-BEGIN\\n" .. seen.stdout .. "ENV-END")
                end)
              end,
            }
            """)
        let secret = "s3cret-\(getpid())-tok"
        let result = try sandbox.runbook(["--root", sandbox.tree, "run", "showenv", "--dry-run"],
                                         environment: ["RUNBOOK_ARG_TOKEN": secret, "COPIED_TOKEN": "prefix:" + secret,
                                                       "HARMLESS_MARK": "visible-\(getpid())"])
        #expect(result.exitCode == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n").map { String($0).trimmed }
        guard let begin = lines.firstIndex(of: "ENV-BEGIN"), let end = lines.firstIndex(of: "ENV-END") else {
            Issue.record("no environment printed\n\(result)")
            return
        }
        let environment = lines[(begin + 1)..<end]
        #expect(environment.contains("HARMLESS_MARK=visible-\(getpid())"), "the child got the rest of the environment\n\(result)")
        #expect(!environment.contains { $0.hasPrefix("RUNBOOK_ARG_") }, "no RUNBOOK_ARG_* in the child\n\(result)")
        #expect(!environment.contains { $0.hasPrefix("COPIED_TOKEN=") }, "a variable holding the secret is withheld\n\(result)")
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "the secret shows nowhere\n\(result)")
    }

    /// A command line is world-readable (/proc/PID/cmdline, ps): a secret in argv is refused
    /// with one line, the program is not started, and the secret is not echoed.
    @Test func aSecretInArgvIsRefused() throws {
        let sandbox = try Sandbox(runbook: "argv", """
            return runbook {
              summary = "Puts a secret on a command line",
              params = { token = { type = "string", secret = true, required = true } },
              run = function(args)
                step("Argv", function()
                  cmd.run({ "touch", "/tmp/never-" .. args.token }, { read_only = true })
                end)
              end,
            }
            """)
        let secret = "s3cret-\(getpid())-argv"
        let result = try sandbox.runbook(["--root", sandbox.tree, "run", "argv"], environment: ["RUNBOOK_ARG_TOKEN": secret])
        #expect(result.exitCode == 1 && result.signal == nil, "\(result)")
        #expect(result.stderr.contains("argument 2 of the command line holds a secret"), "\(result)")
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "\(result)")
        #expect(!Files.exists("/tmp/never-" + secret), "the program ran")
    }

    /// Whether `pid` still runs (a zombie waiting for its reaper counts as gone).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = Files.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }

    /// A run whose cmd.run keeps a writer going is SIGKILLed: the writer dies with it (it does
    /// not keep writing into the tree), before undo is asked to run; undo then succeeds.
    @Test func childrenDieWithAKilledRun() throws {
        let sandbox = try Sandbox()
        let pidFile = sandbox.base + "/writer.pid", log = sandbox.tree + "/writer.log"
        try sandbox.addRunbook("writer", """
            return runbook {
              summary = "Starts a writer that would run for minutes",
              run = function()
                step("Write", function()
                  fs.write("/marker", "made by the run\\n")
                  cmd.run({ "sh", "-c", "echo $$ > \(pidFile); while :; do echo tick >> \(log); sleep 0.05; done" },
                          { undo = { "true" } })
                end)
              end,
            }
            """)
        let child = try sandbox.start(["--root", sandbox.tree, "run", "writer"])
        let deadline = Clock.monotonic() + 20
        while Clock.monotonic() < deadline && (Files.read(pidFile).flatMap { Int32($0.trimmed) } == nil || !Files.exists(log)) {
            usleep(20_000)
        }
        guard let writer = Files.read(pidFile).flatMap({ Int32($0.trimmed) }) else {
            Issue.record("the writer never started\n\(child.wait(timeout: 5))")
            return
        }
        #expect(Self.isRunning(writer), "the writer runs while the run does")
        child.send(SIGKILL)
        let killed = child.wait(timeout: 10)
        #expect(killed.signal == SIGKILL, "\(killed)")
        // The kernel kills it at once; give its reaper a moment.
        let gone = Clock.monotonic() + 5
        while Self.isRunning(writer) && Clock.monotonic() < gone { usleep(20_000) }
        #expect(!Self.isRunning(writer), "the writer \(writer) outlived the killed run")
        let size = Files.read(log)?.utf8.count ?? 0
        usleep(300_000)
        #expect((Files.read(log)?.utf8.count ?? 0) == size, "nothing writes into the tree any more")
        if Self.isRunning(writer) { kill(writer, SIGKILL) }

        guard let id = sandbox.runIDs().last else {
            Issue.record("no run folder")
            return
        }
        let undo = try sandbox.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(!Files.exists(sandbox.tree + "/marker"), "undo removed what the run wrote")
    }
}
