// Servers a test starts on 127.0.0.1: any process, and an sshd with throwaway keys.

import Testing
import RunbookEngine

/// A server process the test started; killed at the end.
package final class TestServer {
    package let pid: pid_t
    package init(_ argv: [String]) throws {
        var child: pid_t = 0
        let pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        let status = posix_spawn(&child, argv[0], nil, nil, pointers, environ)
        guard status == 0 else { throw TestSetupError("cannot start \(argv[0]): \(String(cString: strerror(status)))") }
        pid = child
    }
    deinit {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// transport. Stopped when released.
package final class LocalSSHServer {
    package let port: Int
    package let clientKey: String
    private let server: TestServer

    package init(in directory: String, port: Int) throws {
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
        server = try TestServer([sshd, "-D", "-e", "-f", directory + "/sshd_config"])
        self.port = port
        clientKey = directory + "/client_key"
        guard waitForPort(port) else { throw TestSetupError("sshd did not start on 127.0.0.1:\(port)") }
    }
}
