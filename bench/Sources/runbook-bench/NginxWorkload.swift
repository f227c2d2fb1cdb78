// W5 nginx: the nginx configuration of N installs (10,000) with 2 sites each, rendered by
// stdlib/nginx.lua — the code rebuild-nginx runs — at 1,000 and at N installs, to show
// how it grows. Two measurements:
//
//   * run: `runbook run` of a runbook that loads the world from a private MariaDB with the
//     platform's internal schema (nginx.load: five queries), renders it and writes the file
//     (fs.write, journaled): whole processes. Judged: at most 1 s for N installs, and linear
//     growth: per install, N installs take at most 1.1x the instructions 1,000 take (counted
//     by valgrind's callgrind: exact, whatever the machine's load), the run's fixed cost (the
//     same run on a database with no installs) taken out of both. Shown beside it: the same
//     ratio for the wall time, the runbook process's own CPU time and its page faults. The
//     times swing by tens of percent between full runs on a shared machine (a run of N
//     installs lasts ten times longer and catches more of its noise); without valgrind, and
//     in quick mode, the CPU time's ratio is judged instead, at most 1.25x.
//   * render: `nginx.render(world)` alone, in-process, in a LuaState with the sandbox and
//     module path a runbook gets, on a world built beforehand (not timed) with the rows
//     nginx.load would return: the rendering's own growth in time, shown, not judged.
//
// The database rows (SQL below) and the in-process world (Lua below) are the same world:
// half the installs paid (upstreams on both dispatchers, SSL on the first site), every
// tenth with custom rewrites, every twentieth with a cloud handler; one IP per site.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import LuaBridge

enum NginxWorkload {
    static let secondsTarget = 1.0
    /// Per-install cost at N over per-install cost at 1,000.
    static let growthTarget = 1.25
    /// Instructions per install at N over those at 1,000.
    static let instructionGrowthTarget = 1.1
    static let smallSize = 1000

    static let rule1 = "rewrite ^/old$ /new permanent;"
    static let rule2 = "rewrite ^/sale$ /catalog/sale redirect;"
    /// PHP-serialized, as installs.custom_rewrites holds them.
    static var rewrites: String {
        "a:2:{i:0;s:\(rule1.utf8.count):\"\(rule1)\";i:1;s:\(rule2.utf8.count):\"\(rule2)\";}"
    }

    static let runbook = """
        -- W5: the nginx config of every install in the database, as rebuild-nginx renders it.
        local nginx = require("nginx")

        return runbook {
          summary = "Loads the installs of CONNECTION, renders their nginx config, writes OUTPUT (the nginx benchmark)",
          params = {
            connection = { type = "string", required = true, doc = "the internal database" },
            output = { type = "path", required = true, doc = "the file to write" },
          },
          run = function(args)
            local world, text
            step("load the installs", function() world = nginx.load(args.connection) end)
            step("render the config", function() text = nginx.render(world) end)
            step("write the config", function() fs.write(args.output, text) end)
          end,
        }

        """

    /// The world of `n` installs in the internal schema (after schema/internal.sql).
    static func populate(_ n: Int) -> String {
        let home = "CONCAT('/usr/home/store', seq)"
        let handlers = """
            INSERT INTO handlers (id, hostname, private_ip, public_ip, kind, weight, carp_interface) VALUES
              (1, 'dispatch1.make-a-store.com', '10.0.0.1', '192.0.2.1', 'dispatcher', 1, 'carp1'),
              (2, 'dispatch2.make-a-store.com', '10.0.0.2', '198.51.100.1', 'dispatcher', 1, 'carp2'),
              (3, 'tmp-cloud.make-a-store.com', '10.0.4.1', NULL, 'cloud', 1, NULL);

            """
        guard n > 0 else { return handlers }
        return handlers + """
            INSERT INTO installs (id, email, db_name, db_user, fs_name, home_dir, shared_code_group_id,
                                  master_handler_id, free, license, dynamic_ips, custom_rewrites)
              SELECT seq, CONCAT('owner', seq, '@example.com'), CONCAT('store', seq), CONCAT('store', seq),
                     CONCAT('store', seq), \(home), 1, 1 + seq % 2, seq % 2, IF(seq % 2 = 1, 'free', 'paid'),
                     1 - seq % 2, IF(seq % 10 = 0, '\(rewrites)', NULL)
              FROM seq_1_to_\(n);
            INSERT INTO install_sites (id, install_id, hostname, secure_hostname, ssl_pem, ssl_key)
              SELECT 2 * seq - 1, seq, CONCAT('shop', seq, '.example.com'), CONCAT('shop', seq, '.example.com'),
                     IF(seq % 2 = 0, CONCAT(\(home), '/certs/shop.pem'), NULL),
                     IF(seq % 2 = 0, CONCAT(\(home), '/certs/shop.key'), NULL)
              FROM seq_1_to_\(n)
              UNION ALL
              SELECT 2 * seq, seq, CONCAT('www.shop', seq, '.example.com'), CONCAT('secure.shop', seq, '.example.com'),
                     NULL, NULL
              FROM seq_1_to_\(n);
            INSERT INTO install_site_ips (id, install_site_id, ip, handler_id)
              SELECT seq, seq, CONCAT('10.', (seq >> 16) & 255, '.', (seq >> 8) & 255, '.', seq & 255), 1
              FROM seq_1_to_\(2 * n);
            INSERT INTO install_handlers (install_id, handler_id, weight)
              SELECT seq, 3, 2 FROM seq_1_to_\(n) WHERE seq % 20 = 0;

            """
    }

    /// The same world as Lua rows (nil for NULL, as db.query gives them), and the render.
    static let inProcess = """
        local rewrites = ...
        local function make(n)
          local world = {
            handlers = {
              { id = 1, hostname = "dispatch1.make-a-store.com", private_ip = "10.0.0.1", kind = "dispatcher", weight = 1 },
              { id = 2, hostname = "dispatch2.make-a-store.com", private_ip = "10.0.0.2", kind = "dispatcher", weight = 1 },
              { id = 3, hostname = "tmp-cloud.make-a-store.com", private_ip = "10.0.4.1", kind = "cloud", weight = 1 },
            },
            installs = {}, sites = {}, site_ips = {}, install_handlers = {},
          }
          for s = 1, n do
            local home = "/usr/home/store" .. s
            local paid = s % 2 == 0
            world.installs[s] = { id = s, fs_name = "store" .. s, home_dir = home, master_handler_id = 1 + s % 2,
                                  free = s % 2, custom_rewrites = s % 10 == 0 and rewrites or nil }
            world.sites[2 * s - 1] = { id = 2 * s - 1, install_id = s, hostname = "shop" .. s .. ".example.com",
                                       secure_hostname = "shop" .. s .. ".example.com",
                                       ssl_pem = paid and (home .. "/certs/shop.pem") or nil,
                                       ssl_key = paid and (home .. "/certs/shop.key") or nil }
            world.sites[2 * s] = { id = 2 * s, install_id = s, hostname = "www.shop" .. s .. ".example.com",
                                   secure_hostname = "secure.shop" .. s .. ".example.com" }
            if s % 20 == 0 then
              world.install_handlers[#world.install_handlers + 1] = { install_id = s, handler_id = 3, weight = 2 }
            end
          end
          for id = 1, 2 * n do
            world.site_ips[id] = { id = id, install_site_id = id,
                                   ip = ("10.%d.%d.%d"):format((id >> 16) & 255, (id >> 8) & 255, id & 255) }
          end
          return world
        end
        w5.nginx = require("nginx")
        w5.worlds = {}
        w5.prepare = function(n) w5.worlds[n] = make(n) end
        """

    struct Case {
        var installs: Int
        var config: String
        var render = Samples()
        var run = Samples()
        var cpu = Samples()
        var faults = Samples()
        var instructions = Double.nan
        var renderBytes = 0
        var fileBytes = 0
    }

    static func run(_ options: BenchOptions) throws -> Outcome {
        let size = options.iterations ?? 10_000
        let repetitions = options.repetitions ?? (options.quick ? 3 : 7)
        let programs = try Programs.locate(options)
        let project = try Programs.project(options)
        let scratch = try Scratch(options, name: "w5")
        defer { scratch.remove() }
        let base = scratch.path
        let runbooks = base + "/runbooks"
        try makeDirectory(runbooks)
        try writeTextFile(runbooks + "/nginx-render.lua", runbook)
        let errorLog = base + "/stderr"

        // The databases: one per size, in the private MariaDB on the tmpfs.
        let server = try SharedDatabases.memory(options)
        let schema = readTextFile(project + "/schema/internal.sql")
        guard !schema.isEmpty else { throw BenchFailure("cannot read \(project)/schema/internal.sql") }
        var cases: [Case] = []
        // 0 installs: the run's fixed cost (start-up, five empty queries, a small file).
        for installs in size == smallSize ? [0, smallSize] : [0, smallSize, size] {
            let name = "bench_w5_\(installs)"
            try server.sql("DROP DATABASE IF EXISTS \(name); CREATE DATABASE \(name);", scratch: base)
            try server.sql(schema + "\n" + populate(installs), database: name, scratch: base)
            let config = base + "/config-\(installs).toml"
            try writeTextFile(config, """
                # W5: the internal database of \(installs) installs (private MariaDB on \(server.filesystem)).
                [databases.internal]
                socket = "\(server.socket)"
                user = "root"
                database = "\(name)"

                """)
            cases.append(Case(installs: installs, config: config))
        }

        // In-process: the sandbox and module path a runbook gets.
        let state = try LuaState(sandbox: LuaSandbox(modulePaths: [project + "/stdlib"]))
        defer { state.close() }
        try state.setGlobal("w5", .table(LuaTable()))
        try state.run(inProcess, chunkName: "=w5-world", arguments: [.string(Array(rewrites.utf8))])
        let prepare = try state.load("w5.prepare(...)", chunkName: "=w5-prepare")
        let render = try state.load("local text = w5.nginx.render(w5.worlds[...]); return #text", chunkName: "=w5-render")
        for item in cases where item.installs > 0 { try state.call(prepare, [.integer(Int64(item.installs))]) }

        func arguments(_ index: Int, state: String, output: String) -> [String] {
            ["--config", cases[index].config, "run", "--yes", "nginx-render", "--connection", "internal", "--output", output,
             "--runbooks", runbooks, "--state-dir", state]
        }

        func round(_ number: Int) throws {
            for index in cases.indices {
                let installs = Int64(cases[index].installs)
                if installs > 0 {
                    let start = monotonicNanoseconds()
                    let result = try state.call(render, [.integer(installs)])
                    let end = monotonicNanoseconds()
                    cases[index].render.values.append(Double(end - start))
                    cases[index].renderBytes = Int(result.first?.integerValue ?? 0)
                }

                let state = base + "/state-\(number)", output = base + "/installs.conf"
                try makeDirectory(state)
                defer { try? removeTree(state); try? removeTree(output) }
                let run = try runMeasured([programs.runbook] + arguments(index, state: state, output: output),
                                          errorLog: errorLog)
                cases[index].run.values.append(run.nanoseconds)
                cases[index].cpu.values.append(run.ownCPU)
                cases[index].faults.values.append(run.minorFaults)
                var info = stat()
                cases[index].fileBytes = lstat(output, &info) == 0 ? Int(info.st_size) : -1
            }
        }
        try round(0) // warm-up
        for index in cases.indices {
            cases[index].render.values = []
            cases[index].run.values = []
            cases[index].cpu.values = []
            cases[index].faults.values = []
        }
        for number in 1...repetitions { try round(number) }

        // Each size once more, under callgrind (full mode: ~30 s).
        let counter = options.quick ? nil : InstructionCounter.prepare(programs, errorLog: errorLog)
        if let counter {
            defer { counter.remove() }
            for index in cases.indices {
                let state = base + "/state-callgrind", output = base + "/installs.conf"
                try makeDirectory(state)
                defer { try? removeTree(state); try? removeTree(output) }
                cases[index].instructions = try counter.count(arguments(index, state: state, output: output), errorLog: errorLog)
            }
        }

        let empty = cases[0], small = cases[1], large = cases[cases.count - 1]
        /// Per install at N over per install at 1,000, the fixed cost (0 installs) taken out.
        func growth(_ figure: (Case) -> Double) -> Double {
            ((figure(large) - figure(empty)) / Double(large.installs)) / ((figure(small) - figure(empty)) / Double(small.installs))
        }
        let runGrowth = growth { $0.run.median }, cpuGrowth = growth { $0.cpu.median }
        let faultGrowth = growth { $0.faults.median }, instructionGrowth = growth { $0.instructions }
        let renderGrowth = (large.render.median / Double(large.installs)) / (small.render.median / Double(small.installs))
        let growthOutcome = cases.count <= 2 ? .met
            : counter != nil ? Outcome(value: instructionGrowth, target: instructionGrowthTarget) : Outcome(value: cpuGrowth, target: growthTarget)
        let runOutcome = Outcome(value: large.run.median, target: secondsTarget * 1e9)

        print("W5 nginx: the nginx config of \(smallSize) and \(size) installs (2 sites each) by stdlib/nginx.lua; "
            + "median of \(repetitions) runs")
        print("")
        func perInstall(_ nanoseconds: Double, _ installs: Int) -> String { fixed(nanoseconds / Double(installs) / 1000, 2) + " µs" }
        var rows = [TableRow(label: "run: load + render + write, 0 installs", figure: milliseconds(empty.run.median),
                             spread: spreadText(empty.run))]
        for item in cases.dropFirst() {
            let judged = item.installs == large.installs
            rows.append(TableRow(label: "run: load + render + write, \(item.installs)", figure: milliseconds(item.run.median),
                                 spread: spreadText(item.run), target: judged ? "<= " + fixed(secondsTarget * 1000, 0) + " ms" : "-",
                                 result: judged ? runOutcome.label : "-"))
        }
        if cases.count > 2 {
            let versus = "\(large.installs) vs \(small.installs)"
            /// One "per install" row: the figure at N and at 1,000 (fixed cost out), their ratio.
            func row(_ label: String, _ figure: (Case) -> Double, _ ratio: Double, unit: (Double) -> String,
                     judged target: Double?) -> TableRow {
                func perInstall(_ item: Case) -> String { unit((figure(item) - figure(empty)) / Double(item.installs)) }
                return TableRow(label: label, figure: perInstall(large), baseline: perInstall(small), ratio: fixed(ratio, 2) + "x",
                                target: target.map { "<= " + fixed($0, 2) + "x" } ?? "-", result: target == nil ? "-" : growthOutcome.label)
            }
            func microseconds(_ nanoseconds: Double) -> String { fixed(nanoseconds / 1000, 2) + " µs" }
            rows.append(row("run: wall per install, \(versus)", { $0.run.median }, runGrowth, unit: microseconds, judged: nil))
            rows.append(row("run: engine CPU per install, \(versus)", { $0.cpu.median }, cpuGrowth, unit: microseconds,
                            judged: counter == nil ? growthTarget : nil))
            rows.append(row("run: page faults per install, \(versus)", { $0.faults.median }, faultGrowth, unit: { fixed($0, 2) },
                            judged: nil))
            if counter != nil {
                rows.append(row("run: instructions per install, \(versus)", { $0.instructions }, instructionGrowth,
                                unit: { fixed($0 / 1000, 1) + " k" }, judged: instructionGrowthTarget))
            }
        }
        for item in cases.dropFirst() {
            rows.append(TableRow(label: "render alone, \(item.installs) (in-process)", figure: milliseconds(item.render.median),
                                 spread: spreadText(item.render)))
        }
        if cases.count > 2 {
            rows.append(TableRow(label: "render alone: per install, \(large.installs) vs \(small.installs)",
                                 figure: perInstall(large.render.median, large.installs),
                                 baseline: perInstall(small.render.median, small.installs), ratio: fixed(renderGrowth, 2) + "x"))
        }
        printTable(rows)
        print("")
        print("run: `runbook run` of a runbook doing nginx.load (private MariaDB on \(server.filesystem)), nginx.render and fs.write,")
        print("a whole process; per install: with the fixed cost (the run on 0 installs) taken out. engine CPU: the runbook")
        print("process's own (not MariaDB's); page faults: the memory it touched; instructions: one run of each size under")
        print(counter != nil ? "valgrind's callgrind, exact whatever the machine's load: judged."
            : "callgrind: " + (options.quick ? "not in quick mode" : "valgrind (or strip) is not usable here") + ", so the CPU time is judged.")
        print("render alone: nginx.render on a world built beforehand, in a sandboxed LuaState with stdlib/ (no start-up,")
        print("no database).")
        print("Output at \(large.installs) installs: \(large.renderBytes) bytes rendered in-process, \(large.fileBytes) written by the run.")
        reportMiss("W5 nginx", "the run at \(large.installs) installs", runOutcome)
        reportMiss("W5 nginx", "the run's growth per install", growthOutcome)
        return runOutcome.worse(growthOutcome)
    }
}
