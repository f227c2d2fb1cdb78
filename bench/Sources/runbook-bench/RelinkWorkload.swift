// W2 relink: retarget N symlinks (10,000: 100 directories of 100 links) from one codebase
// to another with `fs.relink_tree` (the guide's "change the install's codebase"), a real
// run with its journal, against a C loop of unlink+symlink over the same links. Whole
// processes, on a tmpfs. The rounds alternate the direction (A to B by runbook, B to A by
// C), so every run starts from links all pointing into one codebase.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum RelinkWorkload {
    static let target = 3.0
    static let linksPerDirectory = 100

    static let runbook = """
        -- W2: point every symlink under DIR from one codebase at another.
        return runbook {
          summary = "Retargets every symlink under DIR from FROM to TO (the relink benchmark)",
          params = {
            dir  = { type = "path", required = true, doc = "the tree of links" },
            from = { type = "path", required = true, doc = "the old codebase" },
            to   = { type = "path", required = true, doc = "the new codebase" },
          },
          run = function(args)
            step("relink to the new codebase", function()
              fs.relink_tree(args.dir, args.from, args.to)
            end)
          end,
        }

        """

    static func run(_ options: BenchOptions) throws -> Outcome {
        let requested = options.iterations ?? 10_000
        let directories = max(1, (requested + linksPerDirectory - 1) / linksPerDirectory)
        let count = directories * linksPerDirectory
        let repetitions = options.repetitions ?? (options.quick ? 5 : 11)
        let programs = try Programs.locate(options)
        let scratch = try Scratch(options, name: "w2")
        defer { scratch.remove() }
        let base = scratch.path
        let runbooks = base + "/runbooks", codeA = base + "/code_a", codeB = base + "/code_b", tree = base + "/tree"
        for directory in [runbooks, codeA, codeB, tree] { try makeDirectory(directory) }
        try writeTextFile(runbooks + "/relink.lua", runbook)
        let errorLog = base + "/stderr"
        let d = String(directories), l = String(linksPerDirectory)
        try runChild([programs.cBaseline, "links", tree, d, l, codeA], errorLog: errorLog)

        func pointsInto(_ prefix: String) -> Bool {
            readLinkTarget(tree + "/d_\(directories)/l_\(linksPerDirectory)") == prefix + "/f_\(linksPerDirectory)"
        }

        func round(_ number: Int) throws -> (runbook: Double, c: Double) {
            let state = base + "/state-\(number)"
            try makeDirectory(state)
            defer { try? removeTree(state) }
            let relink = try runChild([programs.runbook, "run", "--yes", "relink", "--dir", tree, "--from", codeA, "--to", codeB,
                                       "--runbooks", runbooks, "--state-dir", state], errorLog: errorLog)
            guard pointsInto(codeB) else { throw BenchFailure("the runbook did not retarget the links to \(codeB)") }
            let c = try runChild([programs.cBaseline, "relink", tree, d, l, codeA], errorLog: errorLog)
            guard pointsInto(codeA) else { throw BenchFailure("bench-fs relink did not retarget the links to \(codeA)") }
            return (relink.nanoseconds, c.nanoseconds)
        }

        _ = try round(0) // warm-up
        var relink = Samples(), c = Samples()
        for number in 1...repetitions {
            let sample = try round(number)
            relink.values.append(sample.runbook)
            c.values.append(sample.c)
        }
        let ratio = relink.median / c.median
        let outcome = Outcome(value: ratio, target: target)

        print("W2 relink: \(count) symlinks in \(directories) directories, retargeted to another codebase; "
            + "whole processes, median of \(repetitions) runs, on \(scratch.filesystem)")
        print("")
        printTable([
            TableRow(label: "C: unlink+symlink x\(count)", figure: milliseconds(c.median), spread: spreadText(c)),
            TableRow(label: "W2 relink: fs.relink_tree", figure: milliseconds(relink.median),
                     baseline: "C unlink+symlink " + milliseconds(c.median), ratio: fixed(ratio, 2) + "x",
                     spread: spreadText(relink), target: "<= " + fixed(target, 1) + "x", result: outcome.label),
        ])
        print("")
        print("per link: \(fixed((relink.median - c.median) / Double(count) / 1000, 2)) µs over C (start-up included)")
        reportMiss("W2 relink", "fs.relink_tree", outcome)
        return outcome
    }

    static func readLinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let length = readlink(path, &buffer, 4096)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
