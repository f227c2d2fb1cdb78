// `runbook undo` knows later runs: a run whose changes a later run (not undone) built on —
// the same files, rows or links — is not undone without --force; the refusal names the
// later runs and what to type. An undo that reverses some effects and not others leaves
// the run `partly-undone` in history.

import RunbookJournal
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("Undo and the runs after it")
struct UndoLaterRunsTests {
    static let make = """
        return runbook { summary = "an install's home", params = { dir = { type = "path", required = true } },
          run = function(args)
            step("Make", function()
              fs.mkdir(args.dir)
              fs.write(args.dir .. "/config.php", "<?php\\n")
            end)
          end }
        """

    static let addSite = """
        return runbook { summary = "a site in an install's home", params = { dir = { type = "path", required = true },
                                                                           name = { type = "string", required = true } },
          run = function(args)
            step("Add", function()
              fs.mkdir(args.dir .. "/" .. args.name)
              fs.link(args.dir .. "/config.php", args.dir .. "/" .. args.name .. "/config.php")
            end)
          end }
        """

    @Test("a later run on the same files refuses the undo (exit 2, naming it); undone newest first it goes through")
    func laterRunOnTheSameFiles() throws {
        let sandbox = try Sandbox(runbook: "make", Self.make)
        try sandbox.addRunbook("add-site", Self.addSite)
        let home = sandbox.tree + "/inst"
        let install = try sandbox.runbook(["run", "make", "--dir", home])
        let site = try sandbox.runbook(["run", "add-site", "--dir", home, "--name", "shop"])
        // Another install entirely: it built on nothing of the first.
        let other = try sandbox.runbook(["run", "make", "--dir", sandbox.tree + "/other"])
        let (installID, siteID, otherID) = (try #require(install.runID), try #require(site.runID), try #require(other.runID))

        let refused = try expectUnchanged(sandbox, "a refused undo touches nothing") { try sandbox.runbook(["undo", installID]) }
        #expect(refused.exitCode == 2, "\(refused)")
        #expect(refused.stderrLines.count == 1, "one line\n\(refused)")
        #expect(refused.stderr.contains(siteID) && refused.stderr.contains("add-site") && refused.stderr.contains(home + "/shop"),
                "names the later run and what it shares\n\(refused)")
        #expect(refused.stderr.contains("runbook undo \(siteID)") && refused.stderr.contains("--force"), "\(refused)")
        #expect(!refused.stderr.contains(otherID), "an unrelated later run is not named\n\(refused)")
        #expect(try sandbox.status(of: installID) == "succeeded")

        // The dry-run says the same as a warning and changes nothing.
        let plan = try expectUnchanged(sandbox, "the undo's dry-run") { try sandbox.runbook(["undo", installID, "--dry-run"]) }
        #expect(plan.exitCode == 0 && plan.stdout.contains("later run") && plan.stdout.contains(siteID), "\(plan)")

        #expect(try sandbox.runbook(["undo", siteID]).exitCode == 0)
        let undone = try sandbox.runbook(["undo", installID])
        #expect(undone.exitCode == 0, "with the later run undone, the undo goes through\n\(undone)")
        #expect(!Files.exists(home) && Files.exists(sandbox.tree + "/other/config.php"))
    }

    @Test("rows a later run added under the run's row (install_id) refuse the undo; --force undoes it anyway")
    func laterRunOnTheSameRows() throws {
        let sandbox = try Sandbox(database: true)
        try sandbox.db.run("""
            CREATE TABLE installs (id INT PRIMARY KEY, fs_name VARCHAR(64));
            CREATE TABLE install_sites (id INT PRIMARY KEY, install_id INT, hostname VARCHAR(64));
            CREATE TABLE install_site_ips (id INT PRIMARY KEY, install_site_id INT, ip VARCHAR(64));
            """)
        try sandbox.addRunbook("install", """
            return runbook { summary = "an install", params = { id = { type = "int", required = true } },
              run = function(args)
                step("Insert", function() db.insert("test", "installs", { id = args.id, fs_name = "i" .. args.id }) end)
              end }
            """)
        try sandbox.addRunbook("add-site", """
            return runbook { summary = "a site", params = { install = { type = "int", required = true },
                                                             site = { type = "int", required = true } },
              run = function(args)
                step("Insert", function()
                  db.insert("test", "install_sites", { id = args.site, install_id = args.install, hostname = "s" .. args.site })
                  db.insert("test", "install_site_ips", { id = args.site, install_site_id = args.site, ip = "10.0.0.1" })
                end)
              end }
            """)
        let install = try #require(try sandbox.runbook(["run", "install", "--id", "7"]).runID)
        let unrelated = try #require(try sandbox.runbook(["run", "install", "--id", "8"]).runID)
        let site = try #require(try sandbox.runbook(["run", "add-site", "--install", "7", "--site", "70"]).runID)

        let refused = try sandbox.runbook(["undo", install])
        #expect(refused.exitCode == 2 && refused.stderr.contains(site) && refused.stderr.contains("installs/7"), "\(refused)")
        #expect(try sandbox.db.count("installs") == 2, "nothing was undone")
        #expect(try sandbox.runbook(["undo", unrelated]).exitCode == 0, "a run nothing built on is undone as before")

        let forced = try sandbox.runbook(["undo", install, "--force"])
        #expect(forced.exitCode == 0 && forced.stdout.contains("--force"), "\(forced)")
        #expect(try sandbox.db.count("installs") == 0 && sandbox.db.count("install_sites") == 1)
        #expect(try sandbox.status(of: install) == "undone")
    }

    @Test("an undo that reverses some effects and not others: partly-undone in history, then undone when run again")
    func partlyUndone() throws {
        let sandbox = try Sandbox(runbook: "dirs", """
            return runbook { summary = "two folders", params = { dir = { type = "path", required = true } },
              run = function(args)
                step("Make", function() fs.mkdir(args.dir .. "/a"); fs.mkdir(args.dir .. "/b") end)
              end }
            """)
        let run = try #require(try sandbox.runbook(["run", "dirs", "--dir", sandbox.tree]).runID)
        // Someone puts a file in one of them: that folder cannot be removed.
        try Files.write(sandbox.tree + "/a/kept.txt", "mine\n")
        let first = try sandbox.runbook(["undo", run])
        #expect(first.exitCode == 1, "\(first)")
        #expect(!Files.exists(sandbox.tree + "/b") && Files.exists(sandbox.tree + "/a"))
        #expect(try sandbox.status(of: run) == "partly-undone")
        let history = try sandbox.runbook(["history", "--status", "partly-undone"])
        #expect(history.stdout.contains(run) && history.stdout.contains("partly-undone"), "\(history)")
        let log = try sandbox.runbook(["log", run])
        #expect(log.stdout.contains("status: partly-undone") && log.stdout.contains("runbook undo \(run)"), "\(log)")

        try Posix.removeTree(sandbox.tree + "/a/kept.txt")
        let second = try sandbox.runbook(["undo", run])
        #expect(second.exitCode == 0, "\(second)")
        #expect(try sandbox.status(of: run) == "undone" && !Files.exists(sandbox.tree + "/a"))
    }

    @Test("the issue's case on a demo world: an install with a later add-site is not undone; newest first, everything goes back")
    func installThenAddSite() throws {
        let world = try DemoWorld.built()
        try expectUndosRestore(world, "newest first, the world is as it was") {
            let install = try world.runbook(["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com",
                                             "--plan", "paid"])
            let installID = try #require(install.runID, "\(install)")
            let site = try world.runbook(["run", "add-site", "--install", "shopexam1", "--hostname", "wholesale.example.com"])
            let siteID = try #require(site.runID, "\(site)")

            let refused = try expectUnchanged(world, "a refused undo") { try world.runbook(["undo", installID]) }
            #expect(refused.exitCode == 2, "\(refused)")
            #expect(refused.stderr.contains(siteID) && refused.stderr.contains("add-site") && refused.stderr.contains("runbook undo \(siteID)"),
                    "\(refused)")
            // The refusal docs/cli.md shows for this case is the line the program prints.
            try DocExample.expectShown(refused.stderr, root: world.root, page: "cli.md", containing: ["has changes that a later run built on:"])
            #expect(try world.runbook(["history", "--json"]).stdout.contains("\"status\":\"succeeded\""))
            return [siteID, installID]
        }
    }
}
