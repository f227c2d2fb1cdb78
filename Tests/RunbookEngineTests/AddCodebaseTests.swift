// runbooks/add-codebase.lua end to end on a demo world (scripts/demo-world: its own MariaDB
// with the seed's three shared code groups at r1, a Subversion repository at r2, the
// checkouts under the world's root). The dry-run changes nothing and plans exactly what the
// run applies; the run checks out the code, adds the shared_code_groups row and a queue record
// that ends done, and stdlib/codebase.lua gives the new group to installs; --own makes a
// limit-1 codebase whose printed settings.pins lines reserve it; an unknown handler is
// refused with nothing touched; undo removes row and checkout; a checkout that breaks half
// way leaves no row and no folder, and the queue record failed with the error.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing


@Suite(.serialized) struct AddCodebaseTests {
    /// A runbook that prints which group stdlib/codebase.lua gives a new paid install on handler 1.
    static let chooser = """
        local codebase = require("codebase")
        return runbook {
          summary = "the codebase a new paid install on handler 1 gets",
          params = { email = { type = "email" } },
          run = function(args)
            local group, why = codebase.choose("internal", { free = false, handler_id = 1, email = args.email })
            print("chosen group " .. group.id .. ": " .. why)
          end,
        }
        """

    @Test func aCodebaseIsPlannedAddedGivenToInstallsAndUndone() throws {
        let world = try DemoWorld.built()
        let box = world.box
        let shared = world.root + "/home/shared_codes"
        let svnURL = try world.value("DEMO_WORLD_SVN_URL")
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] {
            try db.query(sql).rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
        }
        try box.addRunbook("choose-codebase", AddCodebaseTests.chooser)
        func chosen(_ email: String? = nil) throws -> String {
            let result = try world.runbook(["run", "choose-codebase"] + (email.map { ["--email", $0] } ?? []))
            guard result.exitCode == 0 else { throw TestSetupError("choose-codebase failed\n\(result)") }
            return result.stdoutLines.first { $0.contains("chosen group") }?.trimmingCharacters(in: .whitespaces) ?? ""
        }
        let pristine = try world.state(), countersBefore = try world.counters(db)

        // The dry-run: the whole plan with the real ids, nothing changed, not even a counter.
        let plan = try expectUnchanged(world, "the dry-run") { try world.runbook(["run", "add-codebase", "--plan", "paid", "--dry-run"]) }
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("revision 1 (the revision of 2 of the 2 groups for these installs"), "\(plan)")
        #expect(plan.stdout.contains("+ insert into internal.queue: args='{\"dir\":\"/home/shared_codes/code_share...', handler_id=1, id=1, "
                                     + "log='\(plan.runID ?? "?")', runbook='add-codebase', status='running'"), "\(plan)")
        #expect(plan.stdout.contains("+ check out \(svnURL)@1 into /home/shared_codes/code_share_paid_3 (svn)"), "\(plan)")
        // (The plan line cuts long values; planAndRun below compares the whole rows.)
        #expect(plan.stdout.contains("+ insert into internal.shared_code_groups: dir='/home/shared_codes/code_share_paid_3', free=0, "
                                     + "handler_id=1, id=4, limit=50, repository='file://"), "\(plan)")
        #expect(plan.stdout.contains("', revision='1'\n"), "\(plan)")
        #expect(plan.stdout.contains("Plan: 3 to create, 1 to change, 0 to remove, 0 cannot be undone"), "\(plan)")
        #expect(!plan.stdout.contains("known after apply"), "every value is known in the plan\n\(plan)")
        #expect(try world.counters(db) == countersBefore)

        try expectUndosRestore(world, "undo, once no install uses the groups") {
            // The run (after another dry-run, which must plan exactly what it applies).
            let run = try world.planAndRun(["add-codebase", "--plan", "paid"])
            #expect(run.exitCode == 0, "\(run)")
            let runID = try #require(DemoWorld.runID(run))
            #expect(run.events("effect_applied").map { $0["kind"]?.stringValue ?? "?" } == ["db.insert", "vcs.checkout", "db.insert", "db.exec"],
                    "\(run)")
            #expect(try rows("SELECT id, dir, free, revision, `limit`, handler_id, repository FROM internal.shared_code_groups WHERE id > 3")
                    == ["4 '/home/shared_codes/code_share_paid_3' 0 '1' 50 1 '\(svnURL)'"])
            let checkout = shared + "/code_share_paid_3"
            #expect(try world.svnInfo("revision", checkout) == "1", "checked out at the revision of the other paid groups")
            #expect(try world.svnInfo("url", checkout) == svnURL)
            #expect(Files.read(checkout + "/heavymetal/lib/VERSION") == "divinity 4.2.0\n")
            #expect(try rows("SELECT id, runbook, status, handler_id, log, error FROM internal.queue")
                    == ["1 'add-codebase' 'done' 1 '\(runID)' NULL"])
            let queueArguments = try JSON.parse(try #require(try db.query("SELECT args FROM internal.queue").rows.first?[0].string))
            #expect(queueArguments["dir"]?.stringValue == "/home/shared_codes/code_share_paid_3", "\(queueArguments)")
            #expect(queueArguments["plan"]?.stringValue == "paid" && queueArguments["revision"]?.stringValue == "1", "\(queueArguments)")
            // Nothing else changed: the other rows, the other codebases.
            var added = try world.state()
            added.tables["internal.shared_code_groups"]?.removeAll { $0.hasPrefix("id=4 ") }
            added.tables["internal.queue"] = pristine.tables["internal.queue"]
            added.tree.entries = added.tree.entries.filter { !$0.key.hasPrefix("./home/shared_codes/code_share_paid_3") }
            #expect(added == pristine, "\(pristine.differences(from: added).joined(separator: "\n"))")

            // New installs get it: once group 2 serves an install, group 4 has the fewest (group 3
            // is pinned to tea@make-a-store.com in the world's config).
            #expect(try chosen().hasPrefix("chosen group 2:"))
            try db.executeText("""
                INSERT INTO internal.installs (id, email, db_name, db_user, fs_name, home_dir, shared_code_group_id, master_handler_id, free)
                VALUES (1, 'a@example.com', 'shopa', 'shopa', 'shopa', '/usr/home/shopa', 2, 1, 0)
                """)
            #expect(try chosen() == "chosen group 4: the paid group with the fewest installs (0 of 50)")

            // --own: a customer's own codebase, limit 1, here at HEAD (r2); the printed pins
            // lines, added to the configuration, reserve it for that customer.
            let own = try world.planAndRun(["add-codebase", "--plan", "paid", "--own", "shop@example.com", "--revision", "HEAD"])
            #expect(own.exitCode == 0, "\(own)")
            #expect(try rows("SELECT id, dir, free, revision, `limit`, handler_id FROM internal.shared_code_groups WHERE id > 4")
                    == ["5 '/home/shared_codes/code_share_paid_4' 0 '2' 1 1"])
            #expect(try world.svnInfo("revision", shared + "/code_share_paid_4") == "2")
            #expect(Files.read(shared + "/code_share_paid_4/heavymetal/lib/VERSION") == "divinity 4.2.1\n")
            #expect(try rows("SELECT id, status FROM internal.queue ORDER BY id") == ["1 'done'", "2 'done'"])
            let messages = resultLog(own)
            let pins = ["[settings.pins.\"shop@example.com\"]", "group = 5", "handler = 1"]
            let first = try #require(messages.firstIndex(of: pins[0]), "the pins lines are printed\n\(messages.joined(separator: "\n"))")
            #expect(Array(messages[first...].prefix(3)) == pins, "\(messages)")
            #expect(messages.contains { $0.contains("group 5 is not reserved for shop@example.com") }, "\(messages)")
            // The warning is true: until the lines are in the configuration, anybody may get it.
            try db.executeText("""
                INSERT INTO internal.installs (id, email, db_name, db_user, fs_name, home_dir, shared_code_group_id, master_handler_id, free)
                VALUES (2, 'b@example.com', 'shopb', 'shopb', 'shopb', '/usr/home/shopb', 4, 1, 0)
                """)
            #expect(try chosen().hasPrefix("chosen group 5:"))
            let config = world.directory + "/config.toml"
            try Files.write(config, try #require(Files.read(config)) + "\n" + pins.joined(separator: "\n") + "\n")
            #expect(try chosen("shop@example.com") == "chosen group 5: pinned for shop@example.com in settings.pins")
            #expect(try chosen().hasPrefix("chosen group 2:"), "reserved: nobody else gets it")

            // Refused in one line, nothing touched: a handler not in the table (by name, by id),
            // another server's handler, a plan that does not exist.
            let countersNow = try world.counters(db)
            try expectUnchanged(world, "refusals") {
                for handler in ["nope.example.com", "99"] {
                    let refused = try world.runbook(["run", "add-codebase", "--plan", "free", "--handler", handler])
                    #expect(refused.exitCode == 1, "\(refused)")
                    #expect(refused.stderrLines.filter { $0.contains("handler") }
                            == ["run \(refused.runID ?? "?") failed: handler '\(handler)' is not in the handlers table (known: "
                                + "1 dispatch1.make-a-store.com, 2 dispatch2.make-a-store.com, 3 tmp-cloud.make-a-store.com)"], "\(refused)")
                    #expect(refused.stderr.contains("nothing was changed"), "\(refused)")
                }
                let elsewhere = try world.runbook(["run", "add-codebase", "--plan", "free", "--handler", "dispatch2.make-a-store.com"])
                #expect(elsewhere.exitCode == 1, "\(elsewhere)")
                #expect(elsewhere.stderr.contains("handler 2 is dispatch2.make-a-store.com, but this server is dispatch1.make-a-store.com "
                                                  + "(settings.this_server): the checkout is made on this machine, so run add-codebase on "
                                                  + "dispatch2.make-a-store.com\n"), "\(elsewhere)")
                let badPlan = try world.runbook(["run", "add-codebase", "--plan", "gold"])
                #expect(badPlan.exitCode == 2 && badPlan.stderr.contains("argument --plan"), "\(badPlan)")
            }
            #expect(try world.counters(db) == countersNow)

            // Undo, once no install uses the groups: rows, checkouts and queue records go.
            try db.executeText("DELETE FROM internal.installs")
            return [try #require(DemoWorld.runID(own)), runID]
        }
        #expect(!Files.exists(shared + "/code_share_paid_3") && !Files.exists(shared + "/code_share_paid_4"))
    }

    @Test func aCheckoutThatBreaksHalfWayLeavesNoRowNoFolderAndAFailedQueueRecord() throws {
        let world = try DemoWorld.built()
        let box = world.box
        let shared = world.root + "/home/shared_codes"
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] {
            try db.query(sql).rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
        }
        // svn as found after this folder in PATH, except that a checkout loses its connection
        // half way: the real checkout, part of it removed, an error. (With SLOW_CHECKOUT=N a
        // checkout takes N more seconds and works.)
        let fake = box.base + "/fake-svn"
        try Files.mkdir(fake)
        try Files.write(fake + "/svn", """
            #!/bin/sh
            real_path=${PATH#*:}
            if [ "$1" = "checkout" ] && [ -n "$SLOW_CHECKOUT" ]; then
                sleep "$SLOW_CHECKOUT"
                PATH=$real_path exec svn "$@"
            fi
            if [ "$1" = "checkout" ]; then
                for target; do :; done
                PATH=$real_path svn "$@" && rm -rf "$target/html"
                echo "svn: E170013: Unable to connect to a repository (connection lost half way)" >&2
                exit 1
            fi
            PATH=$real_path exec svn "$@"

            """, mode: 0o755)
        let environment = ["PATH": fake + ":" + (Posix.environment("PATH") ?? "/usr/bin:/bin")]
        // Everything as it was but the queue record, which holds the error.
        try expectUndoRestores(world, "the failed run undid itself", ignoring: ["table internal.queue"]) {
            let failed = try world.runbook(["run", "add-codebase", "--plan", "free"], environment: environment)
            #expect(failed.exitCode == 1, "\(failed)")
            let runID = try #require(failed.runID)
            #expect(failed.stdout.contains("undoing 1 applied effect"), "\(failed)")
            #expect(failed.stderr.contains("E170013: Unable to connect to a repository"), "\(failed)")
            #expect(!Files.exists(shared + "/code_share_free_2"), "no half folder")
            let queue = try world.state().tables["internal.queue"] ?? []
            #expect(queue.count == 1 && queue[0].hasPrefix("id=1 runbook='add-codebase' "), "\(queue)")
            #expect(try rows("SELECT id, status, handler_id, log FROM internal.queue") == ["1 'failed' 1 '\(runID)'"])
            let error = try db.query("SELECT error FROM internal.queue").rows.first?[0].string ?? ""
            #expect(error.contains("svn: E170013: Unable to connect to a repository (connection lost half way)"), "\(error)")
            let history = try world.runbook(["history", "--json"]).stdoutLines.compactMap { try? JSON.parse($0) }
            #expect(history.first { $0["id"]?.stringValue == runID }?["status"]?.stringValue == "failed", "\(history)")
            return nil  // on_failure = "undo": the run has undone itself
        }

        // With a working svn the same command then makes code_share_free_2 after all.
        let again = try world.runbook(["run", "add-codebase", "--plan", "free"])
        #expect(again.exitCode == 0, "\(again)")
        #expect(try rows("SELECT id, dir, free, revision FROM internal.shared_code_groups WHERE id > 3")
                == ["4 '/home/shared_codes/code_share_free_2' 1 '1'"])
        #expect(try world.svnInfo("revision", shared + "/code_share_free_2") == "1")
        #expect(Files.exists(shared + "/code_share_free_2/html/index.php"))
        #expect(try rows("SELECT id, status FROM internal.queue ORDER BY id") == ["1 'failed'", "2 'done'"])

        // Two runs at once do not pick the same folder: while one checks out, the other is
        // refused by the "shared-codes" lock (exit 3) and changes nothing.
        let slow = try ChildProcess(executable: try RunbookBinary.require(),
                                    arguments: ["--config", world.directory + "/config.toml"] + scripted(["run", "add-codebase", "--plan", "free"]),
                                    environment: box.environment(environment.merging(["SLOW_CHECKOUT": "3"]) { $1 }),
                                    stdoutPath: box.base + "/out/slow.stdout", stderrPath: box.base + "/out/slow.stderr")
        #expect(slow.waitForOutput("svn checkout -r 1"), "\(slow.stdout)")
        let second = try world.runbook(["run", "add-codebase", "--plan", "free"])
        #expect(second.exitCode == 3, "\(second)")
        #expect(second.stderr.contains("lock 'shared-codes' is held by run"), "\(second)")
        #expect(!second.stdout.contains("\n  + "), "\(second)")
        let first = slow.wait(timeout: 60)
        #expect(first.exitCode == 0, "\(first)")
        #expect(try rows("SELECT id, dir FROM internal.shared_code_groups WHERE id > 3")
                == ["4 '/home/shared_codes/code_share_free_2'", "5 '/home/shared_codes/code_share_free_3'"])
        #expect(try rows("SELECT id, status FROM internal.queue ORDER BY id") == ["1 'failed'", "2 'done'", "3 'done'"],
                "the refused run added no queue record")
        #expect(try system(["ls", shared]).split(separator: "\n") == ["code_share_free_1", "code_share_free_2", "code_share_free_3",
                                                                        "code_share_paid_1", "code_share_paid_2"])
    }
}
