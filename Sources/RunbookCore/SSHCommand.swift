// How another host is reached: the system's OpenSSH client in batch mode with connection
// reuse. No daemon of our own.

import RunbookConfig
import RunbookSupport

public enum SSHCommand {
    /// The engine's state directory, set once per process: ssh keeps its shared
    /// connections (ControlPath) in `STATE/ssh` (700), made on the first ssh command. Not
    /// /tmp: a socket there is shared by every runbook on the machine with the same hosts'
    /// names — two labs, two users — and one would talk to the other's server.
    nonisolated(unsafe) package static var stateDirectory: String?
    nonisolated(unsafe) private static var madeControlDirectory: String?

    /// `STATE/ssh`, made now if it is not yet; nil (no connection sharing) without a
    /// state directory or when it cannot be made.
    private static var controlDirectory: String? {
        if let madeControlDirectory { return madeControlDirectory }
        guard let stateDirectory else { return nil }
        let directory = stateDirectory + "/ssh"
        guard (try? Posix.makeDirectories(directory, mode: 0o700)) != nil else { return nil }
        madeControlDirectory = directory
        return directory
    }

    /// The ssh argv up to (not including) the remote command. ssh keeps the first value it
    /// is given for an option, so the host's own `ssh_options` come before the defaults
    /// (BatchMode stays first: never a password prompt).
    public static func base(_ host: HostConfig) -> [String] {
        var argv = ["ssh", "-o", "BatchMode=yes"]
        for option in host.sshOptions { argv += ["-o", option] }
        // A host that stops answering (a cut cable, a frozen machine) is given up after
        // 3 unanswered keepalives, 15 s apart: the run fails instead of waiting for TCP.
        argv += ["-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
        if let controlDirectory {
            argv += ["-o", "ControlMaster=auto", "-o", "ControlPath=\(controlDirectory)/%C", "-o", "ControlPersist=60"]
        }
        if let port = host.port { argv += ["-p", String(port)] }
        if let identity = host.identityFile { argv += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        if let user = host.user { argv += ["-l", user] }
        argv.append(host.address)
        return argv
    }

    /// ssh joins the remote words with spaces for the remote shell: each word is quoted so
    /// the remote side runs exactly this argv.
    public static func argv(_ host: HostConfig, _ remote: [String]) -> [String] {
        base(host) + ["--", remote.map(ShellWords.quote).joined(separator: " ")]
    }

    /// The `-e` value for rsync over ssh (rsync splits it on spaces; options have none).
    public static func rsyncShell(_ host: HostConfig) -> String {
        let argv = base(host).dropLast(host.user == nil ? 1 : 3)
        return argv.joined(separator: " ")
    }
}
