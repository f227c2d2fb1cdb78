// scripts/lab for real (docs/lab.md): the hosts come up in their namespaces with their own
// files and daemons, reach each other only inside the lab (ssh, the rsync daemon with the
// guide's password files, MariaDB replication from cloud-db1 to d2), and `down` leaves no
// namespace, mount or process behind — also after `up` was killed midway.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("The platform lab", .serialized)
struct LabTests {
    @Test("up builds every host; d1 reaches d2's own files over ssh and its rsync daemon; cloud-db1 replicates to d2; down leaves nothing")
    func labUpWorksAndDownLeavesNothing() throws {
        let lab = try Lab.up()
        print("lab: scripts/lab up took \(lab.upMilliseconds) ms")
        #expect(lab.upMilliseconds < 20_000, "up must take at most 20 s; it took \(lab.upMilliseconds) ms")

        // status lists every host, up, with its daemons running.
        let status = try lab.script(["status", lab.directory])
        #expect(status.exitCode == 0, "every host and daemon runs\n\(status)")
        for host in Lab.hosts {
            #expect(status.stdoutLines.contains { $0.hasPrefix(host + " ") && $0.contains(" up ") }, "status shows \(host) up\n\(status)")
        }

        // Each host is itself: its name, and its own /usr/home (bind-mounted from DIR/hosts/HOST).
        let marker = "only-d2-\(UInt32.random(in: 0...UInt32.max))"
        try Files.write(try lab.files("d2") + "/usr/home/marker", marker + "\n")
        let onD1 = try lab.exec("d1", ["sh", "-c", "hostname; cat /usr/home/marker 2>&1 || true"])
        #expect(onD1.exitCode == 0, "\(onD1)")
        #expect(onD1.stdout.hasPrefix("dispatch1.make-a-store.com\n"), "d1 has its own host name\n\(onD1)")
        #expect(!onD1.stdout.contains(marker), "d1 does not see d2's file in its own /usr/home\n\(onD1)")
        #expect(lab.machineMounts().isEmpty, "nothing of the lab is mounted in the machine's own namespace: \(lab.machineMounts())")

        // From d1, over ssh (root's own key and known_hosts on d1), d2's files.
        let overSSH = try lab.exec("d1", ["ssh", "d2", "hostname; cat /usr/home/marker"])
        #expect(overSSH.exitCode == 0, "ssh from d1 to d2\n\(overSSH)")
        #expect(overSSH.stdout == "dispatch2.make-a-store.com\n\(marker)\n", "\(overSSH)")

        // The rsync daemon on d2 with the guide's password file; a wrong password is refused.
        let payload = "synced from d1 \(marker)"
        let rsynced = try lab.exec("d1", ["sh", "-c",
            "printf '%s' \"$1\" > /usr/home/payload && rsync --password-file=/usr/local/etc/rsyncd_root.pwd /usr/home/payload rsync://root@10.0.0.2/d2/payload",
            "sh", payload])
        #expect(rsynced.exitCode == 0, "rsync to d2's daemon\n\(rsynced)")
        #expect(Files.read(try lab.files("d2") + "/usr/home/payload") == payload, "the file arrived in d2's /usr/home")
        let refused = try lab.exec("d1", ["sh", "-c",
            "echo wrong > /usr/home/bad.pwd && chmod 600 /usr/home/bad.pwd && rsync --password-file=/usr/home/bad.pwd /usr/home/payload rsync://root@10.0.0.2/d2/other"])
        #expect(refused.exitCode != 0 && refused.stderr.contains("auth failed"), "a wrong password is refused\n\(refused)")
        #expect(!Files.exists(try lab.files("d2") + "/usr/home/other"))

        // A row written on cloud-db1 shows on d2's replica.
        let primary = try lab.database("cloud-db1")
        defer { primary.close() }
        _ = try primary.executeText("CREATE DATABASE labcheck")
        _ = try primary.executeText("CREATE TABLE labcheck.probe (id INT PRIMARY KEY, note VARCHAR(64))")
        _ = try primary.execute("INSERT INTO labcheck.probe VALUES (1, ?)", [.string(marker)])
        var replicated: [String: String] = [:]
        let deadline = Clock.monotonic() + 10
        while Clock.monotonic() < deadline {
            replicated = (try? lab.firstRow("d2", "SELECT note FROM labcheck.probe WHERE id = 1")) ?? [:]
            if !replicated.isEmpty { break }
            usleep(50_000)
        }
        #expect(replicated["note"] == marker, "the row reached d2's replica")
        let replica = try lab.firstRow("d2", "SHOW SLAVE STATUS")
        #expect(replica["Master_Host"] == "10.0.0.5", "d2 replicates from cloud-db1: \(replica)")
        #expect(replica["Slave_IO_Running"] == "Yes" && replica["Slave_SQL_Running"] == "Yes", "\(replica)")
        #expect(replica["Seconds_Behind_Master"] == "0", "\(replica)")

        // The dispatcher's configuration tests pass on d1.
        let nginx = try lab.exec("d1", ["nginx", "-t", "-c", "/usr/local/etc/nginx/nginx.conf", "-e", "/dev/stderr"])
        #expect(nginx.exitCode == 0 && nginx.stderr.contains("test is successful"), "\(nginx)")
        let fpm = try lab.exec("d1", ["php-fpm8.2", "-t", "-R", "-y", "/usr/local/etc/php-fpm.conf"])
        #expect(fpm.exitCode == 0 && (fpm.stderr + fpm.stdout).contains("test is successful"), "\(fpm)")

        // The client reaches the dispatchers on the public segment (fixed and floating addresses).
        let page = try lab.exec("client", ["curl", "-sS", "-m", "5", "http://192.0.2.1/", "http://203.0.113.2/"])
        #expect(page.stdout == "dispatch1.make-a-store.com\ndispatch2.make-a-store.com\n", "\(page)")

        // A second `up` on a lab that is up is refused with one line, and changes nothing.
        let again = try lab.script(["up", lab.directory])
        #expect(again.exitCode == 1 && again.stderrLines == ["lab: a lab is already up in \(lab.directory) (scripts/lab down \(lab.directory) first)"],
                "\(again)")

        // down: no namespace, mount or recorded process is left.
        let processes = lab.recordedProcesses()
        #expect(processes.count >= 6 + 16, "every holder and daemon left its pid: \(processes)")
        #expect(!lab.namespaces().isEmpty)
        let down = try lab.script(["down", lab.directory])
        #expect(down.exitCode == 0, "\(down)")
        #expect(lab.leftovers(of: processes) == [], "down leaves nothing behind")
    }

    @Test("the sample store answers the client through d1 and d2, every handler's php-fpm and its database on cloud-db1")
    func sampleStoreThroughTheWholeChain() throws {
        try SharedLab.use { lab in try sampleStore(lab) }
    }

    private func sampleStore(_ lab: Lab) throws {
        let planted = try lab.script(["sample-store", lab.directory])
        #expect(planted.exitCode == 0, "\(planted)")
        func page(_ address: String, _ path: String = "/") throws -> ChildResult {
            try lab.exec("client", ["curl", "-sS", "-m", "5", "-H", "Host: shop.example.com", "http://\(address)\(path)"])
        }
        // d1 and d2 hand the page to the handlers; the store reads its name from cloud-db1 over TCP.
        var handlers: Set<String> = []
        for address in ["192.0.2.1", "198.51.100.1"] {
            for _ in 0..<4 {
                let answer = try page(address)
                #expect(answer.exitCode == 0 && answer.stdout.hasPrefix("store: The Lab Shop\ndatabase: 10.0.0.5\nhandler: "),
                        "the store's page through \(address)\n\(answer)")
                if let line = answer.stdoutLines.last, line.hasPrefix("handler: ") { handlers.insert(String(line.dropFirst(9))) }
            }
        }
        #expect(handlers == ["dispatch1.make-a-store.com", "dispatch2.make-a-store.com", "tmp-cloud.make-a-store.com"],
                "every handler's php-fpm served the page: \(handlers)")

        // The value is read live from the store's own database.
        let primary = try lab.database("cloud-db1")
        defer { primary.close() }
        _ = try primary.executeText("UPDATE shop.settings SET value = 'Renamed Shop' WHERE name = 'store_name'")
        let renamed = try page("192.0.2.1")
        #expect(renamed.stdout.hasPrefix("store: Renamed Shop\n"), "\(renamed)")

        // A static file is nginx's own answer, on a floating address too.
        let script = try lab.exec("client", ["curl", "-sS", "-m", "5", "-D", "-", "-H", "Host: shop.example.com",
                                              "http://203.0.113.1/mas_assets/js/store.js"])
        #expect(script.stdout.contains("Content-Type: application/javascript") && script.stdout.hasSuffix("// the store's shared script\n"),
                "\(script)")
    }

    @Test("reset takes the shared lab back to how up left it: files, nginx's config, databases on cloud-db1, d2 and master")
    func resetRestoresTheSharedLab() throws {
        let (directory, page) = try SharedLab.use { lab -> (String, String) in
            let d2Home = try lab.files("d2") + "/usr/home"
            try Files.write(d2Home + "/left-by-a-test", "x\n")
            #expect(try lab.script(["sample-store", lab.directory]).exitCode == 0)
            let primary = try lab.database("cloud-db1")
            defer { primary.close() }
            _ = try primary.executeText("CREATE DATABASE leftover")
            _ = try primary.executeText("CREATE USER 'leftover'@'10.0.%' IDENTIFIED BY 'x'")
            _ = try primary.executeText("DELETE FROM internal.handlers WHERE id = 3")
            let master = try lab.database("master")
            defer { master.close() }
            _ = try master.executeText("CREATE DATABASE divinity_leftover")
            return (lab.directory, try lab.exec("client", ["curl", "-sS", "-m", "5", "-H", "Host: shop.example.com", "http://192.0.2.1/"]).stdout)
        }
        #expect(page.hasPrefix("store: The Lab Shop\n"), "the store answered before the reset: \(page)")

        try SharedLab.use { lab in
            #expect(lab.directory == directory, "one lab per test process")
            let d2Home = try lab.files("d2") + "/usr/home"
            #expect(try Posix.list(d2Home).sorted() == [".lab-host"], "d2's /usr/home is as up left it")
            #expect(Files.read(try lab.files("d1") + "/usr/local/etc/nginx/installs.conf")?.contains("shop.example.com") == false)
            // Only the platform's own databases: internal on cloud-db1 (and its replica on d2),
            // divinity on the master, with the seed's rows.
            for (host, platform) in [("cloud-db1", "internal"), ("d2", "internal"), ("master", "divinity")] {
                let db = try lab.database(host)
                defer { db.close() }
                let databases = try db.query("SHOW DATABASES").rows.compactMap { $0[0].string }.sorted()
                #expect(databases == ["information_schema", platform, "mysql", "performance_schema", "sys"].sorted(), "\(host): \(databases)")
                let users = try db.query("SELECT user FROM mysql.user WHERE user IN ('shop', 'leftover')").rows
                #expect(users.isEmpty, "\(host) has no user a test made")
                if platform == "internal" {
                    let handlers = try db.query("SELECT hostname FROM internal.handlers ORDER BY id").rows.compactMap { $0[0].string }
                    #expect(handlers == ["dispatch1.make-a-store.com", "dispatch2.make-a-store.com", "tmp-cloud.make-a-store.com"],
                            "\(host): the seed's rows are back: \(handlers)")
                }
            }
            let replica = try lab.firstRow("d2", "SHOW SLAVE STATUS")
            #expect(replica["Slave_IO_Running"] == "Yes" && replica["Slave_SQL_Running"] == "Yes", "\(replica)")
            // nginx rereads its config: the store's name now gets the dispatcher's own page.
            var answer = ""
            let deadline = Clock.monotonic() + 5
            repeat {
                answer = try lab.exec("client", ["curl", "-sS", "-m", "5", "-H", "Host: shop.example.com", "http://192.0.2.1/"]).stdout
            } while answer != "dispatch1.make-a-store.com\n" && Clock.monotonic() < deadline && usleep(50_000) == 0
            #expect(answer == "dispatch1.make-a-store.com\n")
        }
    }

    @Test("up killed midway: down removes the half-made lab entirely")
    func killedUpThenDown() throws {
        for delay in [1.0, 3.0] {
            let lab = try Lab()
            let up = try lab.startScript(["up", lab.directory])
            usleep(useconds_t(delay * 1_000_000))
            up.send(SIGKILL)
            _ = up.wait(timeout: 10)
            #expect(Files.exists(lab.directory + "/lab.id"), "up had begun by \(delay) s")
            // Whatever `up` had started by then: its namespaces and their processes.
            var started: [pid_t: String] = lab.recordedProcesses()
            for namespace in lab.namespaces() {
                let pids = (try? RunbookSupport.ProcessRunner.run(["ip", "netns", "pids", namespace], timeout: 10))?.outputText ?? ""
                for pid in pids.split(separator: "\n").compactMap({ pid_t($0) }) { started[pid] = Lab.commandLine(pid) }
            }
            let down = try lab.script(["down", lab.directory])
            #expect(down.exitCode == 0, "down after up was killed at \(delay) s\n\(down)")
            #expect(lab.leftovers(of: started) == [], "killed at \(delay) s: down leaves nothing behind")
        }
    }

    @Test("a lab whose owner process ends (a killed test) is taken down by its guardian")
    func ownerEndsLabGoesDown() throws {
        let owner = try ChildProcess(executable: "/bin/sleep", arguments: ["600"], environment: [:],
                                     stdoutPath: "/dev/null", stderrPath: "/dev/null")
        let lab = try Lab.up(owner: owner.pid)
        let processes = lab.recordedProcesses()
        #expect(processes.values.contains { $0.contains("scripts/lab guard") }, "up started a guardian: \(processes)")
        owner.send(SIGKILL)
        _ = owner.wait(timeout: 10)
        let deadline = Clock.monotonic() + 30
        while !lab.leftovers(of: processes).isEmpty, Clock.monotonic() < deadline { usleep(100_000) }
        #expect(lab.leftovers(of: processes) == [], "the guardian took the lab down")
        // ... and then removed its files (the datadirs weigh tens of MB).
        while Files.exists(lab.directory + "/lab.id"), Clock.monotonic() < deadline { usleep(100_000) }
        #expect(!Files.exists(lab.directory + "/lab.id") && !Files.exists(lab.directory + "/hosts"), "the guardian removed the lab's files")
    }

    @Test("bad input: one line each, and nothing is touched")
    func badInput() throws {
        let box = try Sandbox()
        let lab = try Lab(box: box)
        // down / status / exec on a folder that is not a lab.
        try Files.mkdir(lab.directory)
        try Files.write(lab.directory + "/notes.txt", "mine\n")
        let down = try lab.script(["down", lab.directory])
        #expect(down.exitCode == 1 && down.stderrLines == ["lab: \(lab.directory) is not a lab (no lab.id); nothing done"], "\(down)")
        // up on a folder that holds other files.
        let up = try lab.script(["up", lab.directory])
        #expect(up.exitCode == 1 && up.stderrLines == ["lab: \(lab.directory) is in use: it holds files that are not a lab's"], "\(up)")
        #expect(try Posix.list(lab.directory) == ["notes.txt"], "the folder is untouched")
        #expect(lab.namespaces().isEmpty)
        // exec on a host that does not exist.
        try Files.write(lab.directory + "/lab.id", "000000\n")
        let exec = try lab.script(["exec", lab.directory, "d9", "--", "true"])
        #expect(exec.exitCode == 1 && exec.stderrLines == ["lab: no host d9 in the lab (hosts: d1 d2 cloud-db1 master tmp-cloud client)"],
                "\(exec)")
        let notRunning = try lab.script(["exec", lab.directory, "d1", "--", "true"])
        #expect(notRunning.exitCode == 1 && notRunning.stderrLines.count == 1 && notRunning.stderr.contains("host d1 is not running"),
                "\(notRunning)")
        unlink(lab.directory + "/lab.id")
        // A missing program is named with its Debian package (a PATH with bash and realpath only;
        // util-linux's unshare is the first the lab needs that is not in an sbin folder).
        let bin = box.base + "/bin"
        try Files.mkdir(bin)
        for program in ["bash", "realpath"] { try Files.symlink("/usr/bin/" + program, bin + "/" + program) }
        let missing = try ChildProcess(executable: LabScript.path, arguments: ["up", box.base + "/other"], environment: ["PATH": bin],
                                       stdoutPath: box.base + "/out/missing.stdout", stderrPath: box.base + "/out/missing.stderr").wait()
        #expect(missing.exitCode == 1 && missing.stderrLines == ["lab: unshare is not installed (Debian package util-linux; scripts/setup installs it)"],
                "\(missing)")
        #expect(!Files.exists(box.base + "/other"), "nothing was made")
        // A usage error names the commands.
        let usage = try lab.script(["up"])
        #expect(usage.exitCode == 2 && usage.stderr.hasPrefix("usage: scripts/lab up [--owner PID] DIR"), "\(usage)")
    }
}
