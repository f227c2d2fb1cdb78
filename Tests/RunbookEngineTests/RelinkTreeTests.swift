// fs.relink_tree: the guide's "change codebase" — every symlink into one codebase moved
// to another as one effect, with a full undo list.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite struct RelinkTreeTests {
    @Test func retargetsOnlyLinksIntoTheOldCodebaseAndUndoesThem() throws {
        let box = try Sandbox()
        let old = box.tree + "/shared_codes/code_share_paid_1", new = box.tree + "/shared_codes/code_share_paid_2"
        for codebase in [old, new] {
            try Files.mkdir(codebase)
            try Files.mkdir(codebase + "/heavymetal")
            try Files.mkdir(codebase + "/heavymetal/lib")
        }
        let home = box.tree + "/home/shop"
        try Files.mkdir(box.tree + "/home")
        try Files.mkdir(home)
        try Files.mkdir(home + "/heavymetal")
        try Files.mkdir(home + "/heavymetal/theme")
        try Files.symlink(old + "/heavymetal/lib", home + "/heavymetal/lib")
        try Files.symlink(old + "/index.php", home + "/index.php")
        try Files.symlink("/etc/hostname", home + "/elsewhere")
        try Files.symlink(old + "/heavymetal/theme/x.css", home + "/heavymetal/theme/x.css")
        try box.addRunbook("move", """
            return runbook {
              summary = "move to another codebase",
              run = function()
                step("Change symlinks", function()
                  local n = fs.relink_tree("\(home)", "\(old)", "\(new)")
                  if n ~= 3 then error("expected 3 links, got " .. tostring(n)) end
                  if fs.readlink("\(home)/heavymetal/lib") ~= "\(new)/heavymetal/lib" then error("dry-run overlay not seen") end
                end)
              end,
            }
            """)
        let plan = try expectUnchanged(box, "after the dry-run") { try box.runbook(["run", "move", "--dry-run"]) }
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("~ relink 3 symlinks under \(home)"))

        try expectUndoRestores(box, "after the undo") {
            let run = try box.planAndRun(["move"])
            #expect(run.exitCode == 0, "\(run)")
            #expect(Posix.readLink(home + "/heavymetal/lib") == new + "/heavymetal/lib")
            #expect(Posix.readLink(home + "/index.php") == new + "/index.php")
            #expect(Posix.readLink(home + "/heavymetal/theme/x.css") == new + "/heavymetal/theme/x.css")
            #expect(Posix.readLink(home + "/elsewhere") == "/etc/hostname")
            let runToUndo = try #require(run.runID)
            return runToUndo
        }
    }
}
