// Running the real binary on a pseudo-terminal, for what only happens on a terminal (the
// confirmation question, the progress bar). script(1) from util-linux gives the child a
// pty for stdin and stdout and passes our input through; it exits with the child's status.

import Testing
@testable import RunbookEngine

extension Sandbox {
    /// Runs `runbook <engine options> ARGS...` with a terminal, typing `input` into it.
    /// stdout holds everything the terminal showed (with the echoed input).
    func runbookOnTerminal(_ arguments: [String], input: String = "", environment extra: [String: String] = [:],
                           timeout: Double = 60) throws -> ProcessResult
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
}

func shellQuoted(_ word: String) -> String { "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
