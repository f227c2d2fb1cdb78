// Running the real binary on a pseudo-terminal, for what only happens on a terminal (the
// confirmation question, the progress bar). script(1) from util-linux gives the child a
// pty for stdin and stdout and passes our input through; it exits with the child's status.

import RunbookSupport
import Testing
import RunbookEngine

extension Sandbox {
    /// Runs `runbook <engine options> ARGS...` with a terminal, typing `input` into it.
    /// stdout holds everything the terminal showed (with the echoed input).
    package func runbookOnTerminal(_ arguments: [String], input: String = "", environment extra: [String: String] = [:],
                           timeout: Double = 60) throws -> ChildResult
    {
        let command = ([try RunbookBinary.require()] + engineOptions + arguments).map(shellQuoted).joined(separator: " ")
        let shell = "printf %s \(shellQuoted(input)) | script -qfec \(shellQuoted(command)) /dev/null"
        let name = base + "/out/tty-\(UInt32.random(in: 0...UInt32.max))"
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", shell], environment: environment(extra),
                                     stdoutPath: name + ".stdout", stderrPath: name + ".stderr")
        let result = child.wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("runbook on a terminal timed out after \(timeout) s\n\(result)") }
        return result
    }

    /// Runs `runbook <engine options> ARGS...` with a terminal and answers its question
    /// the way a person does: once `[y/N]` is on the screen, `whileAsked` runs (the
    /// prompt waits meanwhile), then `answer` is typed. The input goes through a FIFO,
    /// written only when the question is there. `stdoutTo`: runbook's stdout goes
    /// through a pipe into this file (`runbook run ... | cat > FILE`), not to the terminal.
    package func runbookOnTerminal(_ arguments: [String], answer: String, environment extra: [String: String] = [:],
                           stdoutTo file: String? = nil, timeout: Double = 60,
                           whileAsked: () throws -> Void) throws -> ChildResult
    {
        let name = base + "/out/tty-\(UInt32.random(in: 0...UInt32.max))"
        guard mkfifo(name + ".in", 0o600) == 0 else { throw TestSetupError("mkfifo \(name).in failed") }
        var command = ([try RunbookBinary.require()] + engineOptions + arguments).map(shellQuoted).joined(separator: " ")
        if let file { command += " | cat > " + shellQuoted(file) }
        let shell = "exec script -qfec \(shellQuoted(command)) /dev/null < \(shellQuoted(name + ".in"))"
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", shell], environment: environment(extra),
                                     stdoutPath: name + ".stdout", stderrPath: name + ".stderr")
        let deadline = Clock.monotonic() + timeout
        // Opened without blocking once the shell has opened its end (ENXIO until then).
        var input: Int32 = -1
        while input < 0 {
            input = open(name + ".in", O_WRONLY | O_NONBLOCK)
            if input < 0 {
                if Clock.monotonic() > deadline { throw TestSetupError("the terminal never read its input\n\(child.wait(timeout: 1))") }
                usleep(10_000)
            }
        }
        defer { close(input) }
        while !(Files.read(name + ".stdout") ?? "").contains("[y/N]") {
            if Clock.monotonic() > deadline { throw TestSetupError("no question within \(timeout) s\n\(child.wait(timeout: 1))") }
            usleep(20_000)
        }
        try whileAsked()
        let typed = Array((answer + "\n").utf8)
        guard write(input, typed, typed.count) == typed.count else { throw TestSetupError("cannot type the answer") }
        close(input)
        input = -1
        let result = child.wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("runbook on a terminal timed out after \(timeout) s\n\(result)") }
        return result
    }
}

extension ChildResult {
    /// What a terminal showed, as lines (a terminal ends them with CR LF).
    package var terminalLines: [String] {
        // Without the CRs first: "\r\n" is one Character in Swift, which "\n" does not split.
        String(String.UnicodeScalarView(stdout.unicodeScalars.filter { $0 != "\r" }))
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}

