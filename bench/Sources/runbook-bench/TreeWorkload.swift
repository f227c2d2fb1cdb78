// W1 tree: a runbook creating N directories (1,000), each with a symlink into a shared
// codebase — a real run (journal on, default durability), the same as a dry-run, and
// `runbook undo` of the real run — against a C program making the same mkdir+symlink
// system calls (and unlink+rmdir for undo). Whole processes, on a tmpfs.

enum TreeWorkload {
    static let realTarget = 3.0
    static let dryTarget = 2.0
    static let undoTarget = 3.0

    static let runbook = """
        -- W1: N site folders, each with a `lib` symlink into one shared codebase.
        return runbook {
          summary = "Creates DIR/site_1..N, each linked to a shared codebase (the tree benchmark)",
          params = {
            dir      = { type = "path", required = true, doc = "where the sites go" },
            count    = { type = "int", required = true, min = 1, doc = "how many sites" },
            codebase = { type = "path", required = true, doc = "what every site's lib points at" },
          },
          run = function(args)
            step("create the sites", function()
              for i = 1, args.count do
                local site = args.dir .. "/site_" .. i
                fs.mkdir(site)
                fs.symlink(args.codebase, site .. "/lib")
              end
            end)
          end,
        }

        """

    struct Round {
        var real: Double, dry: Double, undo: Double, cTree: Double, cUntree: Double
        var floorTree: Double, floorPlan: Double, floorUntree: Double
    }

    static func run(_ options: BenchOptions) throws -> Outcome {
        let count = options.iterations ?? 1000
        let repetitions = options.repetitions ?? (options.quick ? 9 : 15)
        let programs = try Programs.locate(options)
        let scratch = try Scratch(options, name: "w1")
        defer { scratch.remove() }
        let base = scratch.path
        let runbooks = base + "/runbooks", codebase = base + "/codebase", tree = base + "/tree"
        for directory in [runbooks, codebase, codebase + "/lib", tree] { try makeDirectory(directory) }
        try writeTextFile(runbooks + "/tree.lua", runbook)
        let errorLog = base + "/stderr"

        func runbookArguments(_ state: String, _ words: [String]) -> [String] {
            [programs.runbook] + words + ["--runbooks", runbooks, "--state-dir", state]
        }
        let treeWords = ["run", "--yes", "tree", "--dir", tree, "--count", String(count), "--codebase", codebase + "/lib"]

        /// One round: every case once, on the same starting state (an empty tree).
        func round(_ number: Int) throws -> Round {
            let state = base + "/state-\(number)"
            try makeDirectory(state)
            defer { try? removeTree(state) }

            let real = try runChild(runbookArguments(state, treeWords), errorLog: errorLog)
            guard listDirectory(tree).count == count, isSymlink(tree + "/site_\(count)/lib") else {
                throw BenchFailure("the real run did not create the \(count) sites")
            }
            let runs = listDirectory(state + "/runs")
            guard runs.count == 1 else { throw BenchFailure("expected one run in \(state)/runs, found \(runs)") }
            let undo = try runChild(runbookArguments(state, ["undo", runs[0]]), errorLog: errorLog)
            guard listDirectory(tree).isEmpty else { throw BenchFailure("runbook undo left \(tree) not empty") }

            let dry = try runChild(runbookArguments(state, treeWords + ["--dry-run"]), errorLog: errorLog)
            guard listDirectory(tree).isEmpty else { throw BenchFailure("the dry-run changed \(tree)") }

            let cTree = try runChild([programs.cBaseline, "tree", tree, String(count), codebase + "/lib"], errorLog: errorLog)
            let cUntree = try runChild([programs.cBaseline, "untree", tree, String(count)], errorLog: errorLog)
            guard listDirectory(tree).isEmpty else { throw BenchFailure("bench-fs untree left \(tree) not empty") }

            // runbook's own system calls, from C (the design's floor; see bench-fs).
            let journal = base + "/floor.jsonl"
            try? removeTree(journal)
            let words = [tree, String(count)]
            let floorTree = try runChild([programs.cBaseline, "journal-tree"] + words + [codebase + "/lib", journal],
                                         errorLog: errorLog)
            let floorUntree = try runChild([programs.cBaseline, "journal-untree"] + words + [journal], errorLog: errorLog)
            let floorPlan = try runChild([programs.cBaseline, "journal-plan"] + words + [codebase + "/lib", journal],
                                         errorLog: errorLog)
            guard listDirectory(tree).isEmpty else { throw BenchFailure("bench-fs journal-untree left \(tree) not empty") }
            return Round(real: real.nanoseconds, dry: dry.nanoseconds, undo: undo.nanoseconds, cTree: cTree.nanoseconds,
                         cUntree: cUntree.nanoseconds, floorTree: floorTree.nanoseconds, floorPlan: floorPlan.nanoseconds,
                         floorUntree: floorUntree.nanoseconds)
        }

        _ = try round(0) // warm-up
        var real = Samples(), dry = Samples(), undo = Samples(), cTree = Samples(), cUntree = Samples()
        var floorTree = Samples(), floorPlan = Samples(), floorUntree = Samples()
        for number in 1...repetitions {
            let sample = try round(number)
            real.values.append(sample.real)
            dry.values.append(sample.dry)
            undo.values.append(sample.undo)
            cTree.values.append(sample.cTree)
            cUntree.values.append(sample.cUntree)
            floorTree.values.append(sample.floorTree)
            floorPlan.values.append(sample.floorPlan)
            floorUntree.values.append(sample.floorUntree)
        }

        let realOutcome = Outcome(value: real.median / cTree.median, target: realTarget)
        let dryOutcome = Outcome(value: dry.median / cTree.median, target: dryTarget)
        let undoOutcome = Outcome(value: undo.median / cUntree.median, target: undoTarget)

        print("W1 tree: \(count) directories, each with a symlink into a shared codebase; whole processes, "
            + "median of \(repetitions) runs, on \(scratch.filesystem)")
        print("")
        let treeBaseline = "C mkdir+symlink " + milliseconds(cTree.median)
        let untreeBaseline = "C unlink+rmdir " + milliseconds(cUntree.median)
        func floorRow(_ label: String, _ samples: Samples, _ baseline: Samples, _ baselineText: String) -> TableRow {
            TableRow(label: label, figure: milliseconds(samples.median), baseline: baselineText,
                     ratio: fixed(samples.median / baseline.median, 2) + "x", spread: spreadText(samples))
        }
        printTable([
            TableRow(label: "C: mkdir+symlink x\(count)", figure: milliseconds(cTree.median), spread: spreadText(cTree)),
            TableRow(label: "C: unlink+rmdir x\(count)", figure: milliseconds(cUntree.median), spread: spreadText(cUntree)),
            floorRow("floor: runbook's syscalls, real", floorTree, cTree, treeBaseline),
            floorRow("floor: runbook's syscalls, dry", floorPlan, cTree, treeBaseline),
            floorRow("floor: runbook's syscalls, undo", floorUntree, cUntree, untreeBaseline),
            TableRow(label: "W1 tree: runbook run (real)", figure: milliseconds(real.median), baseline: treeBaseline,
                     ratio: fixed(real.median / cTree.median, 2) + "x", spread: spreadText(real),
                     target: "<= " + fixed(realTarget, 1) + "x", result: realOutcome.label),
            TableRow(label: "W1 dry: runbook run --dry-run", figure: milliseconds(dry.median), baseline: treeBaseline,
                     ratio: fixed(dry.median / cTree.median, 2) + "x", spread: spreadText(dry),
                     target: "<= " + fixed(dryTarget, 1) + "x", result: dryOutcome.label),
            TableRow(label: "W1 undo: runbook undo", figure: milliseconds(undo.median), baseline: untreeBaseline,
                     ratio: fixed(undo.median / cUntree.median, 2) + "x", spread: spreadText(undo),
                     target: "<= " + fixed(undoTarget, 1) + "x", result: undoOutcome.label),
        ])
        let effects = Double(2 * count)
        print("")
        print("floor: the system calls runbook makes for the same work (its checks, the journal's writes, the")
        print("console lines), made from C by bench-fs; runbook adds its start-up (W0) and its own code.")
        print("per effect: real run \(fixed((real.median - cTree.median) / effects / 1000, 2)) µs over C, "
            + "dry-run \(fixed((dry.median - cTree.median) / effects / 1000, 2)) µs, "
            + "undo \(fixed((undo.median - cUntree.median) / effects / 1000, 2)) µs (start-up included)")
        reportMiss("W1 tree", "the real run", realOutcome)
        reportMiss("W1 dry", "the dry-run", dryOutcome)
        reportMiss("W1 undo", "the undo", undoOutcome)
        return realOutcome.worse(dryOutcome).worse(undoOutcome)
    }
}
