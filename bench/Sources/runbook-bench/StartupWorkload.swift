// W0 start-up: `runbook run noop` (one empty step, a real run with its journal and run
// record) as a whole process, next to the smallest Swift program built with the same
// flags and `lua5.4 -e ''`. Wall time from posix_spawn to waitpid; peak RSS from wait4's
// rusage in separate runs (see peakMemory).

enum StartupWorkload {
    /// `runbook run noop` may take at most this long...
    static let wallTarget = 10e6 // ns
    /// ...and this many times the minimal Swift program...
    static let ratioTarget = 3.0
    /// ...and reach at most this peak resident set.
    static let memoryTarget = 25.0 * 1_048_576

    static let noop = """
        -- W0: the smallest real run: one empty step.
        return runbook {
          summary = "Does nothing, in one step (the start-up benchmark)",
          run = function(args)
            step("nothing", function() end)
          end,
        }

        """

    struct Case {
        var label: String
        var argv: [String]
    }

    static func run(_ options: BenchOptions) throws -> Outcome {
        let repetitions = options.repetitions ?? (options.quick ? 15 : 30)
        let programs = try Programs.locate(options)
        let scratch = try Scratch(options, name: "w0")
        defer { scratch.remove() }
        let runbooks = scratch.path + "/runbooks"
        let state = scratch.path + "/state"
        try makeDirectory(runbooks)
        try makeDirectory(state)
        try writeTextFile(runbooks + "/noop.lua", noop)
        let errorLog = scratch.path + "/stderr"

        let cases = [
            Case(label: "minimal Swift (bench-hello)", argv: [programs.hello]),
            Case(label: "lua5.4 -e ''", argv: [programs.lua, "-e", ""]),
            Case(label: "runbook run noop", argv: [programs.runbook, "run", "--yes", "noop", "--runbooks", runbooks, "--state-dir", state]),
        ]
        // Warm up (page cache, the dynamic loader's caches), then interleave the cases in
        // every round so drift on the machine hits them alike.
        for item in cases { for _ in 0..<3 { try runChild(item.argv, errorLog: errorLog) } }
        var wall = Array(repeating: Samples(), count: cases.count)
        for _ in 0..<repetitions {
            for (index, item) in cases.enumerated() {
                wall[index].values.append(try runChild(item.argv, errorLog: errorLog).nanoseconds)
            }
        }
        // Peak memory, from separate runs under the bench-fs launcher (see peakMemory).
        var memory = Array(repeating: Samples(), count: cases.count)
        for _ in 0..<5 {
            for (index, item) in cases.enumerated() {
                memory[index].values.append(try peakMemory(item.argv, launcher: programs.cBaseline, scratch: scratch.path,
                                                           errorLog: errorLog))
            }
        }

        let hello = wall[0].median, runbook = wall[2].median, peak = memory[2].median
        let wallOutcome = Outcome(value: runbook, target: wallTarget)
        let ratioOutcome = Outcome(value: runbook / hello, target: ratioTarget)
        let memoryOutcome = Outcome(value: peak, target: memoryTarget)

        print("W0 start-up: whole processes (posix_spawn to waitpid), median of \(repetitions) runs; "
            + "state dir on \(scratch.filesystem)")
        print("")
        var rows: [TableRow] = []
        // The baselines first (the last case is runbook, judged below).
        for (index, item) in cases.enumerated().dropLast() {
            rows.append(TableRow(label: item.label + ": wall", figure: milliseconds(wall[index].median),
                                 spread: spreadText(wall[index])))
            rows.append(TableRow(label: item.label + ": peak RSS", figure: mebibytes(memory[index].median)))
        }
        rows.append(TableRow(label: "runbook run noop: wall", figure: milliseconds(runbook), baseline: "-", ratio: "-",
                             spread: spreadText(wall[2]), target: "<= " + milliseconds(wallTarget), result: wallOutcome.label))
        rows.append(TableRow(label: "runbook run noop: vs Swift", figure: milliseconds(runbook),
                             baseline: "bench-hello " + milliseconds(hello), ratio: fixed(runbook / hello, 2) + "x",
                             spread: "-", target: "<= " + fixed(ratioTarget, 1) + "x", result: ratioOutcome.label))
        rows.append(TableRow(label: "runbook run noop: peak RSS", figure: mebibytes(peak),
                             target: "<= " + mebibytes(memoryTarget), result: memoryOutcome.label))
        printTable(rows)
        print("")
        print("runbook vs lua5.4 -e '': \(fixed(runbook / wall[1].median, 2))x the wall time")
        reportMiss("W0", "the wall time", wallOutcome)
        reportMiss("W0", "the ratio to the minimal Swift program", ratioOutcome)
        reportMiss("W0", "the peak memory", memoryOutcome)
        return wallOutcome.worse(ratioOutcome).worse(memoryOutcome)
    }
}
