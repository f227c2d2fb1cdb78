// Runs a program with an argv (never a shell string), captures its output, enforces a
// timeout. Every external command of the engine goes through here: its environment is
// scrubbed of secrets and it dies with the engine.

import CSystem

/// What a finished program left behind.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var output: [UInt8]
    public var errorOutput: [UInt8]
    public var timedOut: Bool

    public var succeeded: Bool { status == 0 && !timedOut }
    public var outputText: String { String(decoding: output, as: UTF8.self) }
    public var errorText: String { String(decoding: errorOutput, as: UTF8.self) }

    /// The most useful few lines for an error message: stderr, else stdout.
    public var diagnostic: String {
        let text = (errorOutput.isEmpty ? outputText : errorText).trimmed
        let lines = text.split(separator: "\n").suffix(8)
        return lines.joined(separator: "\n")
    }
}

public struct ProcessFailure: Error, CustomStringConvertible {
    public var argv: [String]
    public var result: ProcessResult?
    public var problem: String

    public var description: String {
        let command = argv.first.map(PathName.base) ?? "command"
        if let result, result.timedOut { return "\(command) timed out: \(problem)" }
        if let result {
            let detail = result.diagnostic
            return "\(command) exited with status \(result.status)" + (detail.isEmpty ? "" : ": " + detail)
        }
        return "\(command): \(problem)"
    }

    package init(argv: [String], result: ProcessResult? = nil, problem: String) {
        self.argv = argv
        self.result = result
        self.problem = problem
    }
}

public enum ProcessRunner {
    /// A week: longer is a slip (every timeout a runbook gives is checked against the same).
    public static let maximumTimeout: Double = 7 * 24 * 3600

    /// Runs `argv` and waits. `input` is written to its stdin; `environment` entries are
    /// added to (or replace) the engine's own environment.
    public static func run(_ argv: [String], input: [UInt8] = [], environment: [String: String] = [:],
                           timeout: Double? = nil) throws -> ProcessResult
    {
        // A program may change any directory the walk keeps open (RootedWalk.swift).
        RootedPaths.treeMayHaveChanged()
        guard let program = argv.first, !program.isEmpty else {
            throw ProcessFailure(argv: argv, result: nil, problem: "empty argv")
        }
        if let position = ChildEnvironment.argumentHoldingASecret(argv) {
            throw ProcessFailure(argv: [program], result: nil, problem: "argument \(position) of the command line holds a secret, which "
                + "every user could read in the process table; write it to a file (fs.write with secret = true) and pass its path")
        }
        if let timeout, !(timeout.isFinite && timeout >= 0 && timeout <= maximumTimeout) {
            // The Lua modules refuse such a timeout first; this is the last guard before the
            // conversion to poll's milliseconds, which would trap.
            throw ProcessFailure(argv: argv, result: nil, problem: "timeout \(timeout) is not between 0 and \(Int(maximumTimeout)) seconds")
        }
        guard let executable = resolve(program) else {
            throw ProcessFailure(argv: argv, result: nil, problem: "not found in PATH")
        }
        let child = try spawn(argv, executable: executable, environment: environment)
        let pid = child.pid
        // Feed stdin (small inputs: configs, SQL), then collect both outputs.
        if !input.isEmpty { _ = try? Posix.writeAll(child.input, input, path: "stdin") }
        close(child.input)
        var result = ProcessResult(status: -1, output: [], errorOutput: [], timedOut: false)
        let deadline = timeout.map { Clock.monotonic() + $0 }
        var open: [Int32] = [child.output, child.errors]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var polls = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            var wait: Int32 = -1
            if let deadline {
                let remaining = deadline - Clock.monotonic()
                if remaining <= 0 {
                    result.timedOut = true
                    kill(-pid, SIGKILL)
                    break
                }
                wait = Int32(min(remaining * 1000, 1000))
            }
            let ready = Blocking.wait { poll(&polls, nfds_t(polls.count), wait) }
            if ready < 0 && errno != EINTR { break }
            for poll in polls where poll.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(poll.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if poll.fd == child.output { result.output.append(contentsOf: buffer[0..<count]) }
                    else { result.errorOutput.append(contentsOf: buffer[0..<count]) }
                } else if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == poll.fd }
                }
            }
        }
        close(child.output)
        close(child.errors)
        result.status = waitForExit(pid)
        return result
    }

    /// Waits for the child `pid` and returns its exit status, or 128 + the signal that
    /// killed it (as a shell says it).
    package static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, spelled out (the macros are not imported).
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// A started child: its pid and this side's ends of its stdin, stdout and stderr.
    package struct Spawned {
        package let pid: pid_t
        package let input: Int32
        package let output: Int32
        package let errors: Int32
    }

    /// Starts `executable` with `argv` and a scrubbed environment plus `environment`, its
    /// three standard descriptors on pipes. Through the C helper, not posix_spawn: the child
    /// must die with the engine (SIGKILL included), or an rsync could still be writing while
    /// the undo removes its tree.
    package static func spawn(_ argv: [String], executable: String, environment: [String: String] = [:]) throws -> Spawned {
        var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
        // Close-on-exec from the start: a program another thread starts at the same moment
        // must not inherit this one's pipe ends (it would hold its stdin open forever). The
        // child's own three are made plain by dup2 in rb_spawn_child.
        guard rb_pipe_cloexec(&stdinPipe) == 0, rb_pipe_cloexec(&stdoutPipe) == 0, rb_pipe_cloexec(&stderrPipe) == 0 else {
            throw ProcessFailure(argv: argv, result: nil, problem: "cannot create pipes")
        }
        var env = ChildEnvironment.scrubbed(currentEnvironment())
        for (key, value) in environment { env[key] = value }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        let parentEnds = [stdinPipe[1], stdoutPipe[0], stderrPipe[0], stdinPipe[0], stdoutPipe[1], stderrPipe[1]]
        var spawnError: Int32 = 0
        let pid = withCStrings(argv) { argvPointers in
            withCStrings(envStrings) { envPointers in
                rb_spawn_child(executable, argvPointers, envPointers, stdinPipe[0], stdoutPipe[1], stderrPipe[1],
                               parentEnds, Int32(parentEnds.count), &spawnError)
            }
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard pid > 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0]); close(stderrPipe[0])
            throw ProcessFailure(argv: argv, result: nil, problem: String(cString: strerror(spawnError)))
        }
        return Spawned(pid: pid, input: stdinPipe[1], output: stdoutPipe[0], errors: stderrPipe[0])
    }

    /// Starts `argv` and does not wait for it: a shell puts it in the background and exits,
    /// so the program outlives this process's thread (and is reaped by init). Its output goes
    /// nowhere. For what only needs sending, not an answer (arping waits a second for one).
    public static func startDetached(_ argv: [String]) throws {
        try check(["sh", "-c", "\"$@\" </dev/null >/dev/null 2>&1 &", "sh"] + argv, timeout: 10)
    }

    /// Runs and throws unless the program exited 0.
    @discardableResult
    public static func check(_ argv: [String], input: [UInt8] = [], environment: [String: String] = [:],
                             timeout: Double? = nil) throws -> ProcessResult
    {
        let result = try run(argv, input: input, environment: environment, timeout: timeout)
        guard result.succeeded else { throw ProcessFailure(argv: argv, result: result, problem: "failed") }
        return result
    }

    /// The executable for a program name: a path as is, else searched in PATH (and the
    /// sbin directories, which a non-login PATH often lacks).
    public static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = (Posix.environment("PATH") ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin:/usr/local/sbin:/usr/local/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    package static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    package static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
