// How another host is reached: the system's OpenSSH client in batch mode with connection
// reuse. No daemon of our own.

import RunbookConfig

public enum SSHCommand {
    /// The ssh argv up to (not including) the remote command.
    public static func base(_ host: HostConfig) -> [String] {
        var argv = ["ssh", "-o", "BatchMode=yes", "-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/runbook-ssh-%C",
                    "-o", "ControlPersist=60", "-o", "ConnectTimeout=10"]
        if let port = host.port { argv += ["-p", String(port)] }
        if let identity = host.identityFile { argv += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        for option in host.sshOptions { argv += ["-o", option] }
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
