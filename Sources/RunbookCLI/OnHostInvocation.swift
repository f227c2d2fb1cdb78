// `runbook run NAME --on HOST ...` and `runbook undo RUN_ID --on HOST`: the same command
// run by runbook on another host of the configuration (`[hosts.HOST]`, its `runbook`
// command) over `ssh -o BatchMode=yes`, its output streamed here as it comes and its exit
// status returned. The run is that host's own (journaled, locked and undone there). The
// runbook's arguments go over ssh's stdin as JSON (`--args-stdin`), never on a command
// line, with the `RUNBOOK_ARG_*` variables of this environment (how secrets are given):
// they reach no process table and no other process's environment on either host.

import RunbookConfig
import RunbookCore
import RunbookSupport

enum OnHostInvocation {
    /// Runs `words` (a `run` or `undo` command line without engine options) on `host` with
    /// `arguments` sent on stdin; the remote exit status.
    static func execute(host name: String, config: EngineConfig, words: [String], arguments: [String]?, json: Bool) throws -> Int32 {
        guard let host = config.hosts[name] else {
            let known = config.hosts.keys.sorted()
            throw RunbookError.usage("--on \(name): not a host of the configuration ("
                + (known.isEmpty ? "add [hosts.\(name)]" : "known: " + known.joined(separator: ", ")) + ")")
        }
        var remote = host.runbookCommand + words
        if arguments != nil { remote.append("--args-stdin") }
        let argv = SSHCommand.argv(host, remote)
        guard let executable = ProcessRunner.resolve(argv[0]) else { throw RunbookError.failed("ssh is not installed") }
        let child = try ProcessRunner.spawn(argv, executable: executable)
        if let arguments {
            let sent = RunArguments(words: arguments, secrets: RunArguments.fromEnvironment())
            try? Posix.writeAll(child.input, Array(sent.json.serialized.utf8), path: "ssh")
        }
        close(child.input)
        if !json { printLine("on \(name): runbook " + words.map(ShellWords.quote).joined(separator: " ")) }
        relay(child.output, to: 1, and: child.errors, to: 2)
        let code = ProcessRunner.waitForExit(child.pid)
        // ssh's own failure (the host unreachable, its key refused) is 255: one line naming the host.
        if code == 255 { throw RunbookError.failed("cannot reach host \(name) (ssh exited 255: see its message above)") }
        return code
    }

    /// Copies both of the child's outputs to ours as they come, until both end.
    private static func relay(_ output: Int32, to out: Int32, and errors: Int32, to err: Int32) {
        var open = [(output, out), (errors, err)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var polls = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            if poll(&polls, nfds_t(polls.count), -1) < 0 { if errno == EINTR { continue } else { break } }
            for (index, entry) in polls.enumerated().reversed() where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    try? Posix.writeAll(open[index].1, Array(buffer[0..<count]), path: "stdout")
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(entry.fd)
                    open.remove(at: index)
                }
            }
        }
    }
}
