// Acceptance 7: secrets never reach a log. A runbook takes a secret from RUNBOOK_ARG_<NAME>
// and another from --NAME-file, writes one into a file, logs it, uses it as a DB value and
// fails with it in the message; neither value appears on stdout/stderr (human or --json),
// in the run's journal folder, run.json, `runbook history` or `runbook log`. A secret on
// the command line is refused with exit 2.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Secrets")
struct SecretTests {
    // Long enough that a display that cuts values (40 characters) would show a prefix.
    static let token = "tok-7f3a9c2e51b84d6f-a0e4c9d2b7f15e38-6c1d0a9f"
    static let password = "pw-Zq8!x#Lm2$vR9^tY4&nB7"

    static let runbook = """
        return runbook {
          summary = "Uses secrets everywhere a careless runbook might",
          params = {
            dir = { type = "path", required = true },
            token = { type = "string", secret = true, required = true, doc = "API token" },
            db_password = { type = "string", secret = true, required = true },
          },
          on_failure = "keep",
          run = function(args)
            step("Store the credentials", function()
              fs.write(args.dir .. "/token.txt", args.token .. "\\n", { mode = "0600" })
              fs.write(args.dir .. "/db.conf", "password = " .. args.db_password .. "\\n", { mode = "0600", secret = true })
              log.info("the token is " .. args.token)
              log.warn("the password is", args.db_password)
              print(args.token, args.db_password)
              db.insert("test", "credentials", { name = "api", secret = args.token })
              db.insert("test", "credentials", { name = "db", secret = args.db_password })
              db.update("test", "credentials", { secret = args.token .. "-v2" }, { name = "api" })
              db.exec("test", "UPDATE credentials SET secret = ? WHERE name = ?", { args.db_password, "db" })
            end)
            step("Fail loudly", function()
              error("cannot log in with " .. args.token .. " / " .. args.db_password)
            end)
          end,
        }
        """

    static let schema = """
        CREATE TABLE credentials (
          id INT AUTO_INCREMENT PRIMARY KEY,
          name VARCHAR(32) NOT NULL,
          secret VARCHAR(255) NOT NULL
        );
        """

    /// Pieces of a secret long enough to be recognisable (a cut value still leaks).
    static func fragments(_ secret: String) -> [String] {
        let characters = Array(secret)
        let width = 12
        return stride(from: 0, through: characters.count - width, by: 1).map { String(characters[$0..<($0 + width)]) }
    }

    /// Where in `text` any secret (or a 12-character piece of one) shows up.
    static func leaks(in text: String) -> [String] {
        [token, password].flatMap { secret in fragments(secret).filter { text.contains($0) } }
    }

    @Test("secret arguments never reach the console, the journal, history or the log")
    func secretsAreMaskedEverywhere() throws {
        let sandbox = try Sandbox(database: true)
        try sandbox.db.run(SecretTests.schema)
        try sandbox.addRunbook("secrets", SecretTests.runbook)
        let passwordFile = sandbox.base + "/db-password"
        try Files.write(passwordFile, SecretTests.password + "\n", mode: 0o600)
        let environment = ["RUNBOOK_ARG_TOKEN": SecretTests.token]

        var outputs: [(String, String)] = []
        var runIDs: [String] = []
        for mode in [[], ["--json"]] {
            let result = try sandbox.runbook(["run", "secrets", "--dir", sandbox.tree, "--db-password-file", passwordFile] + mode,
                                             environment: environment)
            #expect(result.exitCode == 1, "the run fails on purpose\n\(result)")
            // The secrets really were used (the checks below are not vacuous).
            #expect(Files.read(sandbox.tree + "/token.txt") == SecretTests.token + "\n")
            #expect(Files.read(sandbox.tree + "/db.conf") == "password = \(SecretTests.password)\n")
            let stored = try sandbox.db.query("SELECT name, secret FROM credentials ORDER BY id").map { $0[1].string ?? "" }
            #expect(stored.contains(SecretTests.token + "-v2") && stored.contains(SecretTests.password), "\(stored)")
            #expect(result.stdout.contains("***"), "masked values are shown as ***\n\(result)")
            outputs.append(("run \(mode) stdout", result.stdout))
            outputs.append(("run \(mode) stderr", result.stderr))
            if let id = result.runID { runIDs.append(id) }
            try Posix.removeTree(sandbox.tree + "/token.txt")
            try Posix.removeTree(sandbox.tree + "/db.conf")
            try sandbox.db.run("DELETE FROM credentials;\n")
        }
        #expect(runIDs.count == 2)

        for id in runIDs {
            for command in [["log", id], ["log", id, "--json"], ["undo", id, "--dry-run"]] {
                let result = try sandbox.runbook(command)
                #expect(result.exitCode == 0, "\(result)")
                outputs.append((command.joined(separator: " ") + " stdout", result.stdout))
                outputs.append((command.joined(separator: " ") + " stderr", result.stderr))
            }
            // Everything in the run's folder: run.json, the journal, any backups.
            for file in Files.allFiles(sandbox.runsDirectory + "/" + id) {
                outputs.append((file, Files.read(file) ?? ""))
            }
        }
        for command in [["history"], ["history", "--json"]] {
            let result = try sandbox.runbook(command)
            outputs.append((command.joined(separator: " "), result.stdout + result.stderr))
        }
        let journal = Files.read(sandbox.runsDirectory + "/\(runIDs.first ?? "")/journal.jsonl") ?? ""
        #expect(journal.contains("\"t\":\"log\""), "the journal holds the log lines (masked)")

        for (place, text) in outputs {
            let found = SecretTests.leaks(in: text)
            #expect(found.isEmpty, "a secret leaked into \(place): \(found.prefix(3))\n\(text)")
        }
    }

    @Test("a secret given on the command line is refused, and not echoed", arguments: [["--token", token], ["--token=" + token]])
    func secretOnCommandLineIsRefused(_ words: [String]) throws {
        let sandbox = try Sandbox(runbook: "secrets", SecretTests.runbook)
        let result = try sandbox.runbook(["run", "secrets", "--dir", sandbox.tree] + words,
                                         environment: ["RUNBOOK_ARG_DB_PASSWORD": SecretTests.password])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("--token"), "\(result)")
        #expect(result.stderr.contains("RUNBOOK_ARG_TOKEN"), "it says how to pass it instead\n\(result)")
        #expect(SecretTests.leaks(in: result.stdout + result.stderr).isEmpty, "\(result)")
        #expect(sandbox.runIDs().isEmpty)
        #expect(try Posix.list(sandbox.tree).isEmpty)
    }

    static let rotateRunbook = """
        return runbook {
          summary = "Rotates the database password",
          params = {
            dir = { type = "path", required = true },
            old_password = { type = "string", secret = true, required = true },
            new_password = { type = "string", secret = true, required = true },
          },
          on_failure = "OUTCOME",
          run = function(args)
            step("Rotate", function()
              local row = db.query_one("test", "SELECT secret FROM credentials WHERE name = ?", { "db" })
              if row.secret ~= args.old_password then error("the old password is not the current one") end
              db.update("test", "credentials", { secret = args.new_password }, { name = "db" })
              fs.write(args.dir .. "/db.conf", "password = " .. args.new_password .. "\\n", { mode = "0600", secret = true })
            end)
            step("Verify", function() error("the new password does not work") end)
          end,
        }
        """

    /// Undo never writes a masked value ("***") back: an undo whose data holds a secret is
    /// not journaled (it is reported as impossible instead), and the in-process undo of
    /// on_failure = "undo" still restores the real old value.
    @Test("undo never writes a masked secret back", arguments: ["keep", "undo"])
    func undoNeverWritesMaskedSecrets(onFailure: String) throws {
        let sandbox = try Sandbox(database: true)
        try sandbox.db.run(SecretTests.schema)
        let old = "old-" + SecretTests.password, new = "new-" + SecretTests.token
        try sandbox.db.connection.execute("INSERT INTO credentials (name, secret) VALUES ('db', ?)", [.string(old)])
        try Files.write(sandbox.tree + "/db.conf", "password = \(old)\n", mode: 0o600)
        try sandbox.addRunbook("rotate", SecretTests.rotateRunbook.replacingAll("OUTCOME", with: onFailure))
        func rotate() throws -> ChildResult {
            let run = try sandbox.runbook(["run", "rotate", "--dir", sandbox.tree],
                                          environment: ["RUNBOOK_ARG_OLD_PASSWORD": old, "RUNBOOK_ARG_NEW_PASSWORD": new])
            #expect(run.exitCode == 1, "\(run)")
            return run
        }
        var outputs: [String] = []
        var id = ""
        if onFailure == "undo" {
            let run = try expectUnchanged(sandbox, "after on_failure = undo") { try rotate() }
            outputs.append(run.stdout + run.stderr)
            id = try #require(run.runID)
        } else {
            // The file is restored from its backup; the row whose undo holds a secret stays.
            let undone = try expectUndoRestores(sandbox, "after runbook undo", ignoring: ["table credentials"]) {
                let run = try rotate()
                outputs.append(run.stdout + run.stderr)
                id = try #require(run.runID)
                return id
            }
            let undo = try #require(undone)
            outputs.append(undo.stdout + undo.stderr)
            let secret = try sandbox.db.query("SELECT secret FROM credentials WHERE name = 'db'").first?[0].string
            #expect(secret != "***", "undo wrote the masked value back into the row\n\(undo)")
            #expect(secret == new, "the update whose undo holds a secret is left as it is\n\(undo)")
            #expect(undo.stdout.contains("cannot be undone"), "undo says which change it could not reverse\n\(undo)")
        }
        for file in Files.allFiles(sandbox.runsDirectory + "/" + id) where !file.contains("/backups/") {
            outputs.append(Files.read(file) ?? "")
        }
        for text in outputs {
            #expect(!text.contains(old) && !text.contains(new), "a secret leaked:\n\(text)")
        }
    }
}
