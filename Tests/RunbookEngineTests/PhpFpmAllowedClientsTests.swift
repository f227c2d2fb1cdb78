// listen.allowed_clients read by stdlib/php_fpm.lua as php-fpm itself reads it: a real
// php-fpm is started with one pool per value (each on its own loopback port) and the entries
// its workers reject ("Wrong IP address ' 10.0.0.4' in listen.allowed_clients") must be the
// entries php_fpm.allowed_clients calls invalid, pool by pool. php_fpm.allow refuses a line
// holding one, naming the file and line, and what it writes passes `php-fpm -t`.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("php-fpm's listen.allowed_clients, as php-fpm reads it")
struct PhpFpmAllowedClientsTests {
    /// Values as operators write them; the comments say what php-fpm makes of each.
    static let values = [
        "10.0.0.1, 10.0.0.4",                 // ' 10.0.0.4': the blank stays in the entry
        "10.0.0.1,10.0.0.0/8",                // a network is not an address
        "\"10.0.0.1,10.0.0.2\"",              // quoted: taken as written
        "10.0.0.1,10.0.0.2 ; the dispatchers", // an INI comment, blanks before it dropped
        "10.0.0.1,,10.0.0.2",                 // an empty entry
        "10.0.0.1,localhost",                 // a name
        "10.0.0.1,\"10.0.0.2\"",              // INI joins the quoted part, without quotes
        "::1,10.0.0.1",                       // IPv6 too
    ]

    static func conf(errorLog: String, port: Int) -> String {
        var text = "[global]\nerror_log = \(errorLog)\ndaemonize = no\n"
        for (index, value) in values.enumerated() {
            text += """
                [p\(index)]
                listen = 127.0.0.1:\(port + index)
                pm = static
                pm.max_children = 1
                catch_workers_output = yes
                listen.allowed_clients = \(value)

                """
        }
        return text
    }

    /// php-fpm's verdict: pool -> the entries its worker rejected, in order.
    static func phpFpmRejects(_ box: Sandbox, conf: String, errorLog: String) throws -> [String: [String]] {
        let fpm = try ChildProcess(executable: try #require(ProcessRunner.resolve("php-fpm8.2")), arguments: ["-R", "-y", conf],
                                   environment: [:], stdoutPath: box.base + "/fpm.out", stderrPath: box.base + "/fpm.err")
        defer { kill(fpm.pid, SIGTERM); fpm.wait(timeout: 10) }
        // Each pool's worker reports its list as it starts: wait for one line per pool that
        // rejects something (p0, p1, p4 and p5: a blank, a network, an empty entry, a name).
        let expectedPools = 4
        let deadline = Clock.monotonic() + 10
        var rejected: [String: [String]] = [:]
        while Clock.monotonic() < deadline {
            rejected = [:]
            for line in (Files.read(errorLog) ?? "").split(separator: "\n") {
                guard let pool = line.firstMatch(of: /\[pool (p\d+)\]/)?.1,
                      let entry = line.firstMatch(of: /Wrong IP address '([^']*)' in listen\.allowed_clients/)?.1 else { continue }
                rejected[String(pool), default: []].append(String(entry))
            }
            if rejected.count >= expectedPools { usleep(200_000); break }
            usleep(50_000)
        }
        return rejected
    }

    @Test("the entries php_fpm.allowed_clients calls invalid are the ones a real php-fpm rejects, pool by pool")
    func sameVerdictAsPhpFpm() throws {
        let box = try Sandbox()
        let conf = box.base + "/php-fpm.conf", errorLog = box.base + "/php-fpm.log"
        let text = Self.conf(errorLog: errorLog, port: 20_000 + Int(getpid() % 20_000))
        try Files.write(conf, text)
        let theirs = try Self.phpFpmRejects(box, conf: conf, errorLog: errorLog)
        #expect(theirs.count == 4, "php-fpm rejected entries in 4 pools: \(theirs)\n\(Files.read(errorLog) ?? "")")

        let lua = try StdlibLua()
        let ours = try lua.string("""
            local out = {}
            for _, e in ipairs(require("php_fpm").allowed_clients(\(JSON.string(text).serialized))) do
              if #e.invalid > 0 then out[#out + 1] = e.pool .. "=" .. table.concat(e.invalid, "|") end
            end
            return table.concat(out, "\\n")
            """)
        let expected = theirs.keys.sorted().map { "\($0)=" + theirs[$0]!.joined(separator: "|") }.joined(separator: "\n")
        #expect(ours == expected, "php_fpm.lua:\n\(ours)\nphp-fpm:\n\(expected)")
        #expect(theirs["p0"] == [" 10.0.0.4"], "the guide's case: the blank after the comma")
    }

    @Test("allow refuses a line php-fpm would drop an entry of, naming the file and line; what it writes passes php-fpm -t")
    func allowRefusesAndWritesWhatPhpFpmTakes() throws {
        let lua = try StdlibLua()
        let refusal = lua.error("""
            return require("php_fpm").allow("[global]\\n[www]\\nlisten.allowed_clients = 10.0.0.1, 10.0.0.4\\n", { "10.0.0.3" },
              "d2:/usr/local/etc/php-fpm.conf")
            """)
        #expect(refusal == "d2:/usr/local/etc/php-fpm.conf line 3: listen.allowed_clients has ' 10.0.0.4', which php-fpm rejects "
                + "(\"Wrong IP address ' 10.0.0.4'\") and leaves out; fix that line first (single addresses, separated by commas without blanks)",
                "\(refusal ?? "no error")")

        let box = try Sandbox()
        let port = 20_000 + Int(getpid() % 20_000) + 50
        let before = """
            [global]
            error_log = \(box.base)/t.log
            [www]
            listen = 127.0.0.1:\(port)
            pm = static
            pm.max_children = 1
            listen.allowed_clients = "10.0.0.1,10.0.0.2"
            [b]
            listen = 127.0.0.1:\(port + 1)
            pm = static
            pm.max_children = 1
            listen.allowed_clients = 10.0.0.1 ; the dispatchers

            """
        let written = try lua.string("""
            local text, added = require("php_fpm").allow(\(JSON.string(before).serialized), { "10.0.0.3" }, "php-fpm.conf")
            return text
            """)
        #expect(written.contains("listen.allowed_clients = \"10.0.0.1,10.0.0.2,10.0.0.3\"\n"), "\(written)")
        #expect(written.contains("listen.allowed_clients = 10.0.0.1,10.0.0.3 ; the dispatchers\n"), "\(written)")
        try Files.write(box.base + "/written.conf", written)
        let test = try ProcessRunner.run([try #require(ProcessRunner.resolve("php-fpm8.2")), "-R", "-t", "-y", box.base + "/written.conf"], timeout: 30)
        #expect(test.succeeded, "php-fpm -t: \(test.errorText)")
        let reread = try lua.string("""
            local out = {}
            for _, e in ipairs(require("php_fpm").allowed_clients(\(JSON.string(written).serialized))) do
              out[#out + 1] = e.pool .. "=" .. table.concat(e.clients, "|") .. "/" .. #e.invalid
            end
            return table.concat(out, " ")
            """)
        #expect(reread == "www=10.0.0.1|10.0.0.2|10.0.0.3/0 b=10.0.0.1|10.0.0.3/0")
    }
}
