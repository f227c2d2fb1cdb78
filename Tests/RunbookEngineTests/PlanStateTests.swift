// The dry-run's plan state for databases (RunbookCore/DatabasePlan.swift): what a dry-run
// planned of databases, users and update files is what later reads in the same dry-run see,
// so the plan takes the branches the real run takes — and a dry-run fails where the real run
// fails, without the engine or the runbook asking whether it is a dry-run.

import RunbookEngine
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Dry-run plan state", .serialized)
struct PlanStateTests {
    private static func describe(_ result: RunResult) -> String {
        "status=\(result.status) error=\(result.error ?? "-")\n"
            + result.effects.map { "\($0.sign.rawValue) \($0.kind) \($0.summary)" }.joined(separator: "\n")
    }

    @Test("a dry-run sees the database and user it planned, and the drops it planned, as the real run does")
    func plannedDatabasesAndUsersAreSeen() throws {
        let world = try AdminWorld()
        let database = world.names.name("seen")
        try world.addRunbook("twice", world.runbookText("""
                assert(db.create_database("test", args.db) == true)
                -- The second sees the first (planned or real): exists_ok turns it into "already so".
                assert(db.create_database("test", args.db, { exists_ok = true }) == false)
                db.create_user("test", args.db, { database = args.db })
                assert(db.drop_user("test", args.db) == true)
                assert(db.drop_user("test", args.db) == false, "the user is gone")
                assert(db.drop_database("test", args.db) == true)
                assert(db.drop_database("test", args.db) == false, "the database is gone")
            """))
        let plan = world.run("twice", ["--db", database], dryRun: true)
        #expect(plan.status == .done, "\(Self.describe(plan))")
        #expect(try !world.names.databaseExists(database) && !world.names.userExists(database), "a dry-run creates nothing")
        let real = world.run("twice", ["--db", database])
        #expect(real.status == .done, "\(Self.describe(real))")
        #expect(real.effects.map(\.kind) == plan.effects.map(\.kind), "\(Self.describe(plan))\n--\n\(Self.describe(real))")
        #expect(real.effects.map(\.kind) == ["db.create_database", "db.create_user", "db.drop_user", "db.drop_database"])
    }

    @Test("db.apply_updates into a missing database fails in a dry-run as in the real run, naming it")
    func missingDatabaseFailsTheDryRun() throws {
        let world = try AdminWorld()
        let database = world.names.name("missing")
        try Files.mkdir(world.tree + "/updates")
        try Files.write(world.tree + "/updates/0001_a.sql", "CREATE TABLE a (id INT);\n")
        try world.addRunbook("apply", world.runbookText("""
                db.apply_updates("test", args.db, args.dir .. "/updates")
            """, params: "db = { type = \"string\", required = true }, dir = { type = \"path\", required = true }"))
        for dryRun in [true, false] {
            let result = world.run("apply", ["--db", database, "--dir", world.tree], dryRun: dryRun)
            #expect(result.status == .failed, "dry-run \(dryRun): \(Self.describe(result))")
            #expect(result.error?.contains("database \(database) does not exist on test") == true, "\(result.error ?? "")")
            #expect(result.effects.isEmpty)
        }
    }

    @Test("after db.exec SQL the plan cannot see into, a dry-run plans every update file into a missing database")
    func opaqueSQLLetsTheDryRunGoOn() throws {
        let world = try AdminWorld()
        let database = world.names.name("opaque")
        try Files.mkdir(world.tree + "/updates")
        try Files.write(world.tree + "/updates/0001_a.sql", "CREATE TABLE a (id INT);\n")
        try Files.write(world.tree + "/updates/0002_b.sql", "CREATE TABLE b (id INT);\n")
        try world.addRunbook("exec_then_apply", world.runbookText("""
                db.exec("test", "CREATE DATABASE " .. db.quote_name(args.db))
                db.exec("test", "CREATE TABLE " .. db.quote_name(args.db) .. ".database_updates (id INT AUTO_INCREMENT PRIMARY KEY, filename VARCHAR(255) NOT NULL, applied_at DATETIME NOT NULL)")
                db.apply_updates("test", args.db, args.dir .. "/updates")
            """, params: "db = { type = \"string\", required = true }, dir = { type = \"path\", required = true }"))
        let plan = world.run("exec_then_apply", ["--db", database, "--dir", world.tree], dryRun: true)
        #expect(plan.status == .done, "\(Self.describe(plan))")
        #expect(plan.effects.filter { $0.kind == "db.apply_update" }.count == 2, "\(Self.describe(plan))")
        #expect(try !world.names.databaseExists(database))
        let real = world.run("exec_then_apply", ["--db", database, "--dir", world.tree])
        #expect(real.status == .done, "\(Self.describe(real))")
        #expect(real.effects.map(\.kind) == plan.effects.map(\.kind))
        #expect(try world.names.tables(database) == ["a", "b", "database_updates"])
    }
}
