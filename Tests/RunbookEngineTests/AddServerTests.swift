// runbooks/add-server.lua end to end on a demo world with a paid store installed, given what
// the dispatchers have in production: /usr/local/etc/php-fpm.conf on dispatch1 and dispatch2
// (allowing each other), PHP's ini files and /home/internal on dispatch1 (this machine).
// A new dispatcher gets the config files, /home/internal, its cron line, the master's
// servers and server_ips rows, the handlers row, its address in every reachable handler's
// php-fpm allowed_clients and a backup place in the paid installs' PHP upstream; a PHP
// handler gets the PHP files and a php-fpm.conf that allows the dispatchers. Plan = run,
// undo restores every file and row, bad input is refused in one line with nothing touched.
// stdlib/php_fpm.lua's parsing is checked on its own too (the guide's 10.0.0.0/8 question).

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookTestKit
import Testing

@Suite(.serialized) struct AddServerTests {
    static let fpmConf = """
        [global]
        pid = run/php-fpm.pid

        [www]
        listen = 9000
        listen.allowed_clients = 10.0.0.1,10.0.0.2
        pm = dynamic

        """

    /// The files a dispatcher has besides what the demo world makes, and the new servers'
    /// [settings.servers] entries (how dispatch1 reaches them: folders of the root).
    static func prepare(_ world: DemoWorld) throws {
        let root = world.root, dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
        for folder in [root + "/usr/local/etc/php", root + "/home/internal/lib/cron", dispatch2 + "/usr/local/etc"] { try Files.mkdir(folder) }
        try Files.write(root + "/usr/local/etc/php-fpm.conf", fpmConf)
        try Files.write(dispatch2 + "/usr/local/etc/php-fpm.conf", fpmConf)
        try Files.write(root + "/usr/local/etc/php.ini", "memory_limit = 256M\n")
        try Files.write(root + "/usr/local/etc/php/extensions.ini", "extension=apc.so\n")
        try Files.write(root + "/usr/local/etc/php/apc.ini", "apc.shm_size = 128M\n")
        try Files.write(root + "/home/internal/lib/cron/cron.php", "<?php // the internal plugin's cron\n")
        let config = world.directory + "/config.toml"
        try Files.write(config, (Files.read(config) ?? "") + """

            [settings.servers."dispatch3.make-a-store.com"]
            sync = "/srv/dispatch3"
            cron_file = "/srv/dispatch3/etc/cron.d/divinity-internal"

            [settings.servers."php1.make-a-store.com"]
            sync = "/srv/php1"
            cron_file = "/srv/php1/etc/cron.d/divinity-internal"

            """)
    }

    @Test func aDispatcherAndAPHPHandlerAreAddedAndUndone() throws {
        let world = try DemoWorld.withStore(["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let root = world.root, dispatch2 = try world.value("DEMO_WORLD_DISPATCH2")
        try Self.prepare(world)
        let nginxLog = SiteTesting.errorLogMark(world)
        let db = try world.admin()
        defer { db.close() }
        func rows(_ sql: String) throws -> [String] { try SiteTesting.rows(db, sql) }

        try expectUndosRestore(world) {
            let run = try world.planAndRun(["add-server", "--role", "dispatcher", "--hostname", "dispatch3.make-a-store.com",
                                            "--private-ip", "10.0.0.3", "--public-ip", "203.0.113.3", "--carp", "carp3",
                                            "--movable-ip", "203.0.113.30,203.0.113.31", "--fixed-ip", "203.0.113.40"])
            #expect(run.exitCode == 0, "\(run)")
            let dispatchRun = try #require(DemoWorld.runID(run))

            // The rows: master's servers and server_ips, the internal handlers row (a backup for now).
            #expect(try rows("SELECT id, hostname, private_ip, kind FROM divinity.servers WHERE hostname = 'dispatch3.make-a-store.com'")
                    == ["9 'dispatch3.make-a-store.com' '10.0.0.3' 'dispatcher'"])
            #expect(try rows("SELECT ip, movable, install_id FROM divinity.server_ips WHERE server_id = 9 ORDER BY ip")
                    == ["'203.0.113.30' 1 NULL", "'203.0.113.31' 1 NULL", "'203.0.113.40' 0 NULL"])
            #expect(try rows("SELECT id, hostname, private_ip, public_ip, kind, weight, carp_interface FROM internal.handlers WHERE id = 4")
                    == ["4 'dispatch3.make-a-store.com' '10.0.0.3' '203.0.113.3' 'dispatcher' 0 'carp3'"])
            // The files, copied from dispatch1; its own php-fpm.conf allows every dispatcher.
            let dispatch3 = root + "/srv/dispatch3"
            for path in ["/usr/local/etc/php.ini", "/usr/local/etc/php/extensions.ini", "/usr/local/etc/php/apc.ini",
                         "/usr/local/etc/nginx/nginx.conf", "/home/internal/lib/cron/cron.php"] {
                #expect(Files.read(dispatch3 + path) == Files.read(root + path), "\(path)")
            }
            let allowed = "listen.allowed_clients = 10.0.0.1,10.0.0.2,10.0.0.3\n"
            for (server, conf) in [("dispatch1", root), ("dispatch2", dispatch2), ("dispatch3", dispatch3)] {
                #expect(Files.read(conf + "/usr/local/etc/php-fpm.conf") == Self.fpmConf.replacingOccurrences(
                    of: "listen.allowed_clients = 10.0.0.1,10.0.0.2\n", with: allowed), "\(server)")
            }
            #expect(Files.read(dispatch3 + "/etc/cron.d/divinity-internal") == "*/5 * * * * www /usr/local/bin/php /home/internal/lib/cron/cron.php\n")
            // The cloud handler has no [settings.servers] entry: its line is to set by hand.
            #expect(SiteTesting.messages(run, "warn").contains(
                "this server cannot edit the php-fpm config of tmp-cloud.make-a-store.com: set listen.allowed_clients = 10.0.0.1,10.0.0.2,10.0.0.3 there by hand"),
                "\(run)")
            // nginx: the paid store's PHP upstream has the new dispatcher as a backup.
            let conf = try #require(Files.read(root + "/usr/local/etc/nginx/installs.conf"))
            #expect(conf.contains("    server 10.0.0.2:9000 weight=1 max_fails=3 fail_timeout=30s;\n    server 10.0.0.3:9000 backup max_fails=3 fail_timeout=30s;\n"), "\(conf)")
            try SiteTesting.expectNginxAccepts(world, since: nginxLog)

            // A PHP handler: its files and a php-fpm.conf allowing the three dispatchers; nobody
            // else's config changes, nor nginx.
            let beforeHandler = try world.state()
            let handler = try world.planAndRun(["add-server", "--role", "php", "--hostname", "php1.make-a-store.com", "--private-ip", "10.0.1.1"])
            #expect(handler.exitCode == 0, "\(handler)")
            #expect(try rows("SELECT id, hostname, private_ip, kind, weight FROM internal.handlers WHERE id = 5")
                    == ["5 'php1.make-a-store.com' '10.0.1.1' 'php' 1"])
            #expect(try rows("SELECT hostname, kind FROM divinity.servers WHERE private_ip = '10.0.1.1'") == ["'php1.make-a-store.com' 'php'"])
            let php1 = root + "/srv/php1"
            #expect(Files.read(php1 + "/usr/local/etc/php-fpm.conf")?.contains(allowed) == true)
            #expect(Files.read(php1 + "/usr/local/etc/php/apc.ini") == "apc.shm_size = 128M\n")
            #expect(!Files.exists(php1 + "/usr/local/etc/nginx"), "a PHP handler gets no nginx config")
            #expect(Files.read(php1 + "/home/internal/lib/cron/cron.php") != nil)
            let afterHandler = try world.state()
            let changed = beforeHandler.differences(from: afterHandler).map { $0.split(separator: ":").first.map(String.init) ?? $0 }
            #expect(changed.allSatisfy { $0.hasPrefix("file ./srv/php1") || $0 == "table divinity.servers" || $0 == "table internal.handlers" },
                    "\(changed)")


            // Undo, newest first: every file and row as it was, nginx too.
            return [try #require(DemoWorld.runID(handler)), dispatchRun]
        }
        try SiteTesting.expectNginxAccepts(world, since: nginxLog)
    }

    @Test func badInputIsRefusedWithNothingTouched() throws {
        let world = try DemoWorld.built()
        try Self.prepare(world)
        let pristine = try world.state()
        let add = ["add-server", "--role", "dispatcher", "--hostname", "dispatch3.make-a-store.com"]
        for (arguments, problem) in [
            (["add-server", "--role", "dispatcher", "--hostname", "dispatch2.make-a-store.com", "--private-ip", "10.0.0.9"],
             "dispatch2.make-a-store.com is already in the handlers table: handler 2, dispatch2.make-a-store.com 10.0.0.2"),
            (add + ["--private-ip", "10.0.4.1"], "10.0.4.1 is already in the handlers table: handler 3, tmp-cloud.make-a-store.com 10.0.4.1"),
            (add + ["--private-ip", "10.0.0.3", "--movable-ip", "192.0.2.10"], "--movable-ip 192.0.2.10 is already in the IP pool (server_ips) of server 6"),
            (add + ["--private-ip", "10.0.0.3", "--movable-ip", "203.0.113.30", "--fixed-ip", "203.0.113.30"],
             "--fixed-ip 203.0.113.30 is also given as --movable-ip"),
            (["add-server", "--role", "dispatcher", "--hostname", "dispatch4.make-a-store.com", "--private-ip", "10.0.0.4"],
             "how does this server reach dispatch4.make-a-store.com? set sync in [settings.servers.\"dispatch4.make-a-store.com\"] (a folder, HOST: or rsync://)"),
            (["add-server", "--role", "php", "--hostname", "php1.make-a-store.com", "--private-ip", "10.0.1.1", "--movable-ip", "203.0.113.30"],
             "--movable-ip is for a dispatcher: a PHP handler serves no sites"),
            (add + ["--private-ip", "10.0.0.3", "--carp", "carp 3"], "--carp must be an interface name like carp3, got carp 3"),
            (add + ["--private-ip", "10.0.0"], "--private-ip"),
            (add + ["--private-ip", "10.0.0.3", "--role", "web"], "--role"),
        ] {
            try SiteTesting.expectRefused(world, arguments, problem)
        }
        // A file to copy that is not there: refused before anything is copied.
        try Files.write(world.root + "/usr/local/etc/php.ini.moved", Files.read(world.root + "/usr/local/etc/php.ini") ?? "")
        _ = unlink(world.root + "/usr/local/etc/php.ini")
        try expectUnchanged(world, "a missing file to copy") {
            try SiteTesting.expectRefused(world, add + ["--private-ip", "10.0.0.3"],
                                          "/usr/local/etc/php.ini does not exist on this server: nothing to copy (settings.add_server.config_files)")
        }
        #expect(pristine.tables == (try world.state()).tables)
    }

    @Test func aHandlerReachedOverSSHHasItsPHPFPMConfigEditedThroughAStagedCopy() throws {
        let world = try DemoWorld.built()
        let root = world.root
        try Self.prepare(world)
        // The cloud handler is reached over ssh (an sshd of the test on 127.0.0.1); its files
        // are under the world's root all the same, so nothing outside the sandbox is touched.
        let ssh = try LocalSSHServer.shared()
        let cloud = root + "/srv/tmp-cloud"
        try Files.mkdir(cloud + "/usr/local/etc")
        try Files.write(cloud + "/usr/local/etc/php-fpm.conf", Self.fpmConf)
        let config = world.directory + "/config.toml"
        try Files.write(config, (Files.read(config) ?? "") + """

            [settings.servers."tmp-cloud.make-a-store.com"]
            sync = "cloud:\(cloud)"

            [hosts.cloud]
            address = "127.0.0.1"
            port = \(ssh.port)
            user = "root"
            identity_file = "\(ssh.clientKey)"
            ssh_options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]

            """)
        // Undo puts back all but the copy sent over ssh (marked ! in the plan): the staged
        // copy goes, the cloud's file keeps the new address.
        try expectUndoRestores(world, ignoring: ["file ./srv/tmp-cloud/usr/local/etc/php-fpm.conf"]) {

            let run = try world.planAndRun(["add-server", "--role", "dispatcher", "--hostname", "dispatch3.make-a-store.com",
                                            "--private-ip", "10.0.0.3"])
            #expect(run.exitCode == 0, "\(run)")
            let allowed = Self.fpmConf.replacingOccurrences(of: "listen.allowed_clients = 10.0.0.1,10.0.0.2\n",
                                                            with: "listen.allowed_clients = 10.0.0.1,10.0.0.2,10.0.0.3\n")
            #expect(Files.read(cloud + "/usr/local/etc/php-fpm.conf") == allowed, "edited over ssh")
            #expect(Files.read(root + "/var/tmp/runbook-staging/cloud/usr/local/etc/php-fpm.conf") == allowed, "the staged copy")
            #expect(SiteTesting.messages(run, "warn").allSatisfy { !$0.contains("by hand") }, "\(run)")
            #expect(run.events("effect_applied").contains { $0["sign"]?.stringValue == "!" }, "the copy over ssh cannot be undone")

            let runToUndo = try #require(DemoWorld.runID(run))

            return runToUndo
        }
        #expect(Files.read(cloud + "/usr/local/etc/php-fpm.conf")?.contains("10.0.0.1,10.0.0.2,10.0.0.3\n") == true,
                "the copy sent over ssh stays")
    }

    @Test func allowedClientsTakeSingleAddressesOnly() throws {
        let lua = try StdlibLua()
        // The guide's question: 10.0.0.0/8 is not an entry php-fpm takes (main/fastcgi.c parses
        // each entry with inet_pton), so it is reported, and refused as a new entry
        // (PhpFpmAllowedClientsTests compares the verdicts with a real php-fpm's).
        #expect(try lua.string("""
            local fpm = require("php_fpm")
            local out = {}
            for _, e in ipairs(fpm.allowed_clients("[www]\\nlisten.allowed_clients = 10.0.0.1, 10.0.0.0/8,::1\\n;listen.allowed_clients = 1.2.3.4\\n[b]\\nlisten.allowed_clients=\\"10.0.0.2\\"\\n")) do
              out[#out + 1] = e.pool .. "@" .. e.line .. ":" .. table.concat(e.clients, "|") .. "/" .. table.concat(e.invalid, "|")
            end
            return table.concat(out, " ")
            """) == "www@2:10.0.0.1|::1/ 10.0.0.0/8 b@5:10.0.0.2/", "entries as php-fpm splits them: the blank stays")
        #expect(lua.error("return require('php_fpm').allow('', {'10.0.0.0/8'})")?.contains(
            "php-fpm's listen.allowed_clients takes single addresses, not 10.0.0.0/8") == true)
        // allow: appended where missing, once; comments, other lines and CRLF endings kept;
        // a pool without the line (php-fpm allows everyone there) is left alone.
        #expect(try lua.string("""
            local text, added = require("php_fpm").allow("; keep\\r\\n[www]\\r\\nlisten.allowed_clients = 10.0.0.1\\r\\n[open]\\r\\nlisten = 9001", { "10.0.0.1", "10.0.0.3" })
            return text .. "#" .. table.concat(added, ",")
            """) == "; keep\r\n[www]\r\nlisten.allowed_clients = 10.0.0.1,10.0.0.3\r\n[open]\r\nlisten = 9001#www: 10.0.0.3")
        for (text, ok) in [("10.0.0.3", true), ("256.1.1.1", false), ("fe80::1", true), ("10.0.0.0/8", false), ("localhost", false), ("1::2::3", false)] {
            #expect(try lua.string("return tostring(require('php_fpm').is_address('\(text)'))") == String(ok), "\(text)")
        }
    }
}
