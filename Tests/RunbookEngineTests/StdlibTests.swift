// The Lua stdlib the shipped runbooks share (stdlib/*.lua, from this repository): PHP
// serialize/unserialize, config.php, JSON and the nginx renderer as pure functions in a
// sandboxed Lua state; codebase choice, IP allocation and the queue through the real binary
// against the platform's schema (schema/internal.sql, schema/master.sql) on the private
// MariaDB server.

@testable import RunbookEngine
import LuaBridge
import RunbookConfig
import RunbookSupport
import RunbookTestKit
import Testing

/// Every stdlib test, so `--filter StdlibTests` selects them all.
@Suite("stdlib") struct StdlibTests {}

// MARK: - php.lua

extension StdlibTests { @Suite("stdlib: php.lua")
struct PhpSerializeTests {
    /// Strings exactly as PHP's serialize() writes them, and the values they hold.
    static let phpProduced: [String] = [
        #"N;"#,
        #"b:1;"#,
        #"b:0;"#,
        #"i:0;"#,
        #"i:-7;"#,
        #"i:9223372036854775807;"#,
        #"d:0.1;"#,
        #"d:1;"#,
        #"d:-0;"#,
        #"d:1.5;"#,
        #"d:1.0E+25;"#,
        #"d:1.0E-5;"#,
        #"d:0.0001;"#,
        #"d:0.30000000000000004;"#,
        #"d:INF;"#,
        #"d:-INF;"#,
        #"s:0:"";"#,
        #"s:6:"héllo";"#,                                    // é is two bytes
        #"s:13:"it's "quoted"";"#,
        #"a:0:{}"#,
        #"a:2:{i:0;s:25:"rewrite ^/old$ /new.html;";i:1;s:43:"rewrite ^/shop/(.*)$ /catalog/$1 permanent;";}"#,
        #"a:4:{s:1:"a";i:1;s:1:"b";a:2:{i:0;b:1;i:1;N;}s:1:"c";d:1.5;s:1:"d";s:2:"é";}"#,
        #"a:2:{s:1:"z";i:1;s:1:"a";i:2;}"#,                 // PHP keeps insertion order
        #"a:2:{i:5;s:1:"x";i:7;s:1:"y";}"#,                 // a map with integer keys
        #"a:2:{i:1;s:1:"a";i:0;s:1:"b";}"#,                 // keys 0 and 1, but not a list
        #"a:1:{i:0;a:1:{s:4:"deep";a:0:{}}}"#,
    ]

    @Test("what PHP serialized reads back and serializes to the same bytes")
    func roundTripsPHPOutput() throws {
        let lua = try StdlibLua()
        for text in PhpSerializeTests.phpProduced {
            let again = try lua.string("""
                local php = require("php")
                return php.serialize(php.unserialize(\(luaQuoted(text))))
                """)
            #expect(again == text)
        }
    }

    @Test("unserialize gives Lua values: lists as sequences, byte-length strings, typed numbers")
    func unserializeValues() throws {
        let lua = try StdlibLua()
        let summary = try lua.string(#"""
            local php = require("php")
            local rules = php.unserialize('a:2:{i:0;s:25:"rewrite ^/old$ /new.html;";i:1;s:43:"rewrite ^/shop/(.*)$ /catalog/$1 permanent;";}')
            local map = php.unserialize('a:3:{s:1:"z";i:1;s:1:"5";N;i:7;d:0.5;}')
            local s = php.unserialize('s:6:"héllo";')
            return table.concat({
              #rules, rules[1], rules[2],
              tostring(map.z), tostring(map[5] == php.null), math.type(map[7]), tostring(map[7]),
              s, tostring(php.unserialize("N;")), math.type(php.unserialize("d:1;")),
              math.type(php.unserialize("i:3;")), tostring(php.unserialize("b:1;")),
            }, "|")
            """#)
        #expect(summary == "2|rewrite ^/old$ /new.html;|rewrite ^/shop/(.*)$ /catalog/$1 permanent;|1|true|float|0.5|héllo|nil|float|integer|true")
    }

    @Test("serialize writes lists with keys 0..n-1 and maps with sorted keys, strings by byte length")
    func serializeLuaValues() throws {
        let lua = try StdlibLua()
        let cases: [(String, String)] = [
            (#"{"rewrite ^/a$ /b;", "rewrite ^/c$ /d;"}"#, #"a:2:{i:0;s:16:"rewrite ^/a$ /b;";i:1;s:16:"rewrite ^/c$ /d;";}"#),
            (#"{b = 2, a = 1, [10] = "x", [2] = "y"}"#, #"a:4:{i:2;s:1:"y";i:10;s:1:"x";s:1:"a";i:1;s:1:"b";i:2;}"#),
            (#"{["5"] = "five", name = "é"}"#, #"a:2:{i:5;s:4:"five";s:4:"name";s:2:"é";}"#),
            (#"{}"#, #"a:0:{}"#),
            (#"{true, false, php.null, 1.0, 2, -0.25}"#, #"a:6:{i:0;b:1;i:1;b:0;i:2;N;i:3;d:1;i:4;i:2;i:5;d:-0.25;}"#),
            (#"nil"#, #"N;"#),
            (#"1e100"#, #"d:1.0E+100;"#),
            (#"123456789012.5"#, #"d:123456789012.5;"#),
            (#"php.map({[1] = "a"})"#, #"a:1:{i:1;s:1:"a";}"#),
        ]
        for (value, expected) in cases {
            let text = try lua.string("local php = require('php'); return php.serialize(\(value))")
            #expect(text == expected, "\(value)")
        }
        let refused = lua.error("local php = require('php'); local t = {}; t.self = t; return php.serialize(t)")
        #expect(refused?.contains("refers to itself") == true, "\(refused ?? "no error")")
        let function = lua.error("return require('php').serialize({ f = function() end })")
        #expect(function?.contains("cannot serialize a function") == true, "\(function ?? "no error")")
    }

    @Test("malformed input is an error naming the offset")
    func malformedInput() throws {
        let lua = try StdlibLua()
        let cases: [(String, String)] = [
            (#"a:1:{i:0;s:5:"abc";}"#, "at offset 19 of 20 bytes"),       // the length claims more bytes
            (#"s:3:"abcd";"#, "expected '\"', found 'd' at offset 8"),
            (#"i:5"#, "expected ';', found the end at offset 3 of 3 bytes"),
            (#"i:x;"#, "expected an integer at offset 2"),
            (#"b:2;"#, "expected 0 or 1 for a boolean at offset 2"),
            (#"a:2:{i:0;i:1;}"#, "at offset 13"),
            (#"a:1:{i:0;i:1;i:1;}"#, "expected '}', found 'i' at offset 13"),
            (#"a:2:{i:0;i:1;i:0;i:2;}"#, "duplicate array key \"0\" at offset 13"),
            (#"x"#, "unknown type 'x' at offset 0"),
            (#"O:8:"stdClass":0:{}"#, "unsupported type 'O' (objects and references are not read) at offset 0 of 19 bytes"),
            (#"i:1;garbage"#, "unexpected data after the value at offset 4"),
            (#""#, "unexpected end of input at offset 0"),
            (#"d:1.2.3;"#, "invalid float '1.2.3' at offset 2"),
        ]
        for (text, expected) in cases {
            let message = lua.error("return require('php').unserialize(\(luaQuoted(text)))")
            #expect(message?.contains("php.unserialize: ") == true && message?.contains(expected) == true,
                    "\(text): \(message ?? "no error")")
        }
    }
} }

// MARK: - settings.lua

extension StdlibTests { @Suite("stdlib: settings.lua")
struct SettingsTests {
    /// A bare state whose `settings` global is `value` (as config.toml's [settings] gives it).
    static func lua(_ value: LuaValue) throws -> StdlibLua {
        let lua = try StdlibLua()
        try lua.state.setGlobal("settings", value)
        return lua
    }

    @Test("a setting that is there is returned; one that is not reads as an empty table or nil")
    func readsWhatIsThere() throws {
        let lua = try Self.lua(["health_sweep": ["mail_to": "ops@example.com"], "this_server": "Dispatch1.Example.com",
                                "servers": ["d2": ["sync": "/srv/d2"]]])
        let text = try lua.string("""
            local setting = require("settings")
            return table.concat({ setting.table("health_sweep").mail_to, tostring(next(setting.table("nginx"))),
              setting.string("this_server"), setting.lower("this_server"), tostring(setting.string("staging_dir")),
              setting.entry("servers", "d2").sync, tostring(setting.entry("servers", "d3")) }, "|")
            """)
        #expect(text == "ops@example.com|nil|Dispatch1.Example.com|dispatch1.example.com|nil|/srv/d2|nil")
    }

    @Test("servers.host names the [hosts] entry a platform server is reached through, or says what to add")
    func serverHosts() throws {
        let lua = try Self.lua(["servers": ["dispatch2.example.com": ["sync": "d2:"], "cloud1.example.com": ["sync": "rsync://10.0.4.5/root/"]]])
        try lua.state.setGlobal("context", ["hosts": ["d1": true, "d2": true]])
        let text = try lua.string("""
            local servers = require("servers")
            local ok, problem = pcall(servers.host, "cloud1.example.com")
            return table.concat({ servers.host("d1"), servers.host("dispatch2.example.com"), tostring(ok), problem }, "|")
            """)
        #expect(text == #"d1|d2|false|which host of the configuration is cloud1.example.com? add [hosts."cloud1.example.com"] or set sync = "HOST:" in [settings.servers."cloud1.example.com"]"#)
    }

    @Test("a mistyped setting stops the run in one line naming it, the type it needs and where it is set")
    func mistypedSettingsAreNamed() throws {
        let lua = try Self.lua(["health_sweep": "daily", "this_server": ["a"], "servers": ["d2": "/srv/d2"], "nginx": 80])
        let cases: [(String, String)] = [
            (#"return require("settings").table("health_sweep")"#,
             "settings.health_sweep must be a table, got string (config.toml [settings.health_sweep])"),
            (#"return require("settings").table("nginx")"#, "settings.nginx must be a table, got number (config.toml [settings.nginx])"),
            (#"return require("settings").lower("this_server")"#,
             #"settings.this_server must be a string, got table (config.toml [settings] this_server = "...")"#),
            (#"return require("settings").entry("servers", "d2")"#,
             #"settings.servers."d2" must be a table, got string (config.toml [settings.servers."d2"])"#),
            (#"return require("servers").reach("d2")"#,
             #"settings.servers."d2" must be a table, got string (config.toml [settings.servers."d2"])"#),
        ]
        for (code, message) in cases {
            #expect(lua.error(code) == message, "\(code)")
        }
    }
} }

// MARK: - install_config.lua (json: NullAndJsonTests.swift)

extension StdlibTests { @Suite("stdlib: install_config.lua")
struct InstallConfigTests {
    @Test("config.php: one assignment per line, quotes and backslashes escaped, read back and changed in place")
    func renderParseSet() throws {
        let lua = try StdlibLua()
        let text = try lua.string(#"""
            local c = require("install_config")
            return c.render({ db_pass = [[it's a \ secret]], db_host = "10.0.0.5", db_name = "teacoll",
                              db_user = "teacoll", memcache_port = 11211, debug = false })
            """#)
        #expect(text == #"""
            <?php
            $config['db_host'] = '10.0.0.5';
            $config['db_name'] = 'teacoll';
            $config['db_user'] = 'teacoll';
            $config['db_pass'] = 'it\'s a \\ secret';
            $config['debug'] = false;
            $config['memcache_port'] = 11211;

            """#)
        let parsed = try lua.string(#"""
            local c = require("install_config")
            local text = c.render({ db_pass = [[it's a \ secret]], db_host = "10.0.0.5", port = 3306 })
            local v = c.parse(text)
            local moved = c.set(text, "db_host", "10.0.0.6")
            return table.concat({ v.db_pass, v.db_host, math.type(v.port), c.parse(moved).db_host, c.parse(moved).db_pass,
                                  tostring(select(2, moved:gsub("\n", "\n"))) }, "|")
            """#)
        #expect(parsed == #"it's a \ secret|10.0.0.5|integer|10.0.0.6|it's a \ secret|4"#)
        let appended = try lua.string(#"return require("install_config").set("<?php\n$config['a'] = 1;\n?>\n", "db_host", "x")"#)
        #expect(appended == "<?php\n$config['a'] = 1;\n$config['db_host'] = 'x';\n?>\n")
        let bad = lua.error(#"return require("install_config").render({ ["db host"] = "x" })"#)
        #expect(bad?.contains("invalid key") == true, "\(bad ?? "no error")")
    }
} }

// MARK: - nginx.lua

/// The world of the nginx rendering tests: dispatchers d1 and d2, a cloud handler, a paid
/// install with SSL, custom rewrites (as PHP serialized them) and the cloud handler at weight
/// 5, and a free install on d2.
let nginxSeed = #"""
    INSERT INTO handlers (id, hostname, private_ip, public_ip, kind, weight, carp_interface) VALUES
      (1, 'dispatch1.make-a-store.com', '10.0.0.1', '208.43.48.1', 'dispatcher', 1, 'carp1'),
      (2, 'dispatch2.make-a-store.com', '10.0.0.2', '208.43.48.9', 'dispatcher', 1, 'carp2'),
      (3, 'tmp-cloud.make-a-store.com', '10.0.4.1', NULL, 'cloud', 1, NULL);
    INSERT INTO shared_code_groups (id, dir, free, revision, `limit`, handler_id) VALUES
      (1, '/home/shared_codes/code_share_paid_1', 0, '4711', 50, 1),
      (2, '/home/shared_codes/code_share_free_1', 1, '4711', 50, 2);
    INSERT INTO installs (id, email, db_name, db_user, fs_name, home_dir, shared_code_group_id, master_handler_id, free, license, dynamic_ips, custom_rewrites) VALUES
      (1, 'tea@make-a-store.com', 'teacoll', 'teacoll', 'teacoll', '/usr/home/teacoll', 1, 1, 0, 'paid', 1,
       'a:2:{i:0;s:25:"rewrite ^/old$ /new.html;";i:1;s:43:"rewrite ^/shop/(.*)$ /catalog/$1 permanent;";}'),
      (2, 'bob@example.com', 'bobshop', 'bobshop', 'bobshop', '/usr/home/bobshop', 2, 2, 1, 'free', 0, NULL);
    INSERT INTO install_sites (id, install_id, hostname, secure_hostname, ssl_pem, ssl_key) VALUES
      (1, 1, 'shop.teacollection.com', 'secure.teacollection.com', '/usr/home/teacoll/certs/shop.pem', '/usr/home/teacoll/certs/shop.key'),
      (2, 2, 'bobshop.example.com', NULL, NULL, NULL);
    INSERT INTO install_site_ips (id, install_site_id, ip, handler_id) VALUES
      (1, 1, '208.43.48.5', 1), (2, 1, '208.43.48.6', 2), (3, 2, '208.43.48.7', 2);
    INSERT INTO install_handlers (install_id, handler_id, weight) VALUES (1, 3, 5);
    """#

/// What nginx.lua renders from nginxSeed, byte for byte (a golden file: the same server block
/// for each listener would otherwise be written out again and again here).
let nginxExpectedPath = PathName.parent(#filePath) + "/Fixtures/nginx-render/installs.conf"

extension StdlibTests { @Suite("stdlib: nginx.lua", .serialized)
struct NginxRenderTests {
    @Test("the configuration of a seeded world, exactly: SSL, custom rewrites, a weighted cloud handler, a free install")
    func renderSeededWorld() throws {
        let world = try PlatformWorld()
        try world.internalDB.run(nginxSeed)
        let out = world.box.tree + "/installs.conf"
        try world.box.addRunbook("render", """
            local nginx = require("nginx")
            return runbook {
              summary = "render the nginx config",
              run = function()
                local text, stats = nginx.build("internal")
                fs.write("\(out)", text)
                print(("RESULT installs=%d sites=%d servers=%d upstreams=%d warnings=%d"):format(
                  stats.installs, stats.sites, stats.servers, stats.upstreams, #stats.warnings))
              end,
            }
            """)
        let result = try world.box.runbook(["run", "render"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(resultLines(result) == ["installs=2 sites=2 servers=3 upstreams=2 warnings=0"])
        let text = try #require(Files.read(out))
        let expected = try #require(Files.read(nginxExpectedPath), "\(nginxExpectedPath) is readable")
        #expect(text == expected, "got:\n\(text)")
    }

    @Test("weights: 0 makes a backup, the install's own row wins, unknown handlers and bad rows are reported")
    func weightsAndWarnings() throws {
        let lua = try StdlibLua()
        let text = try lua.string(#"""
            local nginx = require("nginx")
            local text, stats = nginx.render({
              handlers = {
                { id = 1, hostname = "d1", private_ip = "10.0.0.1", kind = "dispatcher", weight = 1 },
                { id = 2, hostname = "d2", private_ip = "10.0.0.2", kind = "dispatcher", weight = 1 },
                { id = 3, hostname = "c1", private_ip = "10.0.4.1", kind = "cloud", weight = 1 },
              },
              installs = { { id = 40, fs_name = "tea", home_dir = "/usr/home/tea/", master_handler_id = 1, free = 0 } },
              sites = { { id = 7, install_id = 40, hostname = "http://Tea.Example.com/", secure_hostname = "bad name" },
                        { id = 8, install_id = 40, hostname = "x y" } },
              site_ips = { { id = 2, install_site_id = 7, ip = "300.1.1.1" }, { id = 1, install_site_id = 7, ip = "2001:db8::5" } },
              install_handlers = { { install_id = 40, handler_id = 1, weight = 0 }, { install_id = 40, handler_id = 2, weight = 0 },
                                   { install_id = 40, handler_id = 3, weight = 10 }, { install_id = 40, handler_id = 9, weight = 1 } },
            }, { default_server = false, fastcgi_params = false, php_port = 9001 })
            return text .. "WARNINGS\n" .. table.concat(stats.warnings, "\n")
            """#)
        #expect(text.contains("""
            upstream install_40_php {
                server 10.0.0.1:9001 backup max_fails=3 fail_timeout=30s;
                server 10.0.0.2:9001 backup max_fails=3 fail_timeout=30s;
                server 10.0.4.1:9001 weight=10 max_fails=3 fail_timeout=30s;
            }
            server {
                listen [2001:db8::5]:80;
                server_name tea.example.com;
                root /usr/home/tea/html;
            """), "\(text)")
        #expect(!text.contains("default_server") && !text.contains("include"), "\(text)")
        #expect(text.contains("""
            WARNINGS
            install 40 (tea): install_handlers names handler 9, which is not in the handlers table
            install 40 (tea): site 7 (tea.example.com) has an invalid address '300.1.1.1': left out
            install 40 (tea): site 8 has an invalid hostname 'x y': left out
            """), "\(text)")
    }

    @Test("changes between two renderings, by install")
    func changesByInstall() throws {
        let lua = try StdlibLua()
        let text = try lua.string(#"""
            local nginx = require("nginx")
            local function world(hostname, with_third)
              local w = {
                handlers = { { id = 1, hostname = "d1", private_ip = "10.0.0.1", kind = "dispatcher", weight = 1 } },
                installs = { { id = 1, fs_name = "a", home_dir = "/usr/home/a", master_handler_id = 1, free = 1 },
                             { id = 2, fs_name = "b", home_dir = "/usr/home/b", master_handler_id = 1, free = 1 } },
                sites = { { id = 1, install_id = 1, hostname = "a.example.com" }, { id = 2, install_id = 2, hostname = hostname } },
              }
              if with_third then
                w.installs[3] = { id = 10, fs_name = "c", home_dir = "/usr/home/c", master_handler_id = 1, free = 1 }
              end
              return (nginx.render(w))
            end
            local c = nginx.changes(world("b.example.com", true), world("new-b.example.com", false))
            local same = nginx.changes(world("b.example.com"), world("b.example.com"))
            local first = nginx.changes("", world("b.example.com"))
            return table.concat({ table.concat(c.added, ","), table.concat(c.changed, ","), table.concat(c.removed, ","),
                                  tostring(c.other), #same.added + #same.changed + #same.removed, tostring(same.other),
                                  table.concat(first.added, ","), tostring(first.other) }, "|")
            """#)
        #expect(text == "|2|10|false|0|false|1,2|true")
    }

    @Test("custom rewrites that do not unserialize stop the rendering, naming the install and the offset")
    func brokenSerializedRewrites() throws {
        let lua = try StdlibLua()
        let message = lua.error(#"""
            return require("nginx").render({
              handlers = { { id = 1, hostname = "d1", private_ip = "10.0.0.1", kind = "dispatcher", weight = 1 } },
              installs = { { id = 5, fs_name = "shop5", home_dir = "/usr/home/shop5", master_handler_id = 1, free = 1,
                             custom_rewrites = 'a:1:{i:0;s:99:"rewrite ^/a$ /b;";}' } },
            })
            """#)
        #expect(message?.contains("install 5 (shop5): installs.custom_rewrites: php.unserialize:") == true, "\(message ?? "no error")")
        #expect(message?.contains("string of 99 bytes runs past the end at offset 15 of 34 bytes") == true, "\(message ?? "no error")")
    }

    @Test("10,000 installs with 2 sites each render in under a second")
    func rendersTenThousandInstalls() throws {
        let lua = try StdlibLua()
        let results = try lua.state.run(#"""
            local nginx = require("nginx")
            local php = require("php")
            local rules = php.serialize({ "rewrite ^/old$ /new.html;", "rewrite ^/shop/(.*)$ /catalog/$1 permanent;" })
            local world = { handlers = {
                { id = 1, hostname = "d1", private_ip = "10.0.0.1", kind = "dispatcher", weight = 1 },
                { id = 2, hostname = "d2", private_ip = "10.0.0.2", kind = "dispatcher", weight = 1 },
                { id = 3, hostname = "c1", private_ip = "10.0.4.1", kind = "cloud", weight = 1 } },
              installs = {}, sites = {}, site_ips = {}, install_handlers = {} }
            for i = 1, 10000 do
              world.installs[i] = { id = i, fs_name = "shop" .. i, home_dir = "/usr/home/shop" .. i,
                                    master_handler_id = 1 + i % 2, free = i % 2, custom_rewrites = i % 5 == 0 and rules or nil }
              for s = 1, 2 do
                local sid = 2 * i + s - 2
                world.sites[sid] = { id = sid, install_id = i, hostname = ("s%d.shop%d.example.com"):format(s, i),
                  ssl_pem = s == 1 and "/certs/a.pem" or nil, ssl_key = s == 1 and "/certs/a.key" or nil }
                world.site_ips[sid] = { id = sid, install_site_id = sid, ip = ("10.%d.%d.%d"):format(sid // 65536, sid // 256 % 256, sid % 256) }
              end
              if i % 10 == 0 then world.install_handlers[#world.install_handlers + 1] = { install_id = i, handler_id = 3, weight = 4 } end
            end
            return function()
              local text, stats = nginx.render(world)
              return #text, stats.servers
            end
            """#, chunkName: "=bench")
        guard case .function(let render) = try #require(results.first) else { throw TestSetupError("no render function") }
        var best = Double.infinity
        var output: [LuaValue] = []
        for _ in 0..<3 {
            let start = Clock.monotonic()
            output = try lua.state.call(render)
            best = min(best, Clock.monotonic() - start)
        }
        #expect(output.count == 2 && output[1] == .integer(30000), "\(output)")
        #expect(best < 1.0, "rendering 10,000 installs took \(best) s")
        print("nginx.render: 10,000 installs, 20,000 sites, 30,000 server blocks (\(output.first ?? .nil) bytes) in \(best) s")
    }
} }

// MARK: - codebase.lua

let codebaseSeed = """
    INSERT INTO handlers (id, hostname, private_ip, kind) VALUES
      (1, 'dispatch1.make-a-store.com', '10.0.0.1', 'dispatcher'),
      (2, 'dispatch2.make-a-store.com', '10.0.0.2', 'dispatcher'),
      (3, 'tmp-cloud.make-a-store.com', '10.0.4.1', 'cloud');
    INSERT INTO shared_code_groups (id, dir, free, revision, `limit`, handler_id) VALUES
      (1, '/home/shared_codes/code_share_paid_1', 0, '4711', 2, 1),
      (2, '/home/shared_codes/code_share_paid_2', 0, '4711', 50, 1),
      (3, '/home/shared_codes/code_share_paid_3', 0, '4711', 50, 1),
      (4, '/home/shared_codes/code_share_free_1', 1, '4711', 3, 1),
      (5, '/home/shared_codes/code_share_free_2', 1, '4711', 50, 2),
      (6, '/home/shared_codes/code_share_free_3', 1, '4711', 10, 1),
      (29, '/home/shared_codes/code_share_tea', 0, '4711', 1, 1);
    INSERT INTO installs (email, db_name, db_user, fs_name, home_dir, shared_code_group_id, master_handler_id, free) VALUES
      ('a1@example.com', 'a1', 'a1', 'a1', '/usr/home/a1', 1, 1, 0),
      ('a2@example.com', 'a2', 'a2', 'a2', '/usr/home/a2', 1, 1, 0),
      ('b1@example.com', 'b1', 'b1', 'b1', '/usr/home/b1', 2, 1, 0),
      ('b2@example.com', 'b2', 'b2', 'b2', '/usr/home/b2', 2, 1, 0),
      ('c1@example.com', 'c1', 'c1', 'c1', '/usr/home/c1', 3, 1, 0),
      ('f1@example.com', 'f1', 'f1', 'f1', '/usr/home/f1', 4, 1, 1),
      ('f2@example.com', 'f2', 'f2', 'f2', '/usr/home/f2', 4, 1, 1),
      ('f3@example.com', 'f3', 'f3', 'f3', '/usr/home/f3', 4, 2, 1),
      ('g1@example.com', 'g1', 'g1', 'g1', '/usr/home/g1', 6, 1, 1);
    """

extension StdlibTests { @Suite("stdlib: codebase.lua", .serialized)
struct CodebaseTests {
    static let pins = """
        [settings.pins."tea@make-a-store.com"]
        group = 29
        handler = 1
        """

    @Test("the group with the fewest installs under its limit, for free or paid, on the handler; pinned groups kept for their customer")
    func choosesTheEmptiestGroup() throws {
        let world = try PlatformWorld(settings: CodebaseTests.pins)
        try world.internalDB.run(codebaseSeed)
        try world.box.addRunbook("choose", """
            local codebase = require("codebase")
            return runbook {
              summary = "choose codebases",
              run = function()
                local function try(label, options)
                  local ok, group, reason = pcall(codebase.choose, "internal", options)
                  if ok then print(("RESULT %s group=%d (%s)"):format(label, group.id, reason))
                  else print(("RESULT %s error: %s"):format(label, group)) end
                end
                try("paid-d1", { free = false, handler_id = 1, email = "new@example.com" })
                try("free-d1", { free = true, handler_id = 1, email = "new@example.com" })
                try("free-d2", { free = true, handler_id = 2 })
                try("paid-d2", { free = false, handler_id = 2 })
                try("tea", { free = false, handler_id = 1, email = "tea@make-a-store.com" })
                try("TEA", { free = false, email = "TEA@Make-A-Store.com" })
                try("tea-on-d2", { free = false, handler_id = 2, email = "tea@make-a-store.com" })
                try("unpinned", { free = false, handler_id = 1, pins = {} })
                local master, why = codebase.master_handler("internal", { email = "new@example.com" })
                print(("RESULT master new=%d (%s)"):format(master, why))
                master, why = codebase.master_handler("internal", { email = "tea@make-a-store.com" })
                print(("RESULT master tea=%d (%s)"):format(master, why))
              end,
            }
            """)
        let result = try world.box.runbook(["run", "choose"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(resultLines(result) == [
            "paid-d1 group=3 (the paid group with the fewest installs (1 of 50))",
            "free-d1 group=6 (the free group with the fewest installs (1 of 10))",
            "free-d2 group=5 (the free group with the fewest installs (0 of 50))",
            "paid-d2 error: no shared code group for paid installs on handler 2 has room (every one is at its limit): add a codebase first",
            "tea group=29 (pinned for tea@make-a-store.com in settings.pins)",
            "TEA group=29 (pinned for TEA@Make-A-Store.com in settings.pins)",
            "tea-on-d2 error: settings.pins for tea@make-a-store.com: group 29 is on handler 1, but the install's master is handler 2",
            "unpinned group=29 (the paid group with the fewest installs (0 of 1))",
            "master new=2 (the dispatcher with the fewest installs (1))",
            "master tea=1 (pinned in settings.pins)",
        ], "\(result)")
    }

    @Test("a quoted TOML key may hold dots: [settings.pins.\"tea@make-a-store.com\"]")
    func quotedKeysWithDots() throws {
        let table = try TOMLReader.parse(CodebaseTests.pins + "\n[settings.pins.'x.y@z.com']\ngroup = 3\n", file: "t.toml")
        #expect(table["settings"]?["pins"]?["tea@make-a-store.com"]?["group"]?.intValue == 29)
        #expect(table["settings"]?["pins"]?["tea@make-a-store.com"]?["handler"]?.intValue == 1)
        #expect(table["settings"]?["pins"]?["x.y@z.com"]?["group"]?.intValue == 3)
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse("[a..b]\n", file: "t.toml") }
    }
} }

// MARK: - ips.lua

let ipPoolSeed = """
    INSERT INTO servers (id, hostname, private_ip, kind) VALUES
      (1, 'dispatch1.make-a-store.com', '10.0.0.1', 'dispatcher'),
      (2, 'dispatch2.make-a-store.com', '10.0.0.2', 'dispatcher');
    INSERT INTO server_ips (id, server_id, ip, movable, install_id, install_site_id) VALUES
      (1, 1, '208.43.48.2', 1, 99, 990),
      (2, 1, '208.43.48.3', 1, NULL, NULL),
      (3, 1, '208.43.48.4', 1, NULL, NULL),
      (4, 2, '208.43.48.5', 1, NULL, NULL),
      (5, 1, '10.10.1.1', 0, NULL, NULL),
      (6, 2, '10.10.2.1', 0, NULL, NULL),
      (7, 2, '208.43.48.6', 1, NULL, NULL),
      (8, 1, '208.43.48.8', 1, NULL, NULL);
    """

extension StdlibTests { @Suite("stdlib: ips.lua and queue.lua", .serialized)
struct IpAllocationTests {
    static let allocateRunbook = """
        local ips = require("ips")
        return runbook {
          summary = "allocate IPs for an install's sites",
          params = {
            install = { type = "int", required = true },
            sites = { type = "int", list = true, required = true },
            paid = { type = "bool", default = false },
            master = { type = "int", default = 1 },
          },
          run = function(args)
            step("Allocate IPs", function()
              for _, site in ipairs(args.sites) do
                local got = ips.allocate("master", { install_id = args.install, install_site_id = site, paid = args.paid,
                                                     master_server_id = args.master })
                for _, ip in ipairs(got) do
                  print(("RESULT site %d: %s on server %d%s"):format(site, ip.ip, ip.server_id, ip.movable and " (movable)" or ""))
                end
              end
            end)
          end,
        }
        """

    @Test("paid installs get a movable IP on each dispatcher, free ones one IP on the master; the dry-run predicts it; undo frees them")
    func allocateAndUndo() throws {
        let world = try PlatformWorld()
        try world.master.run(ipPoolSeed)
        try world.box.addRunbook("allocate", IpAllocationTests.allocateRunbook)
        let plan = try expectUnchanged(world, "a dry-run changes nothing") {
            try world.box.runbook(["run", "allocate", "--install", "10", "--sites", "100,101", "--paid", "--dry-run"])
        }
        #expect(plan.exitCode == 0, "\(plan)")
        // Within one run no address is handed out twice, in the dry-run too.
        #expect(resultLines(plan) == [
            "site 100: 208.43.48.3 on server 1 (movable)", "site 100: 208.43.48.5 on server 2 (movable)",
            "site 101: 208.43.48.4 on server 1 (movable)", "site 101: 208.43.48.6 on server 2 (movable)",
        ], "\(plan)")

        try expectUndosRestore(world, "undo gives every address back to the pool") {
            let run = try world.box.planAndRun(["allocate", "--install", "10", "--sites", "100,101", "--paid"])
            #expect(run.exitCode == 0, "\(run)")
            #expect(try PlatformWorld.rows(world.master, "SELECT id, install_id, install_site_id FROM server_ips WHERE install_id = 10 ORDER BY id") == [
                "id=2 install_id=10 install_site_id=100", "id=3 install_id=10 install_site_id=101",
                "id=4 install_id=10 install_site_id=100", "id=7 install_id=10 install_site_id=101",
            ])

            let free = try world.box.runbook(["run", "allocate", "--install", "11", "--sites", "110", "--master", "2"])
            #expect(free.exitCode == 0, "\(free)")
            #expect(resultLines(free) == ["site 110: 10.10.2.1 on server 2"], "\(free)")

            // The pool of dispatch2 is empty now: a paid install is refused, and nothing is held.
            let refused = try expectUnchanged(world, "a refused allocation holds nothing") {
                try world.box.runbook(["run", "allocate", "--install", "12", "--sites", "120", "--paid"])
            }
            #expect(refused.exitCode == 1, "\(refused)")
            #expect(refused.stderr.contains("no free movable IP on server 2 (dispatch2.make-a-store.com): order more"), "\(refused)")

            // A free install takes a fixed IP on its master; when none is left, a movable one, with a
            // warning; when there is none at all, it is refused.
            let fixed = try world.box.runbook(["run", "allocate", "--install", "13", "--sites", "130", "--master", "1"])
            #expect(fixed.exitCode == 0, "\(fixed)")
            #expect(resultLines(fixed) == ["site 130: 10.10.1.1 on server 1"], "\(fixed)")
            let fallback = try world.box.runbook(["run", "allocate", "--install", "14", "--sites", "140", "--master", "1"])
            #expect(fallback.exitCode == 0, "\(fallback)")
            #expect(resultLines(fallback) == ["site 140: 208.43.48.8 on server 1 (movable)"], "\(fallback)")
            #expect(fallback.stdout.contains("warning: no free fixed IP on server 1 (dispatch1.make-a-store.com): using a movable one (208.43.48.8)"),
                    "\(fallback)")
            let none = try world.box.runbook(["run", "allocate", "--install", "15", "--sites", "150", "--master", "1"])
            #expect(none.exitCode == 1, "\(none)")
            #expect(none.stderr.contains("no free IP on server 1 (dispatch1.make-a-store.com): order more"), "\(none)")

            return [try #require(fallback.runID), try #require(fixed.runID), try #require(free.runID), try #require(run.runID)]
        }
    }

    @Test("queue records: added, started, failed with the error and the run id; planned by a dry-run; undone")
    func queueRecord() throws {
        let world = try PlatformWorld()
        try world.internalDB.run("""
            INSERT INTO queue (runbook, args, handler_id) VALUES ('install', '{"hostname":"seeded.example.com","plan":"paid"}', 1)
            """)
        try world.box.addRunbook("enqueue", """
            local queue = require("queue")
            return runbook {
              summary = "queue",
              run = function()
                step("Queue", function()
                  local id = queue.add("internal", { runbook = "add-codebase", handler_id = 2, args = { free = true, handler = 2 } })
                  print("RESULT id " .. tostring(id))
                end)
                step("Work", function()
                  local job = queue.next("internal", 1)
                  queue.start("internal", job.id)
                  queue.fail("internal", job.id, "0003_add_vars.sql:6: MySQL error 1146")
                  local row = queue.get("internal", job.id)
                  print(("RESULT %d %s %s %s %s"):format(row.id, row.status, tostring(row.error), row.args.hostname,
                                                         tostring(row.log == context.run_id)))
                end)
                local ok, err = pcall(queue.add, "internal", { runbook = "install", args = { db_pass = "x" } })
                print("RESULT secret refused: " .. tostring(not ok and err:find("looks like a secret") ~= nil))
              end,
            }
            """)
        let columns = "SELECT id, runbook, args, handler_id, status, error, log FROM queue ORDER BY id"
        let before = try PlatformWorld.rows(world.internalDB, columns)
        // The dry-run plans the same effects, except that the log column gets its own run id.
        let plan = try world.box.runbook(["run", "enqueue", "--dry-run", "--json"])
        #expect(plan.exitCode == 0, "\(plan)")
        #expect(plan.events("effect_planned").map { "\($0["kind"]?.stringValue ?? "?") \($0["step"]?.stringValue ?? "?")" }
                == ["db.insert Queue", "db.update Work", "db.update Work"], "\(plan)")
        #expect(try PlatformWorld.rows(world.internalDB, columns) == before, "a dry-run changes nothing")
        let run = try world.box.runbook(["run", "enqueue"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(resultLines(run) == ["id 2", "1 failed 0003_add_vars.sql:6: MySQL error 1146 seeded.example.com true",
                                     "secret refused: true"], "\(run)")
        let id = try #require(run.runID)
        #expect(try PlatformWorld.rows(world.internalDB, columns) == [
            #"id=1 runbook=install args={"hostname":"seeded.example.com","plan":"paid"} handler_id=1 status=failed error=0003_add_vars.sql:6: MySQL error 1146 log=\#(id)"#,
            #"id=2 runbook=add-codebase args={"free":true,"handler":2} handler_id=2 status=queued error=NULL log=NULL"#,
        ])
        let undo = try world.box.runbook(["undo", id])
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(try PlatformWorld.rows(world.internalDB, columns) == before)
    }
} }

