// A program kept running to talk to: one line out, one line back (the agent on another
// host, behind `ssh`). Started like every child (ProcessRunner.spawn: it dies with the
// engine, its environment scrubbed); what it printed on stderr is kept for the error that
// ends it.


public final class ChildChannel {
    public let argv: [String]
    private let pid: pid_t
    private var input: Int32
    private let output: Int32
    private let errors: Int32
    private var pending: [UInt8] = []
    private var errorText: [UInt8] = []
    private var exited = false

    /// Starts `argv`; fails with one line when it cannot be started.
    public init(_ argv: [String]) throws {
        self.argv = argv
        guard let program = argv.first, let executable = ProcessRunner.resolve(program) else {
            throw ProcessFailure(argv: argv, result: nil, problem: "not found in PATH")
        }
        let child = try ProcessRunner.spawn(argv, executable: executable)
        pid = child.pid
        input = child.input
        output = child.output
        errors = child.errors
        // A peer that went away must not kill the engine with SIGPIPE when it writes.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { finish() }

    /// What the program wrote on stderr so far (ssh's reason for a refused connection).
    public var diagnostic: String {
        drainErrors(wait: 0)
        return String(decoding: errorText, as: UTF8.self).trimmed
    }

    /// Sends one line (a newline is added).
    public func send(_ line: [UInt8]) throws {
        guard input >= 0 else { throw ChannelClosed(reason: "the channel is closed") }
        do {
            try Posix.writeAll(input, line + [10], path: argv[0])
        } catch {
            throw ChannelClosed(reason: diagnosticOr("it stopped reading"))
        }
    }

    /// The next line the program prints, without its newline; waits at most `timeout`
    /// seconds (nil: as long as it takes).
    public func receive(timeout: Double?) throws -> [UInt8] {
        let deadline = timeout.map { Clock.monotonic() + $0 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            var wait: Int32 = -1
            if let deadline {
                let remaining = deadline - Clock.monotonic()
                if remaining <= 0 { throw ChannelClosed(reason: "no answer within \(Int(timeout ?? 0)) s") }
                wait = Int32(min(remaining * 1000, 1000))
            }
            var polls = [pollfd(fd: output, events: Int16(POLLIN), revents: 0), pollfd(fd: errors, events: Int16(POLLIN), revents: 0)]
            let ready = Blocking.wait { poll(&polls, 2, wait) }
            if ready < 0 && errno != EINTR { throw ChannelClosed(reason: "poll: \(String(cString: strerror(errno)))") }
            if polls[1].revents != 0 { drainErrors(wait: 0) }
            guard polls[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count > 0 {
                pending.append(contentsOf: buffer[0..<count])
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                drainErrors(wait: 200)
                throw ChannelClosed(reason: diagnosticOr("the connection ended without a word (the host stopped answering, or the program there died)"))
            }
        }
    }

    /// Closes its stdin (the agent ends when it reads the end) and waits for it.
    public func finish() {
        guard !exited else { return }
        exited = true
        if input >= 0 { Glibc.close(input); input = -1 }
        var status: Int32 = 0
        // A peer that does not end within 5 s after its input closed is stopped.
        let deadline = Clock.monotonic() + 5
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Clock.monotonic() > deadline { kill(-pid, SIGKILL) }
            usleep(2000)
        }
        Glibc.close(output)
        Glibc.close(errors)
    }

    private func diagnosticOr(_ fallback: String) -> String {
        let text = diagnostic
        return text.isEmpty ? fallback : text.split(separator: "\n").suffix(2).joined(separator: "; ")
    }

    private func drainErrors(wait milliseconds: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var poller = [pollfd(fd: errors, events: Int16(POLLIN), revents: 0)]
        while poll(&poller, 1, milliseconds) > 0 {
            let count = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            if errorText.count < 65536 { errorText.append(contentsOf: buffer[0..<count]) }
        }
    }
}

/// The other side of a channel went away or did not answer.
public struct ChannelClosed: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
