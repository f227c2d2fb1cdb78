// Peers: Ansible (ansible-core) and pyinfra doing W0 and W1, next to runbook doing the same
// in the same run. bench/run --peers installs them from PyPI into bench/.venv (ignored by
// git) and passes --venv; without it this workload does not run.
//
//   W0: ansible-playbook of one play on localhost (connection: local, gather_facts: false)
//       with one no-op task (meta: noop); pyinfra @local with one no-op operation
//       (python.call of an empty function); runbook: `run noop` as in W0.
//   W1: the file module in a loop (state: directory, then state: link); pyinfra's
//       files.directory and files.link per site; runbook: `run tree` as in W1 — the same
//       N directories, each with a `lib` symlink, on the same tmpfs.
//
// The peers are slow at W1 (about 0.35 s per item for Ansible, 0.08 s for pyinfra on this
// machine class), so they run on fewer items than W1's 1,000 — Ansible on 100, pyinfra on
// 1,000 (--quick: 20 and 100; --peer-items N sets both) — and runbook is measured on the
// same number. The table says how many.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum PeersWorkload {
    static let noopPlaybook = """
        # W0's equivalent: one no-op task on localhost, no facts.
        - hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - name: nothing
              ansible.builtin.meta: noop

        """

    static let treePlaybook = """
        # W1's equivalent: DIR/site_1..COUNT, each with a lib symlink to CODEBASE.
        - hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - name: site folders
              ansible.builtin.file:
                path: "{{ dir }}/site_{{ item }}"
                state: directory
                mode: "0755"
              loop: "{{ range(1, count | int + 1) | list }}"
            - name: lib links
              ansible.builtin.file:
                src: "{{ codebase }}"
                dest: "{{ dir }}/site_{{ item }}/lib"
                state: link
              loop: "{{ range(1, count | int + 1) | list }}"

        """

    static let noopDeploy = """
        # W0's equivalent: one operation that does nothing.
        from pyinfra.operations import python


        def nothing():
            pass


        python.call(name="nothing", function=nothing)

        """

    static let treeDeploy = """
        # W1's equivalent: BENCH_DIR/site_1..BENCH_COUNT, each with a lib symlink to BENCH_CODEBASE.
        import os

        from pyinfra.operations import files

        tree, count, codebase = os.environ["BENCH_DIR"], int(os.environ["BENCH_COUNT"]), os.environ["BENCH_CODEBASE"]
        for i in range(1, count + 1):
            files.directory(name=f"site_{i}", path=f"{tree}/site_{i}", mode="755")
            files.link(name=f"site_{i}/lib", path=f"{tree}/site_{i}/lib", target=codebase)

        """

    struct Peer {
        var name: String
        var items: Int
        var noop: [String]
        var tree: (_ tree: String, _ count: Int, _ codebase: String) -> (argv: [String], environment: [String: String])
    }

    static func run(_ options: BenchOptions) throws -> Outcome {
        guard let venv = options.venv else {
            throw BenchFailure("the peers need their virtual environment: bench/run --peers makes bench/.venv (ansible-core, pyinfra)")
        }
        let bin = venv + "/bin"
        for program in ["ansible-playbook", "pyinfra", "python"] where access(bin + "/" + program, X_OK) != 0 {
            throw BenchFailure("\(bin)/\(program) is missing (rm -rf bench/.venv; bench/run --peers makes it again)")
        }
        let programs = try Programs.locate(options)
        let scratch = try Scratch(options, name: "peers")
        defer { scratch.remove() }
        let base = scratch.path
        let runbooks = base + "/runbooks", codebase = base + "/codebase/lib", tree = base + "/tree"
        for directory in [runbooks, base + "/codebase", codebase, tree, base + "/ansible", base + "/ansible/tmp"] {
            try makeDirectory(directory)
        }
        try writeTextFile(runbooks + "/noop.lua", StartupWorkload.noop)
        try writeTextFile(runbooks + "/tree.lua", TreeWorkload.runbook)
        try writeTextFile(base + "/noop.yml", noopPlaybook)
        try writeTextFile(base + "/tree.yml", treePlaybook)
        try writeTextFile(base + "/noop.py", noopDeploy)
        try writeTextFile(base + "/tree.py", treeDeploy)
        try writeTextFile(base + "/ansible.cfg", "")
        let errorLog = base + "/stderr"

        // Ansible as a user runs it, but nothing of it outside the scratch space: its home
        // and temporary files there (the tmpfs), no ansible.cfg from elsewhere, the venv's
        // Python for the modules (interpreter discovery may find a broken one).
        let ansibleEnvironment = [
            "ANSIBLE_HOME": base + "/ansible", "ANSIBLE_LOCAL_TEMP": base + "/ansible/tmp",
            "ANSIBLE_REMOTE_TEMP": base + "/ansible/tmp", "ANSIBLE_CONFIG": base + "/ansible.cfg",
            "ANSIBLE_PYTHON_INTERPRETER": bin + "/python", "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False", "ANSIBLE_NOCOLOR": "1",
        ]
        let quick = options.quick
        let peers = [
            Peer(name: "Ansible", items: options.peerItems ?? (quick ? 20 : 100),
                 noop: [bin + "/ansible-playbook", "-i", "localhost,", base + "/noop.yml"],
                 tree: { tree, count, codebase in
                     ([bin + "/ansible-playbook", "-i", "localhost,", base + "/tree.yml", "-e", "dir=" + tree,
                       "-e", "count=\(count)", "-e", "codebase=" + codebase], ansibleEnvironment)
                 }),
            Peer(name: "pyinfra", items: options.peerItems ?? (quick ? 100 : 1000),
                 noop: [bin + "/pyinfra", "-y", "@local", base + "/noop.py"],
                 tree: { tree, count, codebase in
                     ([bin + "/pyinfra", "-y", "@local", base + "/tree.py"],
                      ["BENCH_DIR": tree, "BENCH_COUNT": String(count), "BENCH_CODEBASE": codebase])
                 }),
        ]
        func environment(_ peer: Peer) -> [String: String] { peer.name == "Ansible" ? ansibleEnvironment : [:] }

        // W0: interleaved rounds, as in W0.
        let w0Runs = options.repetitions ?? (quick ? 3 : 7)
        let state = base + "/state"
        try makeDirectory(state)
        let runbookNoop = [programs.runbook, "run", "--yes", "noop", "--runbooks", runbooks, "--state-dir", state]
        var noop = Array(repeating: Samples(), count: peers.count + 1)
        for round in 0...w0Runs {
            let wall = try runChild(runbookNoop, errorLog: errorLog).nanoseconds
            if round > 0 { noop[0].values.append(wall) }
            for (index, peer) in peers.enumerated() {
                let wall = try runChild(peer.noop, errorLog: errorLog, output: base + "/peer.out",
                                        environment: environment(peer)).nanoseconds
                if round > 0 { noop[index + 1].values.append(wall) }
            }
        }

        // W1: each peer on its number of items, runbook on the same number; a few rounds.
        let w1Runs = options.repetitions.map { min($0, 3) } ?? (quick ? 1 : 3)
        func check(_ count: Int, _ who: String) throws {
            guard listDirectory(tree).count == count, isSymlink(tree + "/site_\(count)/lib") else {
                throw BenchFailure("\(who) did not make the \(count) sites (see \(base)/peer.out)")
            }
            try removeTree(tree)
            try makeDirectory(tree)
        }
        // (No warm-up round for the peers: W0 just ran them, so their files and caches are warm.)
        var trees: [(peer: Samples, runbook: Samples)] = []
        for peer in peers {
            var peerSamples = Samples(), runbookSamples = Samples()
            for round in 0...w1Runs {
                let runState = base + "/state-tree"
                try makeDirectory(runState)
                let words = [programs.runbook, "run", "--yes", "tree", "--dir", tree, "--count", String(peer.items), "--codebase", codebase,
                             "--runbooks", runbooks, "--state-dir", runState]
                let mine = try runChild(words, errorLog: errorLog).nanoseconds
                try removeTree(runState)
                try check(peer.items, "runbook run tree")
                guard round > 0 else { continue } // runbook's warm-up
                let (argv, variables) = peer.tree(tree, peer.items, codebase)
                let theirs = try runChild(argv, errorLog: errorLog, output: base + "/peer.out", environment: variables).nanoseconds
                try check(peer.items, peer.name)
                peerSamples.values.append(theirs)
                runbookSamples.values.append(mine)
            }
            trees.append((peerSamples, runbookSamples))
        }

        print("Peers: Ansible \(version(bin + "/ansible-playbook", base)) and pyinfra \(version(bin + "/pyinfra", base)) "
            + "(bench/.venv), on \(scratch.filesystem); median of \(w0Runs) runs (W0), \(w1Runs) (W1)")
        print("")
        var rows = [TableRow(label: "W0 runbook run noop", figure: milliseconds(noop[0].median), spread: spreadText(noop[0]))]
        for (index, peer) in peers.enumerated() {
            let theirs = noop[index + 1]
            rows.append(TableRow(label: "W0 \(peer.name): one no-op task", figure: milliseconds(theirs.median),
                                 baseline: "runbook " + milliseconds(noop[0].median),
                                 ratio: fixed(noop[0].median / theirs.median, 4) + "x", spread: spreadText(theirs)))
        }
        for (index, peer) in peers.enumerated() {
            let (theirs, mine) = trees[index]
            rows.append(TableRow(label: "W1 runbook run tree, \(peer.items) sites", figure: milliseconds(mine.median),
                                 spread: spreadText(mine)))
            rows.append(TableRow(label: "W1 \(peer.name): \(peer.items) sites", figure: duration(theirs.median),
                                 baseline: "runbook " + milliseconds(mine.median),
                                 ratio: fixed(mine.median / theirs.median, 4) + "x", spread: spreadText(theirs)))
        }
        printTable(rows)
        print("")
        print("ratio: runbook's time over the peer's (0.01x: runbook takes a hundredth of the time). No targets.")
        for (index, peer) in peers.enumerated() {
            let (theirs, mine) = trees[index]
            print("\(peer.name): W0 \(fixed(noop[index + 1].median / noop[0].median, 0))x runbook's time; "
                + "W1 \(fixed(theirs.median / mine.median, 0))x (\(fixed(theirs.median / Double(2 * peer.items) / 1e6, 1)) ms "
                + "per directory or link, runbook \(fixed(mine.median / Double(2 * peer.items) / 1e3, 1)) µs)"
                + (peer.items < 1000 ? "; on \(peer.items) sites, not W1's 1,000" : ""))
        }
        return .met
    }

    /// `program --version`'s version number ("2.19.14", "v3.10.0"), or "?".
    static func version(_ program: String, _ scratch: String) -> String {
        let output = scratch + "/version.out"
        guard (try? runChild([program, "--version"], errorLog: "/dev/null", output: output)) != nil else { return "?" }
        let first = readTextFile(output).split(separator: "\n").first.map(String.init) ?? ""
        // "ansible-playbook [core 2.19.14]" / "pyinfra: v3.10.0"
        let word = first.split(separator: " ").last.map { String($0).filter { $0 != "]" && $0 != "v" } } ?? "?"
        return word.isEmpty ? "?" : word
    }
}
