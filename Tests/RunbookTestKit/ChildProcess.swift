// Running a child process (the real binary, a script, a server) with its output in files.

import RunbookEngine
import RunbookSupport
import Testing

/// How a child process ended and what it printed.
package struct ChildResult: CustomStringConvertible {
    /// The exit status, or nil when a signal killed it.
    package var exitCode: Int32?
    package var signal: Int32?
    package var stdout: String
    package var stderr: String
    package var timedOut = false

    package var description: String {
        "exit=\(exitCode.map(String.init) ?? "-") signal=\(signal.map(String.init) ?? "-")\(timedOut ? " TIMED OUT" : "")\n"
            + "--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }

    package var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    package var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    /// The JSON events of a `--json` run.
    package var events: [JSON] { stdoutLines.compactMap { try? JSON.parse($0) }.filter { $0["event"] != nil } }
    package func events(_ type: String) -> [JSON] { events.filter { $0["event"]?.stringValue == type } }
    /// The run id, from `--json` (run_started) or human output ("run ID  name").
    package var runID: String? {
        if let id = events("run_started").first?["run"]?.stringValue { return id }
        for line in stdoutLines where line.hasPrefix("run ") {
            return line.split(separator: " ").dropFirst().first.map(String.init)
        }
        return nil
    }
}

/// A running child process whose stdout and stderr go to files.
package final class ChildProcess {
    package let pid: pid_t
    package let stdoutPath: String
    package let stderrPath: String
    private(set) var result: ChildResult?

    package init(executable: String, arguments: [String], environment: [String: String], stdoutPath: String, stderrPath: String) throws {
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default dispositions and nothing blocked, whatever the test
        // runner did with its own signals (the SIGTERM test depends on it).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, signal) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw TestSetupError("posix_spawn \(executable): \(String(cString: strerror(status)))") }
        pid = child
    }

    deinit {
        if result == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    package var stdout: String { Files.read(stdoutPath) ?? "" }
    package var stderr: String { Files.read(stderrPath) ?? "" }

    package func send(_ signal: Int32) { kill(pid, signal) }

    /// Reaps the child if it has ended.
    package func poll() -> ChildResult? {
        if let result { return result }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        guard reaped == pid else { return nil }
        finish(status, timedOut: false)
        return result
    }

    /// Waits for the child, killing it after `timeout` seconds (the result says so).
    @discardableResult
    package func wait(timeout: Double = 30) -> ChildResult {
        let deadline = Clock.monotonic() + timeout
        while true {
            if let result = poll() { return result }
            if Clock.monotonic() >= deadline {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                finish(status, timedOut: true)
                return result!
            }
            usleep(2000)
        }
    }

    private func finish(_ status: Int32, timedOut: Bool) {
        let signal = status & 0x7f
        result = ChildResult(exitCode: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
                               stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Waits until the child's stdout contains `text` (or it ends, or time runs out).
    package func waitForOutput(_ text: String, timeout: Double = 20) -> Bool {
        let deadline = Clock.monotonic() + timeout
        while Clock.monotonic() < deadline {
            if stdout.contains(text) { return true }
            if poll() != nil { return stdout.contains(text) }
            usleep(5000)
        }
        return false
    }
}
