// A runbook's arguments as another host's `runbook run --args-stdin` reads them on its
// stdin (`run --on HOST`, `remote.runbook`): its words, and RUNBOOK_ARG_* values (how
// secrets are given) put into that process's environment there. Never a command line: a
// secret among them reaches no process table on either host.

public struct RunArguments {
    package var words: [String]
    package var secrets: [String: String]

    package init(words: [String], secrets: [String: String]) {
        self.words = words
        self.secrets = secrets
    }

    package init?(json: JSON) {
        guard let words = json["words"]?.arrayValue?.compactMap(\.stringValue), case .object(let fields)? = json["environment"]
        else { return nil }
        self.words = words
        secrets = [:]
        for (key, value) in fields where key.hasPrefix(ChildEnvironment.argumentPrefix) { secrets[key] = value.stringValue }
    }

    package var json: JSON {
        .object([("words", .array(words.map { .string($0) })),
                  ("environment", .object(secrets.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])
    }

    /// Into this process's environment, where the engine reads them (the environment a
    /// program starts with, which /proc shows, never held them; children get none).
    package func exportSecrets() {
        for (key, value) in secrets { setenv(key, value, 1) }
    }

    /// This process's RUNBOOK_ARG_* variables.
    package static func fromEnvironment() -> [String: String] {
        ProcessRunner.currentEnvironment().filter { $0.key.hasPrefix(ChildEnvironment.argumentPrefix) }
    }
}
