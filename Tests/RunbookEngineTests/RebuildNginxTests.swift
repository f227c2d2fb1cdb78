// runbooks/rebuild-nginx.lua end to end: installs seeded in the internal database (schema/
// internal.sql on the private MariaDB), a real nginx on loopback addresses (127.0.0.2 and
// 127.0.0.3: all of 127/8 is local on Linux) started by the test with its own config, and the
// real binary. The dry-run changes nothing and predicts the run; the run writes the config,
// nginx -t passes, nginx reloads and serves the sites by Host; a broken custom rewrite fails
// the config test, the file is restored and the old configuration keeps serving.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing


extension StdlibTests {
@Suite("rebuild-nginx", .serialized)
struct RebuildNginxTests {
    /// A port for this process (the nginx test of SystemPrimitivesTests uses 20000-39999 on 127.0.0.1).
    static let port = 40000 + Int(getpid()) % 10000 * 2

    @Test("dry-run changes nothing and predicts the run; the run writes, tests and reloads; a broken rewrite is refused and the old config keeps serving")
    func rebuildEndToEnd() throws {
        let port = RebuildNginxTests.port
        let world = try PlatformWorld()
        let box = world.box
        let nginx = try TestNginx(directory: box.base + "/nginx", port: port)
        try world.writeConfig(settings: PlatformWorld.nginxSettings(nginx.directory, port: port))
        try world.seedShops(port: port)
        let before = "server { listen 127.0.0.2:\(port); return 200 \"before\\n\"; }\n"
        try Files.write(nginx.installs, before)
        try nginx.start()
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", body: "before"))
        let arguments = ["rebuild-nginx", "--output", nginx.installs, "--nginx-config", nginx.main]
        let lastGood = nginx.installs + ".last-good"

        // The dry-run: the whole plan, nothing changed.
        let rowsBefore = try world.internalDB.dump()
        let plan = try box.runbook(["run"] + arguments + ["--dry-run"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("~ change \(nginx.installs)"), "\(plan)")
        #expect(plan.stdout.contains("~ reload nginx"), "\(plan)")
        #expect(plan.stdout.contains("+ write \(lastGood)"), "\(plan)")
        #expect(plan.stdout.contains("2 installs, 2 sites, 3 handlers in the internal database"), "\(plan)")
        #expect(Files.read(nginx.installs) == before, "a dry-run does not write the config")
        #expect(!Files.exists(lastGood))
        #expect(try world.internalDB.dump() == rowsBefore)
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", body: "before"))

        // The run: exactly what was planned; nginx serves the sites by address and name.
        let run = try box.planAndRun(arguments)
        #expect(run.exitCode == 0, "\(run)")
        let written = try #require(Files.read(nginx.installs))
        #expect(written.contains("upstream install_1_php {\n    server 127.0.0.11:\(port + 2) weight=1 max_fails=3 fail_timeout=30s;\n"
                                 + "    server 127.0.0.12:\(port + 2) weight=1 max_fails=3 fail_timeout=30s;\n"
                                 + "    server 127.0.0.13:\(port + 2) weight=5 max_fails=3 fail_timeout=30s;\n}"), "\(written)")
        #expect(written.contains("    listen 127.0.0.2:\(port + 1) ssl;\n    server_name secure.teacollection.com;\n"), "\(written)")
        #expect(Files.read(lastGood) == written, "the last good configuration is kept")
        #expect(run.events("effect_applied").map { $0["kind"]?.stringValue ?? "?" } == ["fs.write", "service.reload", "fs.write"], "\(run)")
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", body: "tea collection"))
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", path: "/old", body: "the new page"), "the custom rewrite")
        #expect(waitForPage("127.0.0.3", port, host: "bobshop.example.com", body: "bob's shop"))
        #expect(httpGet("127.0.0.3", port, host: "bobshop.example.com", path: "/old")?.status == 404, "rewrites are per install")

        // Nothing changed since: no write, no reload.
        let again = try box.runbook(["run"] + arguments + ["--json"])
        #expect(again.exitCode == 0, "\(again)")
        #expect(again.events("effect_applied").isEmpty, "\(again)")
        #expect(resultLog(again).contains { $0.contains("is up to date") }, "\(again)")

        // A broken custom rewrite: nginx -t fails, nothing is reloaded, the file is restored.
        try world.internalDB.run("""
            UPDATE installs SET custom_rewrites = 'a:2:{i:0;s:25:"rewrite ^/old$ /new.html;";i:1;s:16:"rewrite ^/x( /y;";}' WHERE id = 1
            """)
        let broken = try box.runbook(["run"] + arguments)
        #expect(broken.exitCode == 1, "\(broken)")
        #expect(broken.stderr.contains("nginx config test failed, so nginx was not reloaded and keeps its running configuration"), "\(broken)")
        #expect(broken.stderr.contains("pcre") || broken.stderr.contains("regex") || broken.stderr.contains("parenthes"), "\(broken)")
        #expect(Files.read(nginx.installs) == written, "the file is restored")
        #expect(Files.read(lastGood) == written, "the last good copy is untouched")
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", path: "/old", body: "the new page"),
                "the old configuration keeps serving")
        #expect(waitForPage("127.0.0.3", port, host: "bobshop.example.com", body: "bob's shop"))

        // Fixed: the next rebuild goes through and becomes the last good one.
        try world.internalDB.run("""
            UPDATE installs SET custom_rewrites = 'a:1:{i:0;s:26:"rewrite ^/sale$ /new.html;";}' WHERE id = 1
            """)
        let fixed = try box.runbook(["run"] + arguments)
        #expect(fixed.exitCode == 0, "\(fixed)")
        #expect(fixed.stdout.contains("installs changed: 1\n"), "\(fixed)")
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", path: "/sale", body: "the new page"))
        #expect(Files.read(lastGood) == Files.read(nginx.installs))

        // And undo of that run puts the previous configuration back, and reloads it.
        let undo = try box.runbook(["undo", try #require(fixed.runID)])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(Files.read(nginx.installs) == written)
        #expect(Files.read(lastGood) == written)
        #expect(waitForPage("127.0.0.2", port, host: "shop.teacollection.com", path: "/old", body: "the new page"))
    }

    @Test("paths from the configuration's settings; --force reloads an unchanged config; the output must be an absolute path")
    func forceAndArguments() throws {
        let port = RebuildNginxTests.port + 5
        let world = try PlatformWorld()
        let nginx = try TestNginx(directory: world.box.base + "/nginx", port: port)
        try world.writeConfig(settings: """
            [settings]
            nginx_config = "\(nginx.main)"
            nginx_installs_config = "\(nginx.installs)"

            """ + PlatformWorld.nginxSettings(nginx.directory, port: port))
        try world.seedShops(port: port)
        try Files.write(nginx.installs, "")
        try nginx.start()
        let arguments = ["rebuild-nginx"]
        let first = try world.box.runbook(["run"] + arguments)
        #expect(first.exitCode == 0, "\(first)")
        #expect(waitForPage("127.0.0.3", port, host: "bobshop.example.com", body: "bob's shop"))
        let forced = try world.box.planAndRun(arguments + ["--force"])
        #expect(forced.exitCode == 0, "\(forced)")
        #expect(forced.events("effect_applied").map { $0["kind"]?.stringValue ?? "?" } == ["service.reload"], "\(forced)")
        // A relative --output is the path from the current directory, resolved with the
        // arguments (ArgumentTests.relativePathsAreResolved), never an error mid-run.
    }

    @Test("10,000 installs with 2 sites each: read from the database and rendered in a dry-run, quickly")
    func tenThousandInstallsFromTheDatabase() throws {
        let world = try PlatformWorld(settings: "[settings.nginx]\ndefault_server = false\n")
        try world.internalDB.run("""
            INSERT INTO handlers (id, hostname, private_ip, kind) VALUES
              (1, 'dispatch1.make-a-store.com', '10.0.0.1', 'dispatcher'), (2, 'dispatch2.make-a-store.com', '10.0.0.2', 'dispatcher');
            INSERT INTO installs (id, email, db_name, db_user, fs_name, home_dir, shared_code_group_id, master_handler_id, free, custom_rewrites)
              SELECT seq, CONCAT('o', seq, '@example.com'), CONCAT('db', seq), CONCAT('db', seq), CONCAT('shop', seq),
                     CONCAT('/usr/home/shop', seq), 1, 1 + seq % 2, seq % 2,
                     IF(seq % 5 = 0, 'a:1:{i:0;s:25:"rewrite ^/old$ /new.html;";}', NULL)
              FROM seq_1_to_10000;
            INSERT INTO install_sites (id, install_id, hostname)
              SELECT seq, (seq + 1) DIV 2, CONCAT('s', seq, '.example.com') FROM seq_1_to_20000;
            INSERT INTO install_site_ips (install_site_id, ip, handler_id)
              SELECT seq, CONCAT('10.', seq DIV 65536, '.', (seq DIV 256) % 256, '.', seq % 256), 1 FROM seq_1_to_20000;
            """)
        let config = world.box.tree + "/installs.conf"
        let start = Clock.monotonic()
        let plan = try world.box.runbook(["run", "rebuild-nginx", "--output", config, "--nginx-config", world.box.tree + "/nginx.conf",
                                          "--dry-run"], timeout: 60)
        let elapsed = Clock.monotonic() - start
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.stdout.contains("10000 installs, 20000 sites, 2 handlers"), "\(plan)")
        #expect(plan.stdout.contains("20000 server blocks, 10000 upstreams"), "\(plan)")
        #expect(elapsed < 5, "a dry-run rebuild of 10,000 installs took \(elapsed) s")
        print("rebuild-nginx --dry-run, 10,000 installs / 20,000 sites from the database: \(elapsed) s")
    }
}
}

