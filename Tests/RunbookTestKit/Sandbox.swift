// A sandbox per test: a temporary tree, state dir, runbooks dir and config, optionally
// a database of its own, and the real binary run against them.

import RunbookEngine
import RunbookSupport
import Testing

/// One test's world: a temporary directory with the tree the runbooks change, a state
/// dir, a runbooks dir and a config file; optionally its own database. Removed (and the
/// database dropped) when the test ends.
package final class Sandbox {
    package let base: String
    package let database: TestDatabase?
    private var outputCounter = 0

    package var tree: String { base + "/tree" }
    package var state: String { base + "/state" }
    package var runbooks: String { base + "/runbooks" }
    package var config: String { base + "/config.toml" }
    package var runsDirectory: String { state + "/runs" }

    package convenience init(database withDatabase: Bool = false) throws {
        var template = Array("/tmp/rbtest.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestSetupError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        try self.init(at: String(cString: made), database: withDatabase)
    }

    /// A sandbox whose runbooks folder holds one runbook, NAME.lua with `source`.
    package convenience init(database withDatabase: Bool = false, runbook name: String, _ source: String) throws {
        try self.init(database: withDatabase)
        try addRunbook(name, source)
    }

    /// A sandbox in the empty directory `base` (a fixed path a fixture's journals name).
    package init(at base: String, database withDatabase: Bool = false) throws {
        self.base = base
        do {
            database = withDatabase ? try TestDatabase() : nil
            try Files.mkdir(tree)
            try Files.mkdir(runbooks)
            try Files.mkdir(base + "/out")
            var toml = "# written by the engine tests\n"
            if let database {
                toml += "[databases.test]\nsocket = \"\(database.socket)\"\nuser = \"root\"\ndatabase = \"\(database.name)\"\n"
            }
            try Files.write(config, toml)
        } catch {
            try? Posix.removeTree(base)
            throw error
        }
    }

    deinit { try? Posix.removeTree(base) }

    package var db: TestDatabase {
        get throws {
            guard let database else { throw TestSetupError("this sandbox has no database") }
            return database
        }
    }

    package func addRunbook(_ name: String, _ source: String) throws { try Files.write(runbooks + "/\(name).lua", source) }

    /// The engine options every invocation gets: nothing comes from the host's config.
    package var engineOptions: [String] { ["--config", config, "--state-dir", state, "--runbooks", runbooks] }

    package func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ["PATH": Posix.environment("PATH") ?? "/usr/bin:/bin", "HOME": base, "LANG": "C.UTF-8", "NO_COLOR": "1"]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Starts `runbook <engine options> ARGS...` without waiting (a real run with --yes: `scripted`).
    package func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ChildProcess {
        try startAsTyped(scripted(arguments), environment: extra)
    }

    /// Starts `runbook <engine options> ARGS...` exactly as given (a real run without
    /// --yes is refused off a terminal).
    package func startAsTyped(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ChildProcess {
        outputCounter += 1
        let prefix = base + "/out/\(outputCounter)"
        return try ChildProcess(executable: try RunbookBinary.require(), arguments: engineOptions + arguments,
                                environment: environment(extra), stdoutPath: prefix + ".stdout", stderrPath: prefix + ".stderr")
    }

    /// Runs `runbook <engine options> ARGS...` and waits for it.
    @discardableResult
    package func runbook(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 30) throws -> ChildResult {
        let child = try start(arguments, environment: extra)
        let result = child.wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("runbook \(arguments.joined(separator: " ")) timed out after \(timeout) s\n\(result)") }
        return result
    }

    /// The run folders in the state dir.
    package func runIDs() -> [String] { ((try? Posix.list(runsDirectory)) ?? []).sorted() }

    /// `runbook history --json`, one object per run.
    package func history() throws -> [JSON] {
        let result = try runbook(["history", "--json", "--limit", "1000"])
        guard result.exitCode == 0 else { throw TestSetupError("runbook history failed\n\(result)") }
        return result.stdoutLines.compactMap { try? JSON.parse($0) }
    }

    package func status(of runID: String) throws -> String? {
        try history().first { $0["id"]?.stringValue == runID }?["status"]?.stringValue
    }
}

extension Sandbox {
    package func appendConfig(_ text: String) throws { try Files.write(config, (Files.read(config) ?? "") + text) }
}

extension Sandbox {
    /// A config whose databases all point at a socket nobody listens on: the runbooks under
    /// test must start and work without them.
    package func writeConfigWithTheDatabaseDown(root: String? = nil, settings: String = "") throws {
        let dead = base + "/no-such-dir/mysqld.sock"
        var toml = "# the databases are down\n"
        if let root { toml += "root = \"\(root)\"\n" }
        toml += settings.isEmpty ? "" : "\n[settings]\n\(settings)\n"
        for (name, database) in [("internal", "internal"), ("master", "divinity"), ("installs", "")] {
            toml += "\n[databases.\(name)]\nsocket = \"\(dead)\"\nuser = \"runbook\"\n"
            if !database.isEmpty { toml += "database = \"\(database)\"\n" }
        }
        try Files.write(config, toml)
    }
}
