// W7 remote tree and W8 fan-out, in a lab of their own (scripts/lab up, taken down after):
// everything is started on d1 with `scripts/lab exec` and talks to the other hosts over the
// lab's network only.
//
// W7: a runbook on d1 makes N directories (1,000), each with a symlink, on d2 through
// `on("d2")` (runbook's agent there, one ssh session), against bench-fs making the same
// mkdir+symlink calls on d2, started once over the same kind of ssh connection.
// W8: the same work split over 4 agents (two on d1, two on d2: the lab's runbook hosts)
// with `parallel`, against one host doing a quarter of it; and the start-up a run pays to
// connect to 2 hosts, against a run that connects to none.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum RemoteWorkload {
    static let treeTarget = 3.0
    static let fanOutTarget = 1.5
    static let connectTargetMilliseconds = 50.0

    static let runbook = """
        return runbook {
          summary = "W7/W8: N site folders with a link, on the hosts named, in parallel",
          params = {
            hosts = { type = "string", required = true, doc = "comma-separated [hosts] names" },
            count = { type = "int", required = true, min = 0 },
            dir   = { type = "string", required = true },
          },
          run = function(args)
            local hosts = {}
            for host in args.hosts:gmatch("[^,]+") do
              if host ~= "-" then hosts[#hosts + 1] = host end
            end
            step("trees", function()
              parallel(hosts, function(host)
                on(host, function()
                  local base = args.dir .. "/" .. host
                  fs.mkdir(base)
                  for i = 1, args.count do
                    fs.mkdir(base .. "/site_" .. i)
                    fs.symlink("/home/shared_codes", base .. "/site_" .. i .. "/lib")
                  end
                end)
              end)
            end)
          end,
        }
        """

    /// A lab of the workload's own; `down` when the workload ends.
    final class Lab {
        let directory: String
        let project: String
        let files: [String: String]

        init(project: String, directory: String) throws {
            self.project = project
            self.directory = directory
            try? removeTree(directory)
            _ = try runChild([project + "/scripts/lab", "up", "--owner", String(getpid()), directory], errorLog: directory + ".log")
            var files: [String: String] = [:]
            for line in readTextFile(directory + "/lab.env").split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                for host in ["d1", "d2"] where parts[0] == "LAB_\(host.uppercased())_FILES" {
                    files[host] = String(parts[1].filter { $0 != "'" && $0 != "\"" })
                }
            }
            guard files["d1"] != nil, files["d2"] != nil else { throw BenchFailure("scripts/lab up gave no lab.env in \(directory)") }
            self.files = files
        }

        /// `argv` on `host`, timed as a whole process (the lab's exec included).
        func exec(_ host: String, _ argv: [String], errorLog: String, output: String = "/dev/null") throws -> ChildRun {
            try runChild([project + "/scripts/lab", "exec", directory, host, "--"] + argv, errorLog: errorLog, output: output)
        }

        func down() { _ = try? runChild([project + "/scripts/lab", "down", directory], errorLog: "/dev/null") }
    }

    static func run(_ options: BenchOptions) throws -> Outcome {
        let count = options.iterations ?? 1000
        let repetitions = options.repetitions ?? (options.quick ? 3 : 7)
        let programs = try Programs.locate(options)
        let project = try Programs.project(options)
        // The lab on the tmpfs, as W1's tree: on a disk, mkdir and symlink after many rm -rf
        // cost ~1 ms each and swamp every ratio (the journal's fsyncs too).
        guard let scratch = options.scratch, let disk = options.diskScratch else {
            throw BenchFailure("W7/W8 need --scratch and --disk-scratch (bench/run passes them)")
        }
        let lab = try Lab(project: project, directory: scratch + "/lab")
        defer { lab.down() }
        let d1 = lab.files["d1"]!, d2 = lab.files["d2"]!
        let errorLog = disk + "/remote.stderr"

        // d1's configuration: four agents (two per host), each its own ssh session.
        try makeDirectory(d1 + "/etc/runbook/bench")
        try writeTextFile(d1 + "/etc/runbook/bench/remote_tree.lua", runbook)
        var config = "state_dir = \"/var/lib/runbook\"\nrunbooks = [\"/etc/runbook/bench\"]\n"
        for (name, address) in [("d2", "10.0.0.2"), ("d2b", "10.0.0.2"), ("d1a", "10.0.0.1"), ("d1b", "10.0.0.1")] {
            config += "\n[hosts.\(name)]\naddress = \"\(address)\"\nrunbook = [\"\(programs.runbook)\", \"--config\", \"/etc/runbook/config.toml\"]\n"
        }
        try writeTextFile(d1 + "/etc/runbook/bench.toml", config)
        let runbookOnD1 = [programs.runbook, "--config", "/etc/runbook/bench.toml", "run", "remote_tree", "--yes", "-q"]
        func tree(_ hosts: String, _ count: Int) -> [String] { runbookOnD1 + ["--hosts", hosts, "--count", String(count), "--dir", "/usr/home/bench"] }
        func clean() {
            for root in [d1, d2] { try? removeTree(root + "/usr/home/bench"); try? removeTree(root + "/usr/home/bench-c") }
            try? makeDirectory(d1 + "/usr/home/bench")
            try? makeDirectory(d2 + "/usr/home/bench")
            try? makeDirectory(d2 + "/usr/home/bench-c")
            try? makeDirectory(d2 + "/usr/home/bench-c/t")
        }
        let cOnD2 = ["ssh", "-o", "BatchMode=yes", "10.0.0.2", programs.cBaseline, "tree", "/usr/home/bench-c/t", String(count), "/home/shared_codes"]

        var remote = Samples(), cRemote = Samples(), one = Samples(), four = Samples(), none = Samples(), two = Samples()
        for round in 0...repetitions {
            clean()
            let w7 = try lab.exec("d1", tree("d2", count), errorLog: errorLog)
            guard listDirectory(d2 + "/usr/home/bench/d2").count == count else { throw BenchFailure("W7 did not make \(count) sites on d2") }
            let c = try lab.exec("d1", cOnD2, errorLog: errorLog)
            guard listDirectory(d2 + "/usr/home/bench-c/t").count == count else { throw BenchFailure("bench-fs did not make \(count) sites on d2") }
            clean()
            let oneHost = try lab.exec("d1", tree("d2", count / 4), errorLog: errorLog)
            clean()
            let fourHosts = try lab.exec("d1", tree("d2,d2b,d1a,d1b", count / 4), errorLog: errorLog)
            guard listDirectory(d1 + "/usr/home/bench/d1b").count == count / 4 else { throw BenchFailure("W8 did not make the sites on d1") }
            clean()
            let zero = try lab.exec("d1", tree("-", 0), errorLog: errorLog)
            let twoHosts = try lab.exec("d1", tree("d2,d1a", 0), errorLog: errorLog)
            guard round > 0 else { continue } // warm-up
            remote.values.append(w7.nanoseconds)
            cRemote.values.append(c.nanoseconds)
            one.values.append(oneHost.nanoseconds)
            four.values.append(fourHosts.nanoseconds)
            none.values.append(zero.nanoseconds)
            two.values.append(twoHosts.nanoseconds)
        }
        clean()

        let treeOutcome = Outcome(value: remote.median / cRemote.median, target: treeTarget)
        let fanOutOutcome = Outcome(value: four.median / one.median, target: fanOutTarget)
        let connect = (two.median - none.median) / 1e6
        let connectOutcome = Outcome(value: connect, target: connectTargetMilliseconds)
        print("W7 remote tree and W8 fan-out: in a lab (scripts/lab), started on d1; median of \(repetitions) rounds")
        print("")
        let cText = "C over ssh " + milliseconds(cRemote.median)
        printTable([
            TableRow(label: "C: bench-fs tree x\(count) on d2 (ssh)", figure: milliseconds(cRemote.median), spread: spreadText(cRemote)),
            TableRow(label: "W7: on(\"d2\") x\(count) mkdir+symlink", figure: milliseconds(remote.median), baseline: cText,
                     ratio: fixed(remote.median / cRemote.median, 2) + "x", spread: spreadText(remote),
                     target: "<= " + fixed(treeTarget, 1) + "x", result: treeOutcome.label),
            TableRow(label: "W8: one host, \(count / 4) sites", figure: milliseconds(one.median), spread: spreadText(one)),
            TableRow(label: "W8: 4 agents in parallel, \(count / 4) each", figure: milliseconds(four.median),
                     baseline: "one host " + milliseconds(one.median), ratio: fixed(four.median / one.median, 2) + "x",
                     spread: spreadText(four), target: "<= " + fixed(fanOutTarget, 1) + "x", result: fanOutOutcome.label),
            TableRow(label: "a run reaching 2 hosts, no effect", figure: milliseconds(two.median),
                     baseline: "no host " + milliseconds(none.median), ratio: "+" + fixed(connect, 1) + " ms",
                     spread: spreadText(two), target: "<= +" + fixed(connectTargetMilliseconds, 0) + " ms", result: connectOutcome.label),
        ])
        print("")
        print("per remote effect: \(fixed((remote.median - cRemote.median) / Double(2 * count) / 1000, 1)) µs over C (start-up included)")
        reportMiss("W7 remote tree", "the remote tree", treeOutcome)
        reportMiss("W8 fan-out", "the fan-out", fanOutOutcome)
        reportMiss("W8 connect", "connecting to 2 hosts", connectOutcome)
        return treeOutcome.worse(fanOutOutcome).worse(connectOutcome)
    }
}
