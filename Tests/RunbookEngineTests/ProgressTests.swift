// progress(done, total) in a long loop: on a terminal a bar with the count, the rate and
// the time left; with --json periodic `progress` events; in a pipe, nothing but the
// ordinary lines.

@testable import RunbookEngine
import RunbookTestKit
import Testing

@Suite("Progress of long loops")
struct ProgressTests {
    /// 100 items of about 10 ms of Lua work each: a second or more in all.
    static let loop = """
        return runbook { summary = "a long loop", params = { n = { type = "int", default = 100 },
                                                             work = { type = "int", default = 400000 } },
          run = function(args)
            step("Update every install", function()
              local x = 0
              for i = 1, args.n do
                for j = 1, args.work do x = x + j % 7 end
                progress(i, args.n)
              end
              log.info("checksum", x % 10)
            end)
          end }
        """

    @Test("on a terminal: a bar with count, rate and ETA, redrawn in place")
    func barOnTerminal() throws {
        let sandbox = try Sandbox(runbook: "loop", ProgressTests.loop)
        let result = try sandbox.runbookOnTerminal(["run", "loop", "--yes"])
        #expect(result.exitCode == 0, "\(result)")
        let out = result.stdout
        #expect(out.contains("█"), "a bar is drawn\n\(out)")
        #expect(out.contains("\r"), "redrawn in place\n\(out)")
        #expect(out.contains(" 100/100 "), "the count at the end\n\(out)")
        #expect(out.contains("/s") || out.contains("/min"), "a rate\n\(out)")
        #expect(out.contains("ETA 0:"), "the time left while it runs\n\(out)")
        #expect(out.contains("  in 0:"), "the time it took at the end\n\(out)")
        #expect(out.contains("checksum"), "lines after the bar still print\n\(out)")

        // Not on a terminal: no bar, no carriage returns.
        let piped = try sandbox.runbook(["run", "loop", "--n", "20", "--work", "1000"])
        #expect(piped.exitCode == 0 && !piped.stdout.contains("\r") && !piped.stdout.contains("█"), "\(piped)")
    }

    @Test("--json: progress events at most every half second, with rate and ETA, and the last one at the total")
    func eventsInJSON() throws {
        let sandbox = try Sandbox(runbook: "loop", ProgressTests.loop)
        let result = try sandbox.runbook(["run", "loop", "--json"])
        #expect(result.exitCode == 0, "\(result)")
        let events = result.events("progress")
        let last = try #require(events.last)
        #expect(last["done"]?.intValue == 100 && last["total"]?.intValue == 100)
        #expect(last["step"]?.stringValue == "Update every install")
        guard case .double(let elapsed) = last["elapsed"] else { Issue.record("no elapsed in \(last)"); return }
        // Periodic: about one per half second of the loop, never one per item.
        #expect(events.count >= 2 && events.count <= Int(elapsed / 0.5) + 2, "\(events.count) events in \(elapsed) s")
        let middle = events[0]
        #expect(middle["done"]!.intValue! < 100 && middle["rate"] != nil && middle["eta"] != nil, "\(middle)")
    }

    @Test("counts out of any range never crash the run: negative ones are refused with one line, huge ones drawn")
    func oddCountsAreSafe() throws {
        let sandbox = try Sandbox(runbook: "odd", """
            return runbook { summary = "odd counts", params = { case = { type = "string", required = true } },
              run = function(args)
                step("Count", function()
                  if args.case == "negative" then progress(1, math.mininteger) end
                  if args.case == "huge" then progress(math.maxinteger, 1); progress(1, math.maxinteger); progress(2, math.maxinteger) end
                end)
              end }
            """)
        let negative = try sandbox.runbook(["run", "odd", "--case", "negative"])
        #expect(negative.exitCode == 1 && negative.stderr.contains("total must be 0 or more"), "\(negative)")
        for run in [try sandbox.runbook(["run", "odd", "--case", "huge", "--json"]),
                    try sandbox.runbookOnTerminal(["run", "odd", "--case", "huge", "--yes"])] {
            #expect(run.exitCode == 0, "a huge count is drawn, not a crash\n\(run)")
        }
    }
}
