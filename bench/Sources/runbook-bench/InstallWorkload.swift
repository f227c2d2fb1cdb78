// W6 install: the `install` runbook (runbooks/install.lua, a paid store) on the demo world
// that scripts/demo-world builds — a private MariaDB with the platform's schema and seed,
// Subversion checkouts of the shared codebases, nginx on 127.0.0.1 — in the bench's scratch
// space. Every round runs the dry-run, the real run and `runbook undo` of it (which puts the
// world back, so every round installs the same store into the same world). Whole processes.
//
// "Engine time" is the CPU time of the runbook process itself (user + system, from
// /proc/PID/schedstat: runbook is single-threaded), so it leaves out the time the process
// waits for MariaDB, and the programs a real run starts (mount, rsync, sendmail, nginx -t
// and reload), whose CPU is shown apart. A dry-run starts no program. Judged: the dry-run's
// engine time, at most 100 ms.

enum InstallWorkload {
    static let engineTarget = 100e6 // ns

    static let arguments = ["run", "--yes", "install", "--email", "bench@example.com", "--hostname", "shop.example.com",
                            "--hostname", "www.shop.example.com", "--plan", "paid"]

    struct Figures {
        var wall = Samples(), own = Samples(), children = Samples()

        mutating func add(_ run: MeasuredRun) {
            wall.values.append(run.nanoseconds)
            own.values.append(run.ownCPU)
            children.values.append(max(run.totalCPU - run.ownCPU, 0))
        }
    }

    static func run(_ options: BenchOptions) throws -> Outcome {
        let repetitions = options.repetitions ?? (options.quick ? 5 : 15)
        let programs = try Programs.locate(options)
        let project = try Programs.project(options)
        let scratch = try Scratch(options, name: "w6")
        defer { scratch.remove() }
        let world = scratch.path + "/world"
        let errorLog = scratch.path + "/stderr"
        try runChild([project + "/scripts/demo-world", world], errorLog: errorLog, output: scratch.path + "/world.out")
        defer { _ = try? runChild([project + "/scripts/demo-world", "stop", world], errorLog: "/dev/null") }
        let config = world + "/config.toml"
        let runs = world + "/state/runs"
        let base = [programs.runbook, "--config", config]

        /// The id of the run just made (the newest folder in the state's runs).
        func lastRun(after known: Set<String>) throws -> String {
            let fresh = listDirectory(runs).filter { !known.contains($0) }
            guard fresh.count == 1 else { throw BenchFailure("expected one new run in \(runs), found \(fresh)") }
            return fresh[0]
        }

        var dry = Figures(), real = Figures(), undo = Figures()
        func round(_ record: Bool) throws {
            let output = scratch.path + "/run.out"
            let plan = try runMeasured(base + arguments + ["--dry-run"], errorLog: errorLog, output: output)
            guard readTextFile(output).contains("Nothing was changed (dry-run)") else {
                throw BenchFailure("the dry-run of install did not end with its plan: \(readTextFile(output))")
            }
            let known = Set(listDirectory(runs))
            let applied = try runMeasured(base + arguments, errorLog: errorLog, output: output)
            let id = try lastRun(after: known)
            let undone = try runMeasured(base + ["undo", id], errorLog: errorLog, output: output)
            if record {
                dry.add(plan)
                real.add(applied)
                undo.add(undone)
            }
        }
        try round(false) // warm-up
        for _ in 1...repetitions { try round(true) }

        let outcome = Outcome(value: dry.own.median, target: engineTarget)
        print("W6 install: `install --plan paid` (2 hostnames) on the demo world (scripts/demo-world, on "
            + "\(scratch.filesystem)); whole processes, median of \(repetitions) rounds")
        print("")
        var rows: [TableRow] = []
        for (label, figures, judged) in [("dry-run", dry, true), ("real run", real, false), ("undo of the real run", undo, false)] {
            rows.append(TableRow(label: "\(label): wall", figure: milliseconds(figures.wall.median), spread: spreadText(figures.wall)))
            rows.append(TableRow(label: "\(label): engine time (runbook's CPU)", figure: milliseconds(figures.own.median),
                                 spread: spreadText(figures.own), target: judged ? "<= " + milliseconds(engineTarget) : "-",
                                 result: judged ? outcome.label : "-"))
            if !judged {
                rows.append(TableRow(label: "\(label): CPU of the programs it ran", figure: milliseconds(figures.children.median),
                                     spread: spreadText(figures.children)))
            }
        }
        printTable(rows)
        print("")
        print("engine time: CPU time of the runbook process alone (/proc/PID/schedstat), without the waits for MariaDB")
        print("and for the programs it starts (mount, rsync, sendmail, nginx -t, nginx -s reload: their CPU is shown apart);")
        print("wall: posix_spawn to exit. Each round: dry-run, real run, undo (the world is back as it was).")
        reportMiss("W6 install", "the dry-run's engine time", outcome)
        return outcome
    }
}
