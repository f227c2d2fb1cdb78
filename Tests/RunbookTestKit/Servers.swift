// Servers a test starts on 127.0.0.1: any process, and an sshd with throwaway keys — its
// own, or the one sshd every test of the process shares.

import RunbookEngine
import RunbookSupport
import Testing

/// A server process the test started; killed at the end.
package final class TestServer: @unchecked Sendable {
    package let pid: pid_t
    /// `stdin`: a descriptor the server reads as its standard input (else it inherits ours).
    package init(_ argv: [String], stdin: Int32? = nil) throws {
        var child: pid_t = 0
        let pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        // Default signal handling and nothing blocked, whatever the test runner did with its
        // own (a shell that inherits a blocked SIGCHLD never sees its child end).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults)
        sigemptyset(&empty)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let status = posix_spawn(&child, argv[0], &actions, &attributes, pointers, environ)
        guard status == 0 else { throw TestSetupError("cannot start \(argv[0]): \(String(cString: strerror(status)))") }
        pid = child
    }
    deinit {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// An sshd on 127.0.0.1 with a throwaway host key and client key, for tests of the ssh
/// transport. Stopped when released (`shared` lives as long as the test process).
package final class LocalSSHServer: @unchecked Sendable {
    package let port: Int
    package let clientKey: String
    private let server: TestServer

    package convenience init(in directory: String, port: Int) throws {
        try self.init(in: directory, port: port) { try TestServer($0) }
    }

    /// `start` starts sshd from its argv.
    private init(in directory: String, port: Int, start: ([String]) throws -> TestServer) throws {
        guard let sshd = ProcessRunner.resolve("sshd"), let keygen = ProcessRunner.resolve("ssh-keygen") else {
            throw TestSetupError("openssh-server is not installed (scripts/setup installs it)")
        }
        try Files.mkdir(directory, mode: 0o700)
        try system([keygen, "-q", "-t", "ed25519", "-N", "", "-f", directory + "/host_key"])
        try system([keygen, "-q", "-t", "ed25519", "-N", "", "-f", directory + "/client_key"])
        try Files.write(directory + "/authorized_keys", Files.read(directory + "/client_key.pub") ?? "", mode: 0o600)
        try Files.write(directory + "/sshd_config", """
            ListenAddress 127.0.0.1
            Port \(port)
            HostKey \(directory)/host_key
            AuthorizedKeysFile \(directory)/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            StrictModes no
            PidFile \(directory)/sshd.pid
            UsePAM no
            """)
        if Posix.lstatInfo("/run/sshd") == nil { try Files.mkdir("/run/sshd") }
        server = try start([sshd, "-D", "-e", "-f", directory + "/sshd_config"])
        self.port = port
        clientKey = directory + "/client_key"
        guard waitForPort(port) else { throw TestSetupError("sshd did not start on 127.0.0.1:\(port)") }
    }
}

extension LocalSSHServer {
    /// The sshd every test of this process shares: started by the first test that asks, on a
    /// port the kernel chose, with its keys in a private temporary folder. The tests only
    /// need a working ssh transport, and sshd's start-up (two keys, a listener) is then paid
    /// once. It goes when the process does, however it ends: it runs under a shell that
    /// waits on a pipe only this process holds open, then stops sshd and removes the folder.
    package static func shared() throws -> LocalSSHServer { try sharedServer.get() }

    private static let sharedServer = Result { try LocalSSHServer(sharedIn: try privateFolder()) }

    private static func privateFolder() throws -> String {
        var template = Array("/tmp/rbtest-sshd.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestSetupError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    private convenience init(sharedIn directory: String) throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw TestSetupError("pipe: \(String(cString: strerror(errno)))") }
        // Neither end may leak into the programs the tests start (they would keep sshd up).
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // The write end stays open (and unused) until the process exits.
        try self.init(in: directory + "/ssh", port: try unusedPort()) { sshd in
            let watch = "\(shellQuoted(sshd[0])) \(sshd.dropFirst().map(shellQuoted).joined(separator: " ")) & "
                + "read _; kill $!; wait; rm -rf \(shellQuoted(directory))"
            return try TestServer(["/bin/sh", "-c", watch], stdin: ends[0])
        }
        close(ends[0])
    }
}
