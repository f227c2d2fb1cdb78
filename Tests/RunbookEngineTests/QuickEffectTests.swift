// The shortcuts of quick file effects (W1, docs/performance.md) change no outcome: fs.mkdir
// still gives exactly the asked mode (a umask that clears bits, a setgid parent), a link in
// the directory just made still finds it, and every console line of a run whose stdout is a
// pipe arrives, in order, with the journal holding every outcome.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Quick file effects")
struct QuickEffectTests {
    static let runbook = """
        return runbook {
          summary = "Directories with odd modes, links, and a slow effect between quick ones",
          params = { dir = { type = "path", required = true } },
          run = function(args)
            local d = args.dir
            step("Make", function()
              fs.mkdir(d .. "/open", { mode = "0777" })          -- the umask (022) would clear 022
              fs.mkdir(d .. "/setgid/child/grandchild")          -- under a setgid directory
              fs.mkdir(d .. "/plain")
              fs.symlink(d .. "/open", d .. "/plain/link")       -- in the directory just made
              for i = 1, 300 do fs.mkdir(d .. "/many/m_" .. i) end
            end)
            step("After", function()
              log.info("between the steps")
              fs.write(d .. "/plain/last.txt", "last\\n")
            end)
          end,
        }
        """

    @Test("modes are exact, links land, every line arrives in order and every outcome is journaled")
    func quickEffectsKeepTheirOutcomes() throws {
        let sandbox = try Sandbox()
        try Files.mkdir(sandbox.tree + "/setgid", mode: 0o755)
        #expect(chmod(sandbox.tree + "/setgid", 0o2755) == 0)
        try sandbox.addRunbook("quick", Self.runbook)

        let result = try sandbox.runbook(["run", "quick", "--dir", sandbox.tree])
        #expect(result.exitCode == 0, "\(result)")

        #expect(Posix.lstatInfo(sandbox.tree + "/open")?.mode == 0o777, "the umask is not applied to an asked mode")
        #expect(Posix.lstatInfo(sandbox.tree + "/setgid/child")?.mode == 0o755, "a setgid parent's bit is not kept")
        #expect(Posix.lstatInfo(sandbox.tree + "/setgid/child/grandchild")?.mode == 0o755)
        #expect(Posix.lstatInfo(sandbox.tree + "/plain")?.mode == 0o755)
        #expect(Posix.lstatInfo(sandbox.tree + "/plain/link")?.kind == .symlink)

        // stdout is a pipe here: the lines come in batches but all of them, in run order.
        let lines = result.stdoutLines
        let made = lines.filter { $0.contains("+ create directory") }
        #expect(made.count == 1 + 2 + 1 + 1 + 300, "\(result)")
        let order = ["create directory \(sandbox.tree)/open", "link \(sandbox.tree)/plain/link",
                     "create directory \(sandbox.tree)/many/m_300", "✔ Make", "between the steps", "write \(sandbox.tree)/plain/last.txt",
                     "done in"]
        let positions = order.map { text in lines.firstIndex { $0.contains(text) } }
        #expect(!positions.contains(nil), "a line is missing: \(order) in\n\(result)")
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "the lines are out of order: \(order) at \(positions)")

        // The journal holds an intent and an outcome for every effect (the effect event is for
        // --json only: the intent already holds its fields).
        guard let id = sandbox.runIDs().last else { Issue.record("no run"); return }
        let journal = try Posix.readText(sandbox.state + "/runs/\(id)/journal.jsonl")
        let records = journal.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
        let effects = made.count + 2
        #expect(records.filter { $0["t"]?.stringValue == "intent" }.count == effects)
        #expect(records.filter { $0["t"]?.stringValue == "applied" }.count == effects)
        let journaledEvents = records.filter { $0["t"]?.stringValue == "effect_applied" }
        #expect(journaledEvents.isEmpty)
        // `runbook log` still shows every effect, from the intents.
        let log = try sandbox.runbook(["log", id])
        #expect(log.stdoutLines.filter { $0.contains("+ create directory") }.count == made.count, "\(log)")

        // And undo takes all of it back.
        let undo = try sandbox.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(((try? Posix.list(sandbox.tree)) ?? []) == ["setgid"], "undo leaves only what was there")
        #expect(((try? Posix.list(sandbox.tree + "/setgid")) ?? []).isEmpty)
    }

    @Test("a parent with a default ACL: the mode is still set exactly")
    func aDefaultACLDoesNotDecideTheMode() throws {
        let sandbox = try Sandbox()
        let parent = sandbox.tree + "/acl"
        try Files.mkdir(parent)
        // New entries here would get no group or other bits without the chmod (the ACL, not
        // the umask, decides what mkdir(2) gives).
        try system(["setfacl", "-d", "-m", "u::rwx,g::---,o::---", parent])
        try sandbox.addRunbook("acl", """
            return runbook { summary = "a folder under an ACL", params = { dir = { type = "path", required = true } },
              run = function(args) step("Make", function() fs.mkdir(args.dir .. "/child") end) end }
            """)
        let run = try sandbox.runbook(["run", "acl", "--dir", parent])
        #expect(run.exitCode == 0, "\(run)")
        #expect(Posix.lstatInfo(parent + "/child")?.mode == 0o755, "\(String(Posix.lstatInfo(parent + "/child")?.mode ?? 0, radix: 8))")
    }

    @Test("in a directory the run just made, a name the run made is still seen, before and past the 32 it remembers")
    func namesMadeInAFreshDirectoryAreSeen() throws {
        let sandbox = try Sandbox(runbook: "fresh", """
            return runbook { summary = "a fresh folder filled twice", params = { dir = { type = "path", required = true } },
              run = function(args)
                step("Fill", function()
                  local few, many = args.dir .. "/few", args.dir .. "/many"
                  fs.mkdir(few)
                  fs.symlink("/srv/a", few .. "/lib")
                  print("again: " .. tostring(fs.symlink("/srv/a", few .. "/lib")))
                  print("other: " .. tostring(fs.symlink("/srv/b", few .. "/lib")))
                  fs.mkdir(many)
                  for i = 1, 40 do fs.write(many .. "/f_" .. i, "x") end
                  print("first: " .. tostring(fs.write(many .. "/f_1", "x")))
                  print("last: " .. tostring(fs.write(many .. "/f_40", "x")))
                end)
              end }
            """)
        let run = try sandbox.runbook(["run", "fresh", "--dir", sandbox.tree])
        #expect(run.exitCode == 0, "\(run)")
        // The same link again is no change; another target relinks; a file written again is no change.
        for line in ["again: false", "other: true", "first: false", "last: false"] {
            #expect(run.stdoutLines.contains { $0.hasSuffix(" " + line) }, "\(line)\n\(run)")
        }
        #expect(Posix.readLink(sandbox.tree + "/few/lib") == "/srv/b")
        #expect(run.stdoutLines.filter { $0.contains("+ write \(sandbox.tree)/many/") }.count == 40, "\(run)")
    }
}
