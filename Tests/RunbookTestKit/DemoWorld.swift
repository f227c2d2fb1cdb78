// A world built by scripts/demo-world (its own MariaDB, Subversion repository, checkouts
// and nginx on 127.0.0.1), and the engine run against its config.

import Foundation
import MySQLClient
import Testing
import RunbookEngine

/// A world built by scripts/demo-world in `directory`; stopped when this goes away.
package final class DemoWorld {
    package let box: Sandbox
    package let directory: String
    private(set) var env: [String: String] = [:]
    private var counter = 0

    package init(_ box: Sandbox) {
        self.box = box
        directory = box.base + "/world"
    }

    deinit { _ = try? script(["stop", directory]) }

    /// Runs scripts/demo-world ARGS.
    @discardableResult
    package func script(_ arguments: [String], timeout: Double = 120) throws -> ChildResult {
        counter += 1
        let child = try ChildProcess(executable: DemoWorldScript.path, arguments: arguments, environment: box.environment([:]),
                                     stdoutPath: box.base + "/out/world-\(counter).stdout",
                                     stderrPath: box.base + "/out/world-\(counter).stderr")
        let result = child.wait(timeout: timeout)
        if result.timedOut { throw TestSetupError("scripts/demo-world \(arguments.joined(separator: " ")) timed out\n\(result)") }
        return result
    }

    /// Reads DIR/world.env (KEY='value' lines).
    package func readEnv() throws {
        let text = try #require(Files.read(directory + "/world.env"), "world.env is written")
        env = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            env[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
    }

    package func value(_ key: String) throws -> String { try #require(env[key], "world.env has \(key)") }

    /// `runbook --config DIR/config.toml ARGS...` (and the test's own runbooks folder).
    package func runbook(_ arguments: [String]) throws -> ChildResult {
        counter += 1
        let child = try ChildProcess(executable: try RunbookBinary.require(),
                                     arguments: ["--config", directory + "/config.toml", "--runbooks", box.runbooks] + scripted(arguments),
                                     environment: box.environment([:]), stdoutPath: box.base + "/out/rb-\(counter).stdout",
                                     stderrPath: box.base + "/out/rb-\(counter).stderr")
        return child.wait(timeout: 60)
    }
}

extension DemoWorld {
    /// `runbook --config DIR/config.toml ARGS...` with extra environment variables.
    package func runbook(_ arguments: [String], environment extra: [String: String]) throws -> ChildResult {
        let output = box.base + "/out/add-codebase-\(UInt32.random(in: 0...UInt32.max))"
        let child = try ChildProcess(executable: try RunbookBinary.require(),
                                     arguments: ["--config", directory + "/config.toml", "--runbooks", box.runbooks] + scripted(arguments),
                                     environment: box.environment(extra), stdoutPath: output + ".stdout", stderrPath: output + ".stderr")
        return child.wait(timeout: 60)
    }

    /// The auto-increment counters of the internal database: a dry-run must not even
    /// advance them.
    package func counters(_ db: Connection) throws -> [String] {
        try db.query("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'internal' ORDER BY 1")
            .rows.map { $0.values.map(DemoWorld.text).joined(separator: "=") }
    }

    /// `svn info --show-item ITEM PATH`.
    package func svnInfo(_ item: String, _ path: String) throws -> String {
        try system(["svn", "info", "--show-item", item, "--non-interactive", path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
