// scripts/demo-world for real: it builds a world in a temporary folder (its own MariaDB,
// Subversion repository, checkouts and nginx on 127.0.0.1), the engine works against the
// world's config.toml, and `scripts/demo-world stop` leaves no process behind.

@testable import RunbookEngine
import Foundation
import MySQLClient
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct DemoWorldTests {
    @Test func buildsAWorldTheEngineUsesAndStopsIt() throws {
        let box = try Sandbox()
        let world = DemoWorld(box)
        let dir = world.directory

        let built = try world.script([dir])
        #expect(built.exitCode == 0, "\(built)")
        #expect(built.stdout.contains("demo world in \(dir)"), "\(built)")
        #expect(built.stdout.contains("scripts/demo-world stop \(dir)"), "it says how to stop it\n\(built)")
        try world.readEnv()
        let socketPath = try world.value("DEMO_WORLD_MYSQL_SOCKET")
        let port = try #require(Int(try world.value("DEMO_WORLD_NGINX_PORT")))
        let mysqlPID = try world.value("DEMO_WORLD_MYSQL_PID"), nginxPID = try world.value("DEMO_WORLD_NGINX_PID")
        #expect(socketPath.hasPrefix(dir + "/"), "the socket is under the world's folder")
        #expect(isAlive(mysqlPID) && isAlive(nginxPID))

        // The engine lists the shipped runbooks with the world's config.
        let list = try world.runbook(["list"])
        #expect(list.exitCode == 0, "\(list)")
        #expect(list.stdout.contains("failover-ips") && list.stdout.contains("failover-db"), "\(list)")

        // The seed rows, read directly.
        let admin = try Connection(ConnectionOptions(socket: socketPath, user: "root"))
        defer { admin.close() }
        func count(_ sql: String) throws -> Int64 { try admin.query(sql).rows.first?[0].int64 ?? -1 }
        #expect(try count("SELECT COUNT(*) FROM internal.handlers WHERE kind = 'dispatcher'") == 2)
        #expect(try count("SELECT COUNT(*) FROM internal.handlers WHERE kind = 'cloud' AND private_ip LIKE '10.0.%'") == 1)
        #expect(try count("SELECT COUNT(*) FROM internal.shared_code_groups") == 3)
        #expect(try count("SELECT COUNT(*) FROM internal.shared_code_groups WHERE `limit` = 1 AND free = 0") == 1)
        #expect(try count("SELECT COUNT(*) FROM internal.shared_code_groups WHERE repository LIKE 'file://%'") == 3)
        #expect(try count("SELECT COUNT(*) FROM divinity.servers") == 3)
        #expect(try count("SELECT COUNT(DISTINCT server_id) FROM divinity.server_ips WHERE movable = 1") == 2)
        #expect(try count("SELECT COUNT(*) FROM divinity.server_ips WHERE movable = 0") > 0)
        #expect(try count("SELECT COUNT(*) FROM divinity.server_ips WHERE install_id IS NULL") > 10)
        #expect(try count("""
            SELECT COUNT(*) FROM divinity.server_ips WHERE ip NOT LIKE '192.0.2.%' AND ip NOT LIKE '198.51.100.%'
            AND ip NOT LIKE '203.0.113.%'
            """) == 0, "public addresses only from the documentation ranges")
        #expect(try count("SELECT COUNT(*) FROM divinity.dns_records WHERE domain = 'example.com'") > 0)
        #expect(try count("SELECT COUNT(*) FROM internal.installs") == 0)

        // The shared codebases, checked out from the world's Subversion repository at r1.
        let root = try world.value("DEMO_WORLD_ROOT")
        for group in ["code_share_free_1", "code_share_paid_1", "code_share_paid_2"] {
            let checkout = root + "/home/shared_codes/" + group
            for folder in ["/.svn", "/heavymetal/lib", "/heavymetal/theme", "/heavymetal/snippets", "/html/mas_assets/theme"] {
                #expect(Posix.lstatInfo(checkout + folder)?.kind == .directory, "\(group)\(folder)")
            }
            #expect(Files.exists(checkout + "/sql/core/0001_core_tables.sql"), "\(group)")
            #expect(Files.exists(checkout + "/sql/catalog/0001_catalog_tables.sql"), "\(group)")
            #expect(!Files.exists(checkout + "/sql/catalog/0002_product_sku.sql"), "r2 is not checked out yet")
            let revision = try system(["svn", "info", "--show-item", "revision", "--non-interactive", checkout])
            #expect(revision.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(group)")
        }
        let head = try system(["svn", "info", "--show-item", "revision", "--non-interactive", try world.value("DEMO_WORLD_SVN_URL")])
        #expect(head.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "an r2 waits for the update runbook")

        // Through the engine, with the world's connections (user runbook, password file):
        // the seed, and the codebase's SQL updates applied to a new install database made
        // from install.sql (the guide's "mut").
        try box.addRunbook("probe", """
            return runbook {
              summary = "probe the demo world",
              run = function()
                step("Read the seed", function()
                  local handlers = db.query_one("internal", "SELECT COUNT(*) AS n FROM handlers")
                  local free = db.query_one("master", "SELECT COUNT(*) AS n FROM server_ips WHERE install_id IS NULL")
                  print("handlers=" .. handlers.n .. " free_ips=" .. free.n)
                  local pin = settings.pins["tea@make-a-store.com"]
                  if not pin or pin.group ~= 3 or pin.handler ~= 1 then error("settings.pins is not as the seed expects") end
                  for _, group in ipairs(db.query("internal", "SELECT dir FROM shared_code_groups ORDER BY id")) do
                    if not fs.exists(group.dir .. "/heavymetal/lib/VERSION") then error("no checkout at " .. group.dir) end
                  end
                end)
                step("Create a store database and run the updates", function()
                  db.create_database("installs", "probe_store")
                  db.load_sql_file("installs", "probe_store", settings.install_schema)
                  for _, plugin in ipairs({ "core", "catalog" }) do
                    db.apply_updates("installs", "probe_store", "/home/shared_codes/code_share_paid_1/sql/" .. plugin,
                                     { plugin_id = plugin, revision = "1" })
                  end
                end)
              end,
            }
            """)
        let probe = try world.runbook(["run", "probe"])
        #expect(probe.exitCode == 0, "\(probe)")
        #expect(probe.stdout.contains("handlers=3 free_ips=18"), "\(probe)")
        #expect(try count("SELECT COUNT(*) FROM probe_store.database_updates") == 2)
        #expect(try count("SELECT COUNT(*) FROM probe_store.vars WHERE name IN ('core.schema', 'catalog.schema')") == 2)
        let password = try #require(Files.read(dir + "/secrets/runbook-db.pw")).trimmingCharacters(in: .whitespacesAndNewlines)
        for file in Files.allFiles(dir + "/state") { #expect(!(Files.read(file) ?? "").contains(password), "\(file)") }

        // nginx answers on 127.0.0.1 and includes the installs' config from the root folder.
        #expect(try httpBody(port)?.contains("Divinity demo world") == true)
        let nginxConfig = try #require(Files.read(try world.value("DEMO_WORLD_NGINX_CONFIG")))
        #expect(nginxConfig.contains("include \(root)/usr/local/etc/nginx/installs.conf;"))
        #expect(Files.exists(root + "/usr/local/etc/nginx/installs.conf"))

        // A store's server as rebuild-nginx renders it (on a seed IP that is not on this
        // machine, beside the catch-all on the settings' ports) loads with a gated reload.
        let httpsPort = try world.value("DEMO_WORLD_NGINX_HTTPS_PORT")
        try box.addRunbook("store_server", """
            return runbook {
              summary = "write a store's server and reload nginx",
              run = function()
                step("Rebuild web server config", function()
                  local port, https = settings.nginx.http_port, settings.nginx.https_port
                  fs.write(settings.nginx_installs_config, table.concat({
                    "server { listen " .. port .. " default_server; return 444; }",
                    "server { listen " .. https .. " ssl default_server; ssl_reject_handshake on; }",
                    "server { listen 192.0.2.10:" .. port .. "; server_name shop.example.com; return 200 'shop'; }",
                  }, "\\n") .. "\\n")
                  service.reload("nginx", { config = settings.nginx_config })
                end)
              end,
            }
            """)
        let reload = try world.runbook(["run", "store_server"])
        #expect(reload.exitCode == 0, "\(reload)")
        #expect(reload.stdout.contains("reload nginx"), "\(reload)")
        #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf")?.contains(":\(port); server_name shop.example.com") == true)
        #expect(Files.read(root + "/usr/local/etc/nginx/installs.conf")?.contains("listen \(httpsPort) ssl") == true)
        usleep(300_000)
        let errors = (Files.read(dir + "/nginx/error.log") ?? "").split(separator: "\n").filter { $0.contains("[emerg]") }
        #expect(errors.isEmpty, "the reload failed in nginx:\n\(errors.joined(separator: "\n"))")
        #expect(try waitForBody(port, "Divinity demo world: no store answers to this hostname"), "127.0.0.1 still gets the world's page")

        // A second build into the same folder is refused; --force rebuilds it.
        let again = try world.script([dir])
        #expect(again.exitCode == 1, "\(again)")
        #expect(again.stderr.contains("is not empty"), "\(again)")
        #expect(isAlive(mysqlPID) && isAlive(nginxPID), "the refused build left the running world alone")
        let rebuilt = try world.script(["--force", dir])
        #expect(rebuilt.exitCode == 0, "\(rebuilt)")
        #expect(!isAlive(mysqlPID) && !isAlive(nginxPID), "--force stopped the old world")
        try world.readEnv()
        let newPort = try #require(Int(try world.value("DEMO_WORLD_NGINX_PORT")))
        #expect(try httpBody(newPort)?.contains("Divinity demo world") == true)
        #expect(try world.runbook(["history"]).stdout.contains("probe") == false, "a rebuilt world starts with no history")

        // stop: nothing of the world keeps running.
        let stopped = try world.script(["stop", dir])
        #expect(stopped.exitCode == 0, "\(stopped)")
        #expect(processesMentioning(dir).isEmpty, "leftover processes:\n\(processesMentioning(dir).joined(separator: "\n"))")
        #expect(try httpBody(newPort) == nil, "nginx is stopped")
        #expect(!Files.exists(try world.value("DEMO_WORLD_MYSQL_SOCKET")), "MariaDB is stopped")
        let stopAgain = try world.script(["stop", dir])
        #expect(stopAgain.exitCode == 0, "stopping a stopped world is fine\n\(stopAgain)")
    }
}
