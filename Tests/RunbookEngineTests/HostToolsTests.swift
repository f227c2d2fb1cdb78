// Crontab lines and version-control working copies (a local Subversion repository over
// file:// and a git repository), with dry-runs and undo.

@testable import RunbookEngine
import Foundation
import RunbookCore
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct HostToolsTests {
    @Test func cronLinesInAUserCrontabAndInACronDFile() throws {
        let box = try Sandbox()
        // A throwaway user, so the test never touches a real crontab.
        let user = "rbcron\(getpid() % 100000)"
        try system(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
        defer { _ = try? ProcessRunner.run(["userdel", user]); _ = try? ProcessRunner.run(["crontab", "-r", "-u", user]) }
        try Crontab.write(user: user, "# kept\n0 3 * * * /bin/true\n")
        let cronFile = box.tree + "/cron.d/runbook"
        try Files.mkdir(box.tree + "/cron.d")
        let line = "*/5 * * * * /home/internal/lib/cron/cron.php"
        try box.addRunbook("crons", """
            return runbook {
              summary = "crons",
              run = function()
                step("Create crons", function()
                  cron.add("\(line)", { user = "\(user)" })
                  cron.add("\(line)", { user = "\(user)" })
                  cron.add("\(line)", { file = "\(cronFile)" })
                  cron.remove("0 3 * * * /bin/true", { user = "\(user)" })
                end)
              end,
            }
            """)
        let plan = try box.runbook(["run", "crons", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(try Crontab.read(user: user) == "# kept\n0 3 * * * /bin/true\n")
        #expect(!Files.exists(cronFile))

        let run = try box.planAndRun(["crons"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(try Crontab.read(user: user) == "# kept\n\(line)\n", "added once, the other removed, comments kept")
        #expect(Files.read(cronFile) == line + "\n")

        let undo = try box.runbook(["undo", try #require(run.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(try Crontab.read(user: user) == "# kept\n0 3 * * * /bin/true\n")
        #expect(!Files.exists(cronFile))
    }

    @Test func subversionCheckoutUpdateConflictsAndUndo() throws {
        let box = try Sandbox()
        let repository = box.base + "/repo", work = box.base + "/work"
        try system(["svnadmin", "create", repository])
        try system(["svn", "checkout", "-q", "file://" + repository, work])
        try Files.mkdir(work + "/heavymetal")
        try Files.write(work + "/heavymetal/lib.php", "<?php // r1\n")
        try system(["svn", "add", "-q", work + "/heavymetal"])
        try system(["svn", "commit", "-q", "-m", "r1", work])
        try Files.write(work + "/heavymetal/lib.php", "<?php // r2\n")
        try system(["svn", "commit", "-q", "-m", "r2", work])
        let codebase = box.tree + "/code_share_paid_1"
        try box.addRunbook("codebase", """
            return runbook {
              summary = "codebase",
              params = { revision = { type = "int" } },
              run = function(args)
                step("Check out", function()
                  if not fs.exists("\(codebase)") then
                    vcs.checkout("file://\(repository)", "\(codebase)", { revision = 1 })
                  else
                    local result = vcs.update("\(codebase)", { revision = args.revision })
                    if #result.conflicts > 0 then error("conflicts: " .. table.concat(result.conflicts, ", ")) end
                  end
                end)
              end,
            }
            """)
        let plan = try box.runbook(["run", "codebase", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(!Files.exists(codebase))
        let checkout = try box.planAndRun(["codebase"])
        #expect(checkout.exitCode == 0, "\(checkout)")
        #expect(Files.read(codebase + "/heavymetal/lib.php") == "<?php // r1\n")

        let update = try box.runbook(["run", "codebase", "--revision", "2"])
        #expect(update.exitCode == 0, "\(update)")
        #expect(update.stdout.contains("~ update \(codebase) from revision 1 to 2"))
        #expect(Files.read(codebase + "/heavymetal/lib.php") == "<?php // r2\n")
        let undoUpdate = try box.runbook(["undo", try #require(update.runID)])
        #expect(undoUpdate.exitCode == 0, "\(undoUpdate)")
        #expect(Files.read(codebase + "/heavymetal/lib.php") == "<?php // r1\n", "undo updates back to the old revision")

        // A local change that collides with r2 is a conflict: the run fails and names the file.
        try Files.write(codebase + "/heavymetal/lib.php", "<?php // local edit\n")
        let conflicted = try box.runbook(["run", "codebase", "--revision", "2"])
        #expect(conflicted.exitCode == 1, "\(conflicted)")
        #expect(conflicted.stderr.contains("conflicts:") && conflicted.stderr.contains("lib.php"))

        // The failed run left the checkout in conflict: undo knows it built on the checkout
        // and wants it undone first (LaterRuns).
        let conflictedID = try #require(conflicted.runID)
        let refused = try box.runbook(["undo", try #require(checkout.runID)])
        #expect(refused.exitCode == 2 && refused.stderr.contains("runbook undo \(conflictedID)"), "\(refused)")
        let undoConflicted = try box.runbook(["undo", conflictedID])
        #expect(undoConflicted.exitCode == 0, "\(undoConflicted)")
        let undoCheckout = try box.runbook(["undo", try #require(checkout.runID)])
        #expect(undoCheckout.exitCode == 0, "\(undoCheckout)")
        #expect(!Files.exists(codebase))
    }

    @Test func gitCloneAndUpdate() throws {
        let box = try Sandbox()
        let origin = box.base + "/origin"
        try Files.mkdir(origin)
        let git = ["git", "-C", origin, "-c", "user.email=t@example.com", "-c", "user.name=t"]
        try system(["git", "init", "-q", origin])
        try Files.write(origin + "/README", "one\n")
        try system(git + ["add", "README"])
        try system(git + ["commit", "-q", "-m", "one"])
        let first = try system(["git", "-C", origin, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try Files.write(origin + "/README", "two\n")
        try system(git + ["commit", "-q", "-am", "two"])
        let clone = box.tree + "/clone"
        try box.addRunbook("clone", """
            return runbook {
              summary = "clone",
              run = function()
                step("Clone", function() vcs.checkout("\(origin)", "\(clone)", { kind = "git", revision = "\(first)" }) end)
                step("Update", function() vcs.update("\(clone)") end)
              end,
            }
            """)
        let run = try box.runbook(["run", "clone"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(Files.read(clone + "/README") == "two\n")
        let undo = try box.runbook(["undo", try #require(run.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(!Files.exists(clone))
    }
}
