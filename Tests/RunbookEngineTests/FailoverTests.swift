// The failover runbooks for real, with the database down (the config points at a socket
// that does not exist): failover-ips moves addresses between two network namespaces the
// test creates (never the root namespace), failover-db rewrites config.php files in a
// sandbox tree, and reaches the "other dispatcher" — a second tree — through a local sshd
// with a throwaway key.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing


@Suite(.serialized) struct FailoverTests {
    // MARK: failover-ips

    @Test func failoverIPsTakesAndReleasesTheSectionsAddressesInsideNamespaces() throws {
        let net = try NamespacePair(7)
        let box = try Sandbox()
        try box.writeConfigWithTheDatabaseDown(root: box.tree)
        let s = net.subnet
        let (free1, free2, answering, other) = ("\(s).50", "\(s).51", "\(s).60", "\(s).201")
        // The other dispatcher still has .60: it answers ping, so it must not be taken.
        try system(["ip", "-n", net.b, "addr", "add", "\(answering)/32", "dev", net.interfaceB])
        try Files.mkdir(box.tree + "/usr/local/etc")
        // The guide's format: sections, `interface = NIC`, `ips :` with continuation lines.
        try Files.write(box.tree + "/usr/local/etc/mas_ip_manager.cfg", """
            # /usr/local/etc/mas_ip_manager.cfg
            [carp1]
            interface = \(net.interfaceA)
            ips : \(other)

            [carp2]
            interface = \(net.interfaceA)
            ips : \(free1)
                  \(free2)
                  \(answering)

            """)
        // The other side records the addresses a gratuitous ARP announces (Linux keeps only
        // neighbours it asked for, unless arp_accept).
        try system(["ip", "netns", "exec", net.b, "sysctl", "-q", "-w", "net.ipv4.conf.\(net.interfaceB).arp_accept=1"])
        let inA: ([String]) throws -> ChildResult = { try box.runbook(inNamespace: net.a, $0) }
        let onA = { try net.addresses(net.a, net.interfaceA) }
        let before = try onA()

        // The engine lists and describes without the database.
        let list = try inA(["list"])
        #expect(list.exitCode == 0 && list.stdout.contains("failover-ips"), "\(list)")

        // A dry-run pings (a read) and plans; it changes nothing.
        let plan = try inA(["run", "failover-ips", "--carp", "carp2", "--action", "LINK_DOWN", "--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("+ add address \(free1) to \(net.interfaceA)"), "\(plan)")
        #expect(plan.stdout.contains("+ add address \(free2) to \(net.interfaceA)"), "\(plan)")
        #expect(!plan.stdout.contains("add address \(answering)"), "\(plan)")
        #expect(plan.stdout.contains("\(answering) still answers ping"), "\(plan)")
        #expect(try onA() == before, "a dry-run must not add addresses")

        // LINK_DOWN for real: exactly what the dry-run planned.
        let down = try box.planAndRun(["failover-ips", "--carp", "carp2", "--action", "LINK_DOWN"], runner: inA)
        #expect(down.exitCode == 0, "\(down)")
        var now = try onA()
        #expect(now.contains(free1) && now.contains(free2), "\(now)")
        #expect(!now.contains(answering), "an address that answers ping is left to the host that has it")
        #expect(!now.contains(other), "only the event's section moves")
        // The taking side announced free2 (arping -U, in the background): the other side knows
        // where it is now without having asked.
        let announced = Clock.monotonic() + 3
        var neighbour = ""
        while !neighbour.contains("lladdr") && Clock.monotonic() < announced {
            neighbour = (try? ProcessRunner.run(["ip", "-n", net.b, "neigh", "show", free2, "dev", net.interfaceB], timeout: 5).outputText) ?? ""
            usleep(50_000)
        }
        #expect(neighbour.contains("lladdr"), "a gratuitous ARP announced \(free2): \(neighbour)")
        #expect(net.pings(from: net.b, free1), "the other side reaches a taken address")
        #expect(down.events("log").contains { $0["message"]?.stringValue?.contains("\(answering) still answers ping") == true },
                "the skipped address is logged\n\(down)")

        // undo of LINK_DOWN removes what it added.
        let downID = try #require(down.runID)
        let undo = try inA(["undo", downID])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(try onA() == before, "undo of LINK_DOWN removes the addresses")

        // LINK_DOWN again, then again: the second run changes nothing.
        let again = try inA(["run", "failover-ips", "--carp", "carp2", "--action", "LINK_DOWN"])
        #expect(again.exitCode == 0, "\(again)")
        let twice = try inA(["run", "failover-ips", "--carp", "carp2", "--action", "LINK_DOWN"])
        #expect(twice.exitCode == 0, "\(twice)")
        #expect(twice.stdout.contains("0 effects applied"), "\(twice)")
        #expect(twice.stdout.contains("= \(free1) is on \(net.interfaceA) (already so)"), "\(twice)")

        // LINK_UP: the other dispatcher is back; the addresses are released.
        let up = try box.planAndRun(["failover-ips", "--carp", "carp2", "--action", "LINK_UP"], runner: inA)
        #expect(up.exitCode == 0, "\(up)")
        now = try onA()
        #expect(!now.contains(free1) && !now.contains(free2), "\(now)")
        #expect(try net.addresses(net.b, net.interfaceB).contains(answering), "the other host's address is untouched")
        #expect(try onA() == before)

        // And an undo of LINK_UP puts them back.
        let undoUp = try inA(["undo", try #require(up.runID)])
        #expect(undoUp.exitCode == 0, "\(undoUp)")
        now = try onA()
        #expect(now.contains(free1) && now.contains(free2), "\(now)")
        _ = try inA(["run", "failover-ips", "--carp", "carp2", "--action", "LINK_UP"])
        #expect(try onA() == before)

        // Hosts whose devd reports carp(4)'s MASTER as LINK_UP swap the two in the config.
        try box.writeConfigWithTheDatabaseDown(root: box.tree, settings: "[settings.failover_ips]\ntake_on = \"LINK_UP\"")
        let master = try inA(["run", "failover-ips", "--carp", "carp2", "--action", "LINK_UP"])
        #expect(master.exitCode == 0, "\(master)")
        now = try onA()
        #expect(now.contains(free1) && now.contains(free2) && !now.contains(answering), "\(now)")
        let backup = try inA(["run", "failover-ips", "--carp", "carp2", "--action", "LINK_DOWN"])
        #expect(backup.exitCode == 0, "\(backup)")
        #expect(try onA() == before)

        // devd's CARP events (carp(4) since FreeBSD 10: system CARP, subsystem VHID@NIC, type
        // MASTER or BACKUP) say it outright, whatever take_on says: MASTER takes, BACKUP releases.
        let becameMaster = try inA(["run", "failover-ips", "--carp", "2@\(net.interfaceA)", "--action", "MASTER"])
        #expect(becameMaster.exitCode == 0, "\(becameMaster)")
        now = try onA()
        #expect(now.contains(free1) && now.contains(free2) && !now.contains(answering), "\(now)")
        let becameBackup = try inA(["run", "failover-ips", "--carp", "2@\(net.interfaceA)", "--action", "BACKUP"])
        #expect(becameBackup.exitCode == 0, "\(becameBackup)")
        #expect(try onA() == before)
    }

    @Test func failoverIPsRefusesBadInputAndTouchesNothing() throws {
        let box = try Sandbox()
        try box.writeConfigWithTheDatabaseDown(root: box.tree)
        try Files.mkdir(box.tree + "/etc")
        try Files.write(box.tree + "/etc/ipm.cfg", "[carp1]\ninterface = lo\nips : 10.1.2.3\n")
        try Files.write(box.tree + "/etc/broken.cfg", "[carp1]\ninterface = lo\nips : 10.1.2.300\n")
        try Files.write(box.tree + "/etc/garbage.cfg", "[carp1]\ninterface = lo\nthis line is not a setting\n")
        // A key twice: Python's configparser refused it for the old ip_manager; so does this.
        try Files.write(box.tree + "/etc/twice.cfg", "[carp1]\ninterface = lo\nips : 10.1.2.3\nips : 10.1.2.4\n")

        // Each bad invocation: its exit status, the problem it names, and (a runbook error, not
        // an argument the engine refuses) whether it says nothing was changed.
        let upWith = ["--action", "LINK_UP", "--config-file"]
        for (arguments, exitCode, problem) in [
            (["--carp", "carp1", "--action", "LINK_SIDEWAYS"], Int32(2), "--action"),
            (["--carp", "carp1;reboot"] + upWith + ["/etc/ipm.cfg"], 1, "argument --carp: expected an interface name"),
            (["--carp", "carp9"] + upWith + ["/etc/ipm.cfg"], 1, "no section [carp9] in /etc/ipm.cfg (it has: carp1)"),
            (["--carp", "carp1"] + upWith + ["/etc/broken.cfg"], 1, "'10.1.2.300' is not an IP address"),
            (["--carp", "carp1"] + upWith + ["/etc/garbage.cfg"], 1, "/etc/garbage.cfg:3: expected 'key = value'"),
            (["--carp", "carp1"] + upWith + ["/etc/twice.cfg"], 1, "/etc/twice.cfg:4: option 'ips' in section 'carp1' already exists"),
        ] {
            let refused = try box.runbook(["run", "failover-ips"] + arguments)
            #expect(refused.exitCode == exitCode, "\(arguments)\n\(refused)")
            #expect(refused.stderr.contains(problem), "\(arguments)\n\(refused)")
            if exitCode == 1 { #expect(refused.stderr.contains("nothing was changed"), "\(refused)") }
        }

        let missing = try box.runbook(["run", "failover-ips", "--carp", "carp1", "--action", "LINK_UP"])
        #expect(missing.exitCode == 1, "\(missing)")
        #expect(missing.stderr.contains("/usr/local/etc/mas_ip_manager.cfg"), "the default config file\n\(missing)")
        #expect(missing.stderr.contains("nothing was changed"), "\(missing)")
    }

    // MARK: failover-db

    /// Three installs' config.php in the guide's format (one with double quotes and CRLF
    /// line ends, one with a mode of its own), plus a folder that is not an install.
    static func writeInstalls(under homes: String, dbHost: String) throws -> [String: String] {
        let files: [String: String] = [
            "shop1": """
                <?php
                // written by the install runbook
                $config['db_host'] = '\(dbHost)';
                $config['db_name'] = 'shop1';
                $config['db_user'] = 'shop1';
                $config['db_pass'] = 'Pa55-shop1';
                $config['db_host_comment'] = 'db_host stays 10.0.0.5 here';

                """,
            "tea": "<?php\r\n$config[\"db_host\"]  =  \"\(dbHost)\" ; // the primary\r\n$config['db_name'] = 'tea';\r\n"
                + "// $config['db_host'] = '\(dbHost)'; (an old line, commented out)\r\n",
            "bioex": "<?php\n\t$config['db_name'] = 'bioex';\n\t$config [ 'db_host' ] = '\(dbHost)';\n$config['db_pass'] = 'x';",
        ]
        for (name, text) in files {
            try Files.mkdir(homes + "/\(name)/heavymetal")
            try Files.write(homes + "/\(name)/heavymetal/config.php", text, mode: name == "tea" ? 0o640 : 0o644)
        }
        try Files.mkdir(homes + "/shared_codes/code_share_free_1/heavymetal")
        return files
    }

    /// The file as failover-db should leave it: only the value of the db_host assignment
    /// changed.
    static func expected(_ name: String, _ text: String, from: String, to: String) -> String {
        switch name {
        case "shop1": return text.replacingOccurrences(of: "$config['db_host'] = '\(from)';", with: "$config['db_host'] = '\(to)';")
        case "tea": return text.replacingOccurrences(of: "$config[\"db_host\"]  =  \"\(from)\" ;", with: "$config[\"db_host\"]  =  \"\(to)\" ;")
        default: return text.replacingOccurrences(of: "$config [ 'db_host' ] = '\(from)';", with: "$config [ 'db_host' ] = '\(to)';")
        }
    }

    @Test func failoverDBRewritesOnlyTheDBHostLineAndUndoRestoresEveryFile() throws {
        let box = try Sandbox()
        let homes = box.tree + "/usr/home"
        try box.writeConfigWithTheDatabaseDown(root: box.tree, settings: """
            homes = "/usr/home"
            [settings.database_hosts]
            master = "10.0.0.5"
            slave = "10.0.0.2"
            """)
        let originals = try Self.writeInstalls(under: homes, dbHost: "10.0.0.5")

        let plan = try expectUnchanged(box, "after the dry-run") {
            try box.runbook(["run", "failover-db", "--destination", "slave", "--local-only", "--dry-run"])
        }
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("~ change /usr/home/tea/heavymetal/config.php"), "\(plan)")

        // Undo puts every file back byte for byte.
        try expectUndoRestores(box, "after the undo") {
            let run = try box.planAndRun(["failover-db", "--destination", "slave", "--local-only"])
            #expect(run.exitCode == 0, "\(run)")
            #expect(run.events("effect_applied").count == 3, "\(run)")
            for (name, text) in originals {
                let path = homes + "/\(name)/heavymetal/config.php"
                let now = try #require(Files.read(path))
                #expect(now == Self.expected(name, text, from: "10.0.0.5", to: "10.0.0.2"), "\(name):\n\(now)")
                #expect(now != text, "\(name) changed")
                #expect(Posix.lstatInfo(path)?.mode == (name == "tea" ? 0o640 : 0o644), "the mode is kept")
            }
            // The database password is in these files: it never reaches the run's log.
            for file in Files.allFiles(box.state) where !file.contains("/backups/") {
                #expect(!(Files.read(file) ?? "").contains("Pa55-shop1"), "\(file)")
            }

            // Again: nothing to do.
            let again = try box.runbook(["run", "failover-db", "--destination", "slave", "--local-only"])
            #expect(again.exitCode == 0, "\(again)")
            #expect(again.stdout.contains("0 effects applied"), "\(again)")
            let runToUndo = try #require(run.runID)
            return runToUndo
        }

        // And back to the master from the slave.
        try expectUnchanged(box, "after slave then master") {
            _ = try box.runbook(["run", "failover-db", "--destination", "slave", "--local-only"])
            let back = try box.runbook(["run", "failover-db", "--destination", "master", "--local-only"])
            #expect(back.exitCode == 0, "\(back)")
        }
    }

    @Test func failoverDBLeavesAnUnknownHostAloneAndSaysSo() throws {
        let box = try Sandbox()
        let homes = box.tree + "/usr/home"
        try box.writeConfigWithTheDatabaseDown()
        _ = try Self.writeInstalls(under: homes, dbHost: "10.0.0.5")
        try Files.write(homes + "/tea/heavymetal/config.php", "<?php\n$config['db_host'] = 'db9.example.net';\n")
        let arguments = ["run", "failover-db", "--destination", "slave", "--local-only", "--homes", homes,
                         "--master-host", "10.0.0.5", "--slave-host", "10.0.0.2"]
        let run = try box.runbook(arguments)
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stderr.contains("\(homes)/tea/heavymetal/config.php (db_host db9.example.net)"), "\(run)")
        #expect(Files.read(homes + "/tea/heavymetal/config.php") == "<?php\n$config['db_host'] = 'db9.example.net';\n")
        #expect(Files.read(homes + "/shop1/heavymetal/config.php")?.contains("$config['db_host'] = '10.0.0.2';") == true,
                "the other installs were still moved")

        let noPeer = try box.runbook(["run", "failover-db", "--destination", "slave", "--homes", homes,
                                      "--master-host", "10.0.0.5", "--slave-host", "10.0.0.2"])
        #expect(noPeer.exitCode == 1, "\(noPeer)")
        #expect(noPeer.stderr.contains("give --peer NAME"), "\(noPeer)")
        #expect(noPeer.stderr.contains("nothing was changed"), "\(noPeer)")

        let badHost = try box.runbook(["run", "failover-db", "--destination", "slave", "--local-only", "--homes", homes,
                                       "--master-host", "10.0.0.5", "--slave-host", "x'; evil(); '"])
        #expect(badHost.exitCode == 1, "\(badHost)")
        #expect(badHost.stderr.contains("is not an IP address or host name"), "\(badHost)")
    }

    @Test func failoverDBChangesTheOtherDispatcherThroughSSH() throws {
        let box = try Sandbox()
        // Two "dispatchers": this one's homes and the peer's, each with the same installs.
        let here = box.tree + "/d1/usr/home", there = box.tree + "/d2/usr/home"
        let originals = try Self.writeInstalls(under: here, dbHost: "10.0.0.5")
        _ = try Self.writeInstalls(under: there, dbHost: "10.0.0.5")

        let ssh = try LocalSSHServer.shared()
        let port = ssh.port

        // The peer has its own config (its homes, the database down too) and state.
        let settings = """
            [settings.database_hosts]
            master = "10.0.0.5"
            slave = "10.0.0.2"
            """
        try box.writeConfigWithTheDatabaseDown(settings: "homes = \"\(here)\"\nfailover_peer = \"d2\"\n" + settings)
        try Files.write(box.base + "/peer.toml", "[settings]\nhomes = \"\(there)\"\n\n" + settings + "\n")
        let peerState = box.base + "/peer-state"
        try box.appendConfig("""

            [hosts.d2]
            address = "127.0.0.1"
            port = \(port)
            user = "root"
            identity_file = "\(ssh.clientKey)"
            ssh_options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR", "ConnectTimeout=10"]
            runbook = ["\(try RunbookBinary.require())", "--config", "\(box.base)/peer.toml", "--state-dir", "\(peerState)"]
            """)
        let before = TreeFingerprint(box.tree)

        let plan = try expectUnchanged(box, "the dry-run on both") {
            try box.runbook(["run", "failover-db", "--destination", "slave", "--dry-run"])
        }
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("[d2] effect planned: change \(there)/tea/heavymetal/config.php"), "\(plan)")

        let run = try box.runbook(["run", "failover-db", "--destination", "slave"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.stdout.contains("[d2] effect applied: change \(there)/shop1/heavymetal/config.php"), "\(run)")
        for (name, text) in originals {
            let want = Self.expected(name, text, from: "10.0.0.5", to: "10.0.0.2")
            #expect(Files.read(here + "/\(name)/heavymetal/config.php") == want, "here: \(name)")
            #expect(Files.read(there + "/\(name)/heavymetal/config.php") == want, "there: \(name)")
        }

        // Each server undoes its own run: this one's id is ours, the peer's is in its log.
        let undo = try box.runbook(["undo", try #require(run.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        // ("[d2] log: run ID on HOST: undo it here with `runbook undo ID`")
        let peerLine = try #require(run.stdoutLines.first { $0.contains("[d2] log: run ") && $0.contains("runbook undo ") },
                                    "the peer's run id is in this run's log\n\(run)")
        let peerRun = String(try #require(peerLine.components(separatedBy: "runbook undo ").last).prefix { $0 != "`" })
        #expect(((try? Posix.list(peerState + "/runs")) ?? []).contains(peerRun), "the peer keeps its own run \(peerRun)")
        // (on the peer, with the peer's config and state)
        let peerUndo = try ChildProcess(executable: try RunbookBinary.require(),
                                        arguments: ["--config", box.base + "/peer.toml", "--state-dir", peerState, "undo", peerRun],
                                        environment: box.environment([:]), stdoutPath: box.base + "/out/peer-undo.stdout",
                                        stderrPath: box.base + "/out/peer-undo.stderr").wait(timeout: 30)
        #expect(peerUndo.exitCode == 0, "\(peerUndo)")
        // (The peer's undo runs there, with the peer's config and state: the kit's undo runs only
        // here, so this comparison stays by hand.)
        expectSameTree(before, TreeFingerprint(box.tree), "after both undos")

        // A peer that cannot be reached: this server is still changed, and the run says
        // what to do on the peer.
        try Files.write(box.config, (Files.read(box.config) ?? "").replacingOccurrences(of: "port = \(port)", with: "port = \(try unusedPort())"))
        let unreachable = try box.runbook(["run", "failover-db", "--destination", "slave"])
        #expect(unreachable.exitCode == 1, "\(unreachable)")
        #expect(unreachable.stderr.contains("when d2 is reachable run there: runbook run failover-db --destination slave --local-only"),
                "\(unreachable)")
        #expect(Files.read(here + "/shop1/heavymetal/config.php")?.contains("'10.0.0.2'") == true)
    }
}
