// What a program the engine starts sees of the engine's environment: everything but the
// secrets. A secret given as RUNBOOK_ARG_TOKEN, or any variable that holds a value the run
// knows to be secret (a database password, a generated one), would otherwise be inherited
// by nginx -t, rsync, ssh and every cmd.run child, and readable in /proc/PID/environ.

package enum ChildEnvironment {
    /// Runbook arguments given through the environment: secrets by design, for the engine only.
    package static let argumentPrefix = "RUNBOOK_ARG_"

    /// Secret values known in this process (fed by every Redactor). Guarded by `mutex`:
    /// a remote or queue run may start programs from more than one thread.
    nonisolated(unsafe) private static var secrets: Set<String> = []
    nonisolated(unsafe) private static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    /// Remembers a secret value: no child sees a variable that contains it.
    package static func withhold(_ secret: String) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        secrets.insert(secret)
    }

    /// `environment` without RUNBOOK_ARG_* and without any variable holding a known secret.
    package static func scrubbed(_ environment: [String: String]) -> [String: String] {
        pthread_mutex_lock(mutex)
        let known = secrets
        pthread_mutex_unlock(mutex)
        return environment.filter { name, value in
            !name.hasPrefix(argumentPrefix) && !known.contains { value.contains($0) }
        }
    }

    /// What is wrong with `argv` about to run on `host` (another host, whose agent does not
    /// know this run's secrets): one of its arguments holds a secret; nil when none does.
    package static func secretOnCommandLine(_ argv: [String], host: String) -> String? {
        argumentHoldingASecret(argv).map { position in
            "argument \(position) of the command line holds a secret, which every user of \(host) could read in its process table; "
                + "write it to a file there and pass its path"
        }
    }

    /// The position (1-based) of the first argument that holds a known secret: a command
    /// line is readable by every user in /proc/PID/cmdline and `ps`, so it is refused.
    package static func argumentHoldingASecret(_ argv: [String]) -> Int? {
        pthread_mutex_lock(mutex)
        let known = secrets
        pthread_mutex_unlock(mutex)
        guard !known.isEmpty else { return nil }
        return argv.firstIndex { argument in known.contains { argument.contains($0) } }.map { $0 + 1 }
    }
}
