// Runs a document's examples for real, in order, and compares every command's output with
// the output the document shows (docs/authoring.md, README.md's author section):
//
//   ```toml file=~/runbook.toml   written to the walkthrough's home, with the test
//                                  server's socket, user and database put in
//   ```lua file=runbooks/x.lua     written (relative to the home)
//   ```sql                         run on the test database
//   ```console                     `$ command` lines run by bash in the home, stdout and
//                                  stderr together; the lines after each are its output
//
// Other blocks are prose. Outputs are compared after normalising what differs between
// runs: run ids (the document's ids are mapped to the real ones, also in later commands),
// durations, clock times, user@host, and the home directory (shown as /home/author). In
// the document's output a line `...` stands for any number of lines, and a line ending in
// `...` for any line that starts with what comes before it.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

struct DocWalkthrough {
    struct Block {
        var info: String
        var lines: [String]
        var line: Int
    }

    /// The fenced blocks of `text`, or of its section under `## heading` only.
    static func blocks(_ text: String, section: String? = nil) -> [Block] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var offset = 0
        if let section {
            guard let start = lines.firstIndex(of: "## " + section) else { return [] }
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
            offset = start
            lines = Array(lines[start..<end])
        }
        var blocks: [Block] = []
        var current: Block?
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("```") {
                if let block = current {
                    blocks.append(block)
                    current = nil
                } else {
                    current = Block(info: String(line.dropFirst(3)), lines: [], line: offset + index + 1)
                }
            } else if current != nil {
                current?.lines.append(line)
            }
        }
        return blocks
    }

    let home: String
    let database: TestDatabase
    let binaryDirectory: String
    /// The document's run ids -> the real ones.
    var runIDs: [String: String] = [:]
    /// Where the commands run (the home unless a document says otherwise: README's
    /// operator section runs in the project's checkout).
    var workingDirectory: String?
    /// Paths the document names (`/tmp/five`) -> where the walk puts them; outputs are
    /// shown with the document's.
    var aliases: [(shown: String, real: String)] = []
    /// Text of the real output shown otherwise (the project's runbooks, which the
    /// document's reader has in their checkout as `runbooks/`).
    var outputAliases: [(shown: String, real: String)] = []

    init(home: String, database: TestDatabase) throws {
        self.home = home
        self.database = database
        binaryDirectory = PathName.parent(try RunbookBinary.require())
        // The `mariadb` client lines read the test server from ~/.my.cnf.
        try Files.write(home + "/.my.cnf", "[client]\nsocket=\(database.socket)\nuser=root\ndatabase=\(database.name)\n")
    }

    /// What the document's reader has set: `runbook` on the PATH, the state directory, and
    /// the configuration once the document has written one.
    var environment: [String: String] {
        var environment = ["PATH": binaryDirectory + ":" + (Posix.environment("PATH") ?? "/usr/bin:/bin"), "HOME": home,
                           "LANG": "C.UTF-8", "NO_COLOR": "1", "RUNBOOK_STATE_DIR": home + "/runbook-state"]
        if Files.exists(home + "/runbook.toml") { environment["RUNBOOK_CONFIG"] = home + "/runbook.toml" }
        return environment
    }

    func path(_ name: String) -> String { name.hasPrefix("~/") ? home + name.dropFirst(1) : home + "/" + name }

    /// Runs every block; records an issue for each output that differs, naming the document line.
    mutating func walk(_ blocks: [Block], document: String) throws {
        for block in blocks {
            let words = block.info.split(separator: " ").map(String.init)
            let file = words.first { $0.hasPrefix("file=") }.map { String($0.dropFirst(5)) }
            switch (words.first ?? "", file) {
            case ("toml", let file?):
                try Files.write(path(file), serverConfig(block.lines.joined(separator: "\n") + "\n"))
            case (_, let file?):
                try Files.write(path(file), block.lines.joined(separator: "\n") + "\n")
            case ("sql", nil):
                try database.run(block.lines.joined(separator: "\n") + "\n")
            case ("console", nil):
                try runConsole(block, document: document)
            default:
                continue
            }
        }
    }

    /// The document's configuration with the test server put in.
    func serverConfig(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            if line.hasPrefix("socket =") { return "socket = \"\(database.socket)\"" }
            if line.hasPrefix("user =") { return "user = \"root\"" }
            if line.hasPrefix("database =") { return "database = \"\(database.name)\"" }
            if line.hasPrefix("password =") { return nil }
            return String(line)
        }.joined(separator: "\n")
    }

    mutating func runConsole(_ block: Block, document: String) throws {
        var commands: [(line: Int, command: String, output: [String])] = []
        for (index, line) in block.lines.enumerated() {
            if line.hasPrefix("$ ") {
                commands.append((block.line + 1 + index, String(line.dropFirst(2)), []))
            } else if !commands.isEmpty {
                commands[commands.count - 1].output.append(line)
            }
        }
        for (line, command, output) in commands {
            var real = command
            for (shown, actual) in runIDs { real = real.replacingAll(shown, with: actual) }
            for alias in aliases { real = real.replacingAll(alias.shown, with: alias.real) }
            let directory = workingDirectory.map { "cd \(shellQuoted($0))" } ?? "cd \"$HOME\""
            let process = try ChildProcess(executable: "/bin/bash", arguments: ["-c", "exec 2>&1; \(directory) || exit 9; " + real],
                                           environment: environment, stdoutPath: home + "/.walk.out", stderrPath: home + "/.walk.err")
            let result = process.wait(timeout: 60)
            var actual = result.stdout
            for alias in aliases + outputAliases { actual = actual.replacingAll(alias.real, with: alias.shown) }
            actual = actual.replacingAll(home, with: "/home/author")
            var expected = output.joined(separator: "\n")
            while expected.hasSuffix("\n") { expected.removeLast() }
            while actual.hasSuffix("\n") { actual.removeLast() }
            // Learn the ids in the order they appear, then show the real output with the document's ids.
            let shownIDs = DocWalkthrough.runIDs(in: expected)
            let actualIDs = DocWalkthrough.runIDs(in: actual)
            for (shown, real) in zip(shownIDs, actualIDs) where runIDs[shown] == nil { runIDs[shown] = real }
            for (shown, real) in runIDs { actual = actual.replacingAll(real, with: shown) }
            let normalizedActual = DocWalkthrough.normalize(actual)
            let normalizedExpected = DocWalkthrough.normalize(expected)
            #expect(DocWalkthrough.matches(normalizedActual, normalizedExpected), """
                \(document):\(line): `\(command)` printed something else than the document shows.
                --- the document
                \(expected)
                --- the real output
                \(actual)
                """)
        }
    }

    /// Run ids (`20261202-152441-2d9bd5`), each once, in order of appearance.
    static func runIDs(in text: String) -> [String] {
        var ids: [String] = []
        for match in text.matches(of: try! Regex("[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")) {
            let id = String(text[match.range])
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// True when `actual` is what `expected` shows, with its `...` lines standing for any
    /// number of lines and a line ending in `...` for any line starting with the rest.
    static func matches(_ actual: String, _ expected: String) -> Bool {
        let have = actual.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func match(_ i: Int, _ j: Int) -> Bool {
            if j == want.count { return i == have.count }
            let pattern = want[j]
            if pattern.trimmingPrefix(while: { $0 == " " }) == "..." {
                return (i...have.count).contains { match($0, j + 1) }
            }
            guard i < have.count else { return false }
            if pattern.hasSuffix("...") {
                return have[i].hasPrefix(String(pattern.dropLast(3))) && match(i + 1, j + 1)
            }
            return have[i] == pattern && match(i + 1, j + 1)
        }
        return match(0, 0)
    }

    static func normalize(_ text: String) -> String {
        var text = text
        let rules: [(String, String)] = [
            ("[0-9]+\\.[0-9]+ s\\b", "0.00 s"),
            ("[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}", "00:00:00.000"),
            ("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?", "DATE"),
            ("by [^ @]+@[^ ]+", "by USER@HOST"),
            // Who holds a lock, and who undid a run.
            ("\\(pid [0-9]+, [^ ,@]+@[^ ,]+, since", "(pid 0, USER@HOST, since"),
            ("undo started by [^ ]+ \\(pid [0-9]+\\)", "undo started by USER (pid 0)"),
            // A column of `runbook history`.
            ("  [A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+ *  ", "  USER@HOST  "),
            ("  BY +ARGUMENTS", "  BY  ARGUMENTS"),
            // The same in --json events.
            ("\"user\":\"[^\"]*\",\"host\":\"[^\"]*\",\"pid\":[0-9]+", "\"user\":\"USER\",\"host\":\"HOST\",\"pid\":0"),
            ("\"duration\":[0-9.e-]+", "\"duration\":0"),
        ]
        for (pattern, replacement) in rules {
            text = text.replacing(try! Regex(pattern), with: replacement)
        }
        return text
    }
}
