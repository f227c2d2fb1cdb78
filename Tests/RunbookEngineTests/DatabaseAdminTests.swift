// Database administration against the private MariaDB (scripts/test-db): databases and
// users created and undone, a generated password that works and never reaches a log, SQL
// updates ("mut") applied in order and recorded, a broken update named by file:line, and
// dry-runs that change nothing. Runs go through Engine in-process (and the real binary where
// the console output itself is under test).

@testable import RunbookEngine
import MySQLClient
import RunbookConfig
@testable import RunbookCore
import RunbookEngine
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

private func describe(_ result: RunResult) -> String {
    "status=\(result.status) error=\(result.error ?? "-")\n" + result.effects.map { "\($0.sign.rawValue) \($0.kind) \($0.summary)" }.joined(separator: "\n")
}

// MARK: - Databases and users

@Suite("Database administration", .serialized)
struct DatabaseAdminTests {
    @Test("create_database and create_user are undone: after runbook undo both are gone")
    func createAndUndo() throws {
        let world = try AdminWorld()
        let database = world.names.name("shop_1")
        try world.addRunbook("create", world.runbookText("""
            step("Database and user", function()
              assert(db.create_database("test", args.db) == true)
              local pw = db.create_user("test", args.db, { database = args.db })
              fs.write("\(world.tree)/password", pw, { secret = true })
            end)
        """))
        let result = world.run("create", ["--db", database])
        #expect(result.status == .done, "\(describe(result))")
        #expect(result.effects.map(\.kind) == ["db.create_database", "db.create_user", "fs.write"])
        #expect(result.effects.prefix(2).allSatisfy { $0.sign == .create })
        #expect(try world.names.databaseExists(database))
        #expect(try world.names.userExists(database))
        // The grant is on that one database, with _ escaped so it is not a wildcard.
        let grants = try world.names.admin.query("SHOW GRANTS FOR '\(database)'@'localhost'").rows.compactMap { $0[0].string }
        #expect(grants.contains { $0.contains("ALL PRIVILEGES ON `\(database.replacingAll("_", with: "\\_"))`.*") }, "\(grants)")

        // The password works, and the user can work in its database.
        let password = try #require(Files.read(world.tree + "/password"))
        #expect(password.utf8.count >= 24 && password.utf8.allSatisfy { PasswordGenerator.alphabet.contains($0) }, "\(password.count) characters")
        let user = try Connection(ConnectionOptions(socket: world.names.socket, user: database, password: DBPassword(password), database: database))
        try user.executeText("CREATE TABLE t (id INT)")
        user.close()
        #expect(!world.stateBytes().contains(password), "the generated password is in the run's state files")

        let id = try #require(result.runID)
        let undo = world.undo(id)
        #expect(undo.status == .done, "\(undo.error ?? "")")
        #expect(try !world.names.databaseExists(database), "undo drops the database the run created (with what was put in it)")
        #expect(try !world.names.userExists(database), "undo drops the user the run created")
    }

    @Test("create_database refuses an existing database and changes nothing; exists_ok accepts it and undo keeps it")
    func existingDatabase() throws {
        let world = try AdminWorld()
        let database = world.names.name("taken")
        try world.names.createDatabase(database)
        try world.addRunbook("create", world.runbookText("""
            step("Database", function() db.create_database("test", args.db) end)
        """))
        let refused = world.run("create", ["--db", database])
        #expect(refused.status == .failed)
        #expect(refused.error?.contains("database \(database) already exists on test; nothing was changed") == true, "\(describe(refused))")
        #expect(refused.effects.isEmpty)

        try world.addRunbook("adopt", world.runbookText("""
            step("Database", function() assert(db.create_database("test", args.db, { exists_ok = true }) == false) end)
        """))
        let adopted = world.run("adopt", ["--db", database])
        #expect(adopted.status == .done, "\(describe(adopted))")
        #expect(adopted.effects.isEmpty)
        _ = world.undo(try #require(adopted.runID))
        #expect(try world.names.databaseExists(database), "a database the run did not create is never dropped by its undo")
        #expect(try world.names.tables(database) == ["database_updates", "vars"])
    }

    @Test("drop_database and drop_user are irreversible (!), and undo says so and leaves them dropped")
    func dropIsIrreversible() throws {
        let world = try AdminWorld()
        let database = world.names.name("old")
        try world.names.createDatabase(database)
        try world.names.admin.executeText("CREATE USER '\(database)'@'localhost' IDENTIFIED BY 'an-old-password'")
        try world.addRunbook("drop", world.runbookText("""
            step("Drop", function()
              assert(db.drop_user("test", args.db) == true)
              assert(db.drop_database("test", args.db) == true)
              assert(db.drop_database("test", args.db) == false, "dropping it again is no change")
              assert(db.drop_user("test", args.db, { host = "localhost" }) == false)
            end)
        """))
        let plan = world.run("drop", ["--db", database], dryRun: true)
        #expect(plan.status == .done, "\(describe(plan))")
        #expect(plan.effects.map(\.sign) == [.irreversible, .irreversible])
        #expect(plan.effects.last?.summary == "drop database \(database) on test (2 tables)")
        #expect(try world.names.databaseExists(database) && world.names.userExists(database), "the dry-run dropped something")

        let result = world.run("drop", ["--db", database])
        #expect(result.status == .done, "\(describe(result))")
        #expect(result.effects.map(\.kind) == ["db.drop_user", "db.drop_database"])
        #expect(try !world.names.databaseExists(database))
        #expect(try !world.names.userExists(database))
        let undo = world.undo(try #require(result.runID))
        #expect(undo.status == .done)
        #expect(try !world.names.databaseExists(database) && !world.names.userExists(database))
        #expect(world.stateBytes().contains("undo_skipped"), "undo reports the drops as impossible to undo")
    }

    @Test("bad names are refused before anything is touched")
    func badNames() throws {
        let world = try AdminWorld()
        try world.addRunbook("bad", world.runbookText("""
            step("Bad", function() db.create_database("test", args.db) end)
        """))
        for name in ["shop;DROP DATABASE mysql", "shop`x", "", String(repeating: "a", count: 65), "a b"] {
            let result = world.run("bad", ["--db", name])
            #expect(result.status != .done && result.effects.isEmpty, "'\(name)' was accepted")
            if result.status == .failed { #expect(result.error?.contains("invalid database name") == true, "\(describe(result))") }
        }
        try world.addRunbook("badpriv", world.runbookText("""
            step("Bad", function() db.create_user("test", args.db, { database = args.db, privileges = "ALL; DROP USER root" }) end)
        """))
        let result = world.run("badpriv", ["--db", world.names.name("u")])
        #expect(result.error?.contains("invalid privileges") == true, "\(describe(result))")
        #expect(try !world.names.userExists(world.names.name("u")))
        try world.addRunbook("system", world.runbookText("""
            step("System", function() db.drop_database("test", "mysql") end)
        """))
        #expect(world.run("system", ["--db", "x"]).error?.contains("refuses to drop the system schema mysql") == true)
    }

    @Test("a given password with quotes and backslashes works, and is masked everywhere")
    func givenPassword() throws {
        let world = try AdminWorld()
        let user = world.names.name("given")
        let database = world.names.name("givendb")
        try world.names.createDatabase(database, schema: nil)
        // Lua source: "Gi'ven\\pass\"word-42" is  Gi'ven\pass"word-42
        let password = "Gi'ven\\pass\"word-42"
        try world.addRunbook("given", world.runbookText("""
            step("User", function()
              local pw = db.create_user("test", "\(user)", { database = args.db, password = "Gi'ven\\\\pass\\"word-42", privileges = "select, insert" })
              log.info("the password is " .. pw)
            end)
        """))
        let result = world.run("given", ["--db", database])
        #expect(result.status == .done, "\(describe(result))")
        #expect(result.effects.first?.identity["password"]?.stringValue == "given")
        let connection = try Connection(ConnectionOptions(socket: world.names.socket, user: user, password: DBPassword(password), database: database))
        connection.close()
        let state = world.stateBytes()
        #expect(!state.contains("Gi'ven"), "the given password reached the run's state files")
        #expect(state.contains("the password is ***"), "the log line is there, masked")
        let grants = try world.names.admin.query("SHOW GRANTS FOR '\(user)'@'localhost'").rows.compactMap { $0[0].string }
        #expect(grants.contains { $0.hasPrefix("GRANT SELECT, INSERT ON") }, "\(grants)")
    }

    @Test("a failed CREATE USER error carries neither the statement's password nor its text")
    func createUserErrorIsScrubbed() throws {
        let names = try AdminNames()
        let user = names.name("dup")
        try names.admin.executeText("CREATE USER '\(user)'@'localhost'")
        let redactor = Redactor()
        let config = DatabaseConfig(name: "test", socket: names.socket, host: nil, port: 3306, user: "root", password: nil,
                                    database: nil, connectTimeout: 10, readTimeout: 30)
        let world = World(paths: try RootedPaths(root: "/"), backups: BackupStore(directory: "/nonexistent"),
                          databases: DatabaseConnections(configs: ["test": config], redactor: redactor))
        let secret = "Sup3rSecretValue'x"
        let effect = CreateUser(connection: "test", user: user, host: "localhost", database: "anything", privileges: "SELECT",
                                password: SecretText(value: secret), generated: false)
        #expect(String(describing: effect).contains(secret) == false, "the effect prints its password")
        do {
            _ = try effect.apply(world)
            Issue.record("CREATE USER of an existing user succeeded")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("MySQL error 1396"), "\(text)")
            #expect(!text.contains("Sup3rSecret"), "\(text)")
            #expect(text.contains("IDENTIFIED BY PASSWORD '***'"), "\(text)")
        }
    }

    // MARK: The generated password and the console

    @Test("a generated password reaches no byte of the console, journal or run.json (human and --json)")
    func passwordNeverLogged() throws {
        let sandbox = try Sandbox(database: true)
        let names = try AdminNames()
        for (index, mode) in [[], ["--json"]].enumerated() {
            let user = names.name("console\(index)")
            try sandbox.addRunbook("secret", """
                return runbook {
                  summary = "creates a user and writes its password into a config",
                  params = { dir = { type = "path", required = true } },
                  run = function(args)
                    step("User", function()
                      local pw = db.create_user("test", "\(user)", { database = "\(user)" })
                      log.info("created with " .. pw)
                      fs.write(args.dir .. "/config.php", "<?php $db_pass = '" .. pw .. "';\\n", { secret = true, mode = "0600" })
                      error("fail after the password was made: " .. pw)
                    end)
                  end,
                }
                """)
            let result = try sandbox.runbook(["run", "secret", "--dir", sandbox.tree] + mode)
            #expect(result.exitCode == 1, "\(result)")
            let config = try #require(Files.read(sandbox.tree + "/config.php"), "\(result)")
            let password = String(config.split(separator: "'")[1])
            #expect(password.count == 32)
            _ = try Connection(ConnectionOptions(socket: names.socket, user: user, password: DBPassword(password)))
            #expect(!result.stdout.contains(password) && !result.stderr.contains(password), "the password is on the console\n\(result)")
            #expect((result.stdout + result.stderr).contains("fail after the password was made: ***"), "\(result)")
            for file in Files.allFiles(sandbox.state) {
                #expect(!(Files.read(file) ?? "").contains(password), "the password is in \(file)")
            }
        }
    }
}

// MARK: - SQL updates

extension DatabaseAdminTests {
    @Suite("SQL updates")
    struct Updates {
        static let updates: [(String, String)] = [
            ("0001_sites.sql", """
                -- sites of the install; a ';' in a comment
                CREATE TABLE sites (
                  id INT PRIMARY KEY,
                  hostname VARCHAR(255) NOT NULL  # the first hostname
                );
                INSERT INTO sites VALUES (1, 'a;b.example.com'), (2, "it's.example.com");
                """),
            ("0002_procedure.sql", """
                /* a procedure needs another delimiter */
                DELIMITER $$
                CREATE PROCEDURE set_var(IN n VARCHAR(64), IN v TEXT)
                BEGIN
                  INSERT INTO vars (name, value) VALUES (n, v) ON DUPLICATE KEY UPDATE value = v;
                END$$
                DELIMITER ;
                CALL set_var('memcache', '127.0.0.1:11211');
                """),
            ("0010_after_nine.sql", "UPDATE `vars` SET value = CONCAT(value, ';checked') WHERE name = 'memcache'"),
        ]

        static func writeUpdates(_ directory: String, _ files: [(String, String)] = updates) throws {
            try Files.mkdir(directory)
            for (name, text) in files { try Files.write(directory + "/" + name, text) }
            try Files.write(directory + "/README", "not an update")
        }

        /// An admin world with the update files, the apply runbook and a database named after
        /// `name` (with the test schema unless `schema` is nil).
        static func updatesWorld(_ name: String, schema: String? = AdminNames.schema) throws -> (world: AdminWorld, database: String) {
            let world = try AdminWorld()
            let database = world.names.name(name)
            try world.names.createDatabase(database, schema: schema)
            try writeUpdates(world.tree + "/updates")
            try world.addRunbook("apply", applyRunbook)
            return (world, database)
        }

        static let applyRunbook = """
            return runbook {
              summary = "apply the updates",
              params = { db = { type = "string", required = true }, dir = { type = "path", required = true } },
              run = function(args)
                step("Apply the SQL updates", function()
                  local applied = db.apply_updates("test", args.db, args.dir .. "/updates", { plugin_id = 7, revision = "r1234" })
                  fs.write(args.dir .. "/applied-" .. context.run_id, table.concat(applied, ",") .. "\\n")
                end)
              end,
            }
            """

        @Test("updates apply in file-name order and are recorded; a second run applies nothing")
        func applyInOrder() throws {
            let (world, database) = try Self.updatesWorld("mut")

            let result = world.run("apply", ["--db", database, "--dir", world.tree])
            #expect(result.status == .done, "\(describe(result))")
            let applied = result.effects.filter { $0.kind == "db.apply_update" }
            #expect(applied.map { $0.identity["filename"]?.stringValue } == ["0001_sites.sql", "0002_procedure.sql", "0010_after_nine.sql"])
            #expect(applied.allSatisfy { $0.sign == .irreversible })
            #expect(applied.first?.summary == "apply update \(world.tree)/updates/0001_sites.sql to \(database) on test (2 statements)")

            let rows = try world.names.admin.query(
                "SELECT filename, plugin_id, revision, applied_at IS NOT NULL FROM `\(database)`.database_updates ORDER BY id").rows
            #expect(rows.map { $0[0].string } == ["0001_sites.sql", "0002_procedure.sql", "0010_after_nine.sql"])
            #expect(rows.allSatisfy { $0[1].int64 == 7 && $0[2].string == "r1234" && $0[3].int64 == 1 })
            let sites = try world.names.admin.query("SELECT hostname FROM `\(database)`.sites ORDER BY id").rows.compactMap { $0[0].string }
            #expect(sites == ["a;b.example.com", "it's.example.com"])
            let memcache = try world.names.admin.query("SELECT value FROM `\(database)`.vars WHERE name = 'memcache'").first?[0].string
            #expect(memcache == "127.0.0.1:11211;checked", "0010 ran after 0002")

            let again = world.run("apply", ["--db", database, "--dir", world.tree])
            #expect(again.status == .done, "\(describe(again))")
            #expect(again.effects.filter { $0.kind == "db.apply_update" }.isEmpty, "\(describe(again))")
            #expect(Files.read(world.tree + "/applied-" + (again.runID ?? "")) == "\n")
            #expect(try world.names.admin.query("SELECT COUNT(*) FROM `\(database)`.database_updates").first?[0].int64 == 3)

            // New files are picked up on their own; another plugin's records do not count.
            try Files.write(world.tree + "/updates/0011_more.sql", "INSERT INTO vars (name, value) VALUES ('sphinx', 'on');")
            try Files.write(world.tree + "/updates/0012_other.sql", "INSERT INTO vars (name, value) VALUES ('other', 'on');")
            try world.names.admin.executeText(
                "INSERT INTO `\(database)`.database_updates (filename, plugin_id, applied_at) VALUES ('0012_other.sql', 8, NOW())")
            let third = world.run("apply", ["--db", database, "--dir", world.tree])
            #expect(third.effects.filter { $0.kind == "db.apply_update" }.map { $0.identity["filename"]?.stringValue }
                    == ["0011_more.sql", "0012_other.sql"], "\(describe(third))")
        }

        @Test("a broken update fails naming file:line, the MySQL error number and message; later files are not applied")
        func brokenUpdate() throws {
            let world = try AdminWorld()
            let database = world.names.name("broken")
            try world.names.createDatabase(database)
            try Self.writeUpdates(world.tree + "/updates", [
                Self.updates[0],
                ("0003_add_vars.sql", """
                    -- adds vars

                    INSERT INTO vars (name, value)
                      VALUES ('a', 'b');
                    /* the broken one */
                    UPDATE varz
                       SET value = 'x';
                    """),
                ("0004_never.sql", "INSERT INTO vars (name, value) VALUES ('never', 'x');"),
            ])
            try world.addRunbook("apply", Self.applyRunbook)
            let result = world.run("apply", ["--db", database, "--dir", world.tree])
            #expect(result.status == .failed)
            let expected = "updates/0003_add_vars.sql:6: MySQL error 1146 (42S02): Table '\(database).varz' doesn't exist"
            #expect(result.error?.contains(expected) == true, "\(describe(result))")
            #expect(result.error?.contains("apply.lua:") == true, "the runbook's own file:line comes first")
            #expect(result.error?.contains("doesn't exist [in: UPDATE varz SET value = 'x']") == true,
                    "the failing statement follows, on one line\n\(describe(result))")
            let rows = try world.names.admin.query("SELECT filename FROM `\(database)`.database_updates ORDER BY id").rows.compactMap { $0[0].string }
            #expect(rows == ["0001_sites.sql"], "only the file that applied is recorded")
            #expect(try world.names.admin.query("SELECT COUNT(*) FROM `\(database)`.vars WHERE name = 'never'").first?[0].int64 == 0)
            // The journal says which effect failed, and why.
            #expect(world.stateBytes().contains("\"effect_failed\""))
        }

        @Test("a file that cannot be split stops the run before any file is applied")
        func unsplittableFile() throws {
            let world = try AdminWorld()
            let database = world.names.name("split")
            try world.names.createDatabase(database)
            try Self.writeUpdates(world.tree + "/updates", [Self.updates[0], ("0002_bad.sql", "SELECT 1;\nINSERT INTO vars VALUES ('x', 'unterminated);\n")])
            try world.addRunbook("apply", Self.applyRunbook)
            let result = world.run("apply", ["--db", database, "--dir", world.tree])
            #expect(result.error?.contains("updates/0002_bad.sql:2: the 'string' starting here is not closed") == true, "\(describe(result))")
            #expect(result.effects.isEmpty)
            #expect(try world.names.tables(database) == ["database_updates", "vars"])
        }

        @Test("without a database_updates table the run fails naming the database and the table")
        func missingTable() throws {
            let (world, database) = try Self.updatesWorld("bare", schema: nil)
            for dryRun in [true, false] {
                let result = world.run("apply", ["--db", database, "--dir", world.tree], dryRun: dryRun)
                #expect(result.error?.contains("database \(database) on test has no table database_updates") == true, "\(describe(result))")
                #expect(try world.names.tables(database).isEmpty)
            }
        }

        @Test("a dry-run changes nothing and lists the files it would apply")
        func dryRunListsFiles() throws {
            let (world, database) = try Self.updatesWorld("plan")
            try world.names.admin.executeText("INSERT INTO `\(database)`.database_updates (filename, plugin_id, applied_at) VALUES ('0001_sites.sql', 7, NOW())")
            let before = try world.names.tables(database)
            let result = world.run("apply", ["--db", database, "--dir", world.tree], dryRun: true)
            #expect(result.status == .done, "\(describe(result))")
            #expect(result.effects.filter { $0.kind == "db.apply_update" }.map { $0.identity["filename"]?.stringValue }
                    == ["0002_procedure.sql", "0010_after_nine.sql"], "the recorded file is skipped (reads are real)")
            #expect(try world.names.tables(database) == before)
            #expect(try world.names.admin.query("SELECT COUNT(*) FROM `\(database)`.database_updates").first?[0].int64 == 1)
            #expect(try world.names.admin.query("SELECT COUNT(*) FROM `\(database)`.vars").first?[0].int64 == 0)
        }

        @Test("a dry-run of a whole install plans every file into the database it plans to create, and creates nothing")
        func dryRunOfAnInstall() throws {
            let world = try AdminWorld()
            let database = world.names.name("fresh")
            try Self.writeUpdates(world.tree + "/updates")
            try Files.write(world.tree + "/schema.sql", AdminNames.schema)
            try world.addRunbook("install", """
                return runbook {
                  summary = "a fresh install's database",
                  params = { db = { type = "string", required = true }, dir = { type = "path", required = true } },
                  on_failure = "undo",
                  run = function(args)
                    step("Database and db user/pass", function()
                      db.create_database("test", args.db)
                      db.create_user("test", args.db, { database = args.db })
                    end)
                    step("Mut", function()
                      db.load_sql_file("test", args.db, args.dir .. "/schema.sql")
                      db.apply_updates("test", args.db, args.dir .. "/updates", { plugin_id = 1 })
                      assert(#db.apply_updates("test", args.db, args.dir .. "/updates", { plugin_id = 1 }) == 0,
                             "a dry-run remembers what it planned")
                    end)
                  end,
                }
                """)
            let plan = world.run("install", ["--db", database, "--dir", world.tree], dryRun: true)
            #expect(plan.status == .done, "\(describe(plan))")
            #expect(plan.effects.map(\.kind) == ["db.create_database", "db.create_user", "db.load_sql_file",
                                                "db.apply_update", "db.apply_update", "db.apply_update"], "\(describe(plan))")
            #expect(try !world.names.databaseExists(database) && !world.names.userExists(database))

            // The real run applies what was planned, identity for identity.
            let real = world.run("install", ["--db", database, "--dir", world.tree])
            #expect(real.status == .done, "\(describe(real))")
            #expect(real.effects.map(\.kind) == plan.effects.map(\.kind))
            for (planned, applied) in zip(plan.effects, real.effects) { #expect(planned.identity == applied.identity) }
            #expect(try world.names.tables(database) == ["database_updates", "sites", "vars"])

            // Undo: the updates cannot be undone, the database (and the user) go with the drop.
            let undo = world.undo(try #require(real.runID))
            #expect(undo.status == .done)
            #expect(try !world.names.databaseExists(database) && !world.names.userExists(database))
        }
    }
}

// MARK: - Splitting SQL files

extension DatabaseAdminTests {
    @Suite("SQL script splitting")
    struct Splitting {
        @Test("strings, identifiers and comments hide the delimiter; each statement keeps its line")
        func quotingAndLines() throws {
            let script = """
                -- leading comment; not a statement
                SELECT 'a;b', "c;\\"d", `e;f`, 'it''s';  # trailing; comment
                /* block; comment
                   over lines */
                INSERT INTO t VALUES ('x\\'y;z');

                SELECT 1--1;
                /*!40101 SET NAMES utf8mb4 */;
                SELECT 2 -- no delimiter at the end
                """
            let statements = try SQLScript.split(script)
            #expect(statements.map(\.line) == [2, 5, 7, 8, 9])
            #expect(statements[0].text == "SELECT 'a;b', \"c;\\\"d\", `e;f`, 'it''s'")
            #expect(statements[1].text == "INSERT INTO t VALUES ('x\\'y;z')")
            #expect(statements[2].text == "SELECT 1--1", "--1 is arithmetic, not a comment")
            #expect(statements[3].text == "/*!40101 SET NAMES utf8mb4 */", "executable comments are SQL")
            #expect(statements[4].text == "SELECT 2 -- no delimiter at the end")
        }

        @Test("DELIMITER lines change the delimiter for procedures and back")
        func delimiter() throws {
            let statements = try SQLScript.split("""
                delimiter //
                CREATE PROCEDURE p()
                BEGIN
                  SELECT 1;
                  SELECT ';//';
                END //
                DELIMITER ;
                CALL p();
                """)
            #expect(statements.count == 2)
            #expect(statements[0].line == 2 && statements[0].text.hasSuffix("END"))
            #expect(statements[0].text.contains("SELECT 1;\n"))
            #expect(statements[1] == SQLStatement(text: "CALL p()", line: 8))
        }

        @Test("unterminated strings and comments are errors at the line they start on")
        func unterminated() {
            for (script, line, what) in [("SELECT 1;\n\nSELECT 'abc;\n", 3, "'string'"), ("SELECT `x;", 1, "`identifier`"),
                                         ("SELECT 1;\n/* open", 2, "/* comment")] {
                do {
                    _ = try SQLScript.split(script)
                    Issue.record("\(script) was split")
                } catch let error as SQLScriptError {
                    #expect(error.line == line, "\(error)")
                    #expect(error.problem.contains(what), "\(error)")
                } catch {
                    Issue.record("\(error)")
                }
            }
        }

        @Test("blank and comment-only scripts have no statements")
        func empty() throws {
            #expect(try SQLScript.split("").isEmpty)
            #expect(try SQLScript.split("  -- nothing\n# here\n/* at all */ ;;\n").isEmpty)
        }

        @Test("a user's password travels as its mysql_native_password hash, as MySQL computes it (so no log of the server holds it)")
        func passwordHash() {
            // SHA1(SHA1(password)), upper-case hex after '*': MySQL's PASSWORD('hello').
            #expect(SHA1.mysqlNativePassword("hello") == "*6B4F89A54E2D27ECD7E8DA05B4AB8FD9D1D8B119")
            #expect(SHA1.mysqlNativePassword("") == "*BE1BDEC0AA74B4DCB079943E70528096CCA985F8")
            #expect(SHA1.digest(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined() == "a9993e364706816aba3e25717850c26c9cd0d89d")
        }
    }
}
