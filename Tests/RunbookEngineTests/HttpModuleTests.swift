// http.get for real against servers the test starts on 127.0.0.1 (never anything else): an
// nginx of its own that routes by the Host header and answers 200, 404, 503 or closes the
// connection (444); a port nothing listens on; and a socket that accepts nothing. The answer
// or the reason a site is dead reaches the runbook, a dry-run probes too, a bad URL is the
// caller's error in one line.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

/// A 127.0.0.1 socket bound to a free port and listening, which never accepts: a connection
/// to it completes (the kernel's backlog) and then hears nothing. `close()` frees the port.
final class SilentListener {
    let fd: Int32
    let port: Int

    /// On `port`, or (0) on one the kernel picks.
    init(port wanted: Int = 0) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSetupError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(wanted).bigEndian
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(descriptor, pointer, size) == 0 && listen(descriptor, 4) == 0 && getsockname(descriptor, pointer, &size) == 0
            }
        }
        guard bound else { close(descriptor); throw TestSetupError("bind/listen failed") }
        fd = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    /// A port on 127.0.0.1 that nothing listens on, for a server the test starts: below the
    /// kernel's ephemeral range, so no outgoing connection and no bind to port 0 (of this
    /// test or a concurrent one) can take it before the server binds it — a port 0 probe's
    /// port could be (an nginx once failed with "Address already in use" that way).
    static func unusedPort() throws -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeral = range.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 32768
        let low = 10000, high = max(ephemeral, low + 1000)
        for _ in 0..<100 {
            let candidate = Int.random(in: low..<high)
            if let probe = try? SilentListener(port: candidate) { return probe.port }
        }
        throw TestSetupError("no free port on 127.0.0.1 between \(low) and \(high)")
    }
}

@Suite(.serialized) struct HttpModuleTests {
    @Test func aGetReportsTheStatusOrWhyNothingAnsweredAndABadURLIsRefused() throws {
        let box = try Sandbox()
        let port = try SilentListener.unusedPort()
        let web = box.base + "/nginx"
        try Files.mkdir(web)
        try Files.write(web + "/nginx.conf", Files.nginxConfig(web, http: """
              server { listen 127.0.0.1:\(port) default_server; location / { return 404 "no such store\\n"; } }
              server {
                listen 127.0.0.1:\(port); server_name shop.example.com;
                location / { default_type text/plain; return 200 "the shop\\n"; }
                location /broken { return 503; }
                location /silent { return 444; }
              }
            """))
        try system(["nginx", "-c", web + "/nginx.conf"])
        defer { _ = try? ProcessRunner.run(["nginx", "-c", web + "/nginx.conf", "-s", "stop"]) }
        #expect(waitForPage("127.0.0.1", port, host: "shop.example.com", body: "the shop"))
        let silent = try SilentListener()
        let refusedPort = try { let probe = try SilentListener(); return probe.port }()   // closed again: nothing listens

        try box.addRunbook("probe", """
            return runbook {
              summary = "ask a URL",
              params = { url = { type = "string", required = true }, host = { type = "string" }, timeout = { type = "number", default = 2 } },
              run = function(args)
                step("Ask", function()
                  local response, why = http.get(args.url, { host = args.host, timeout = args.timeout })
                  if response then
                    print(("status=%d reason=%s type=%s body=%s"):format(response.status, response.reason,
                      response.headers["content-type"] or "-", (response.body:gsub("\\n", ""))))
                  else
                    print("dead: " .. why)
                  end
                end)
              end,
            }
            """)
        func ask(_ arguments: [String]) throws -> ChildResult { try box.runbook(["run", "probe"] + arguments) }
        let base = "http://127.0.0.1:\(port)"

        // The Host header picks the site; its status, reason, headers and body come back.
        let shop = try ask(["--url", base + "/", "--host", "shop.example.com"])
        #expect(shop.exitCode == 0 && shop.stdout.contains("status=200 reason=OK type=text/plain body=the shop"), "\(shop)")
        let other = try ask(["--url", base + "/"])
        #expect(other.stdout.contains("status=404 reason=Not Found"), "\(other)")
        let broken = try ask(["--url", base + "/broken", "--host", "shop.example.com"])
        #expect(broken.stdout.contains("status=503 reason=Service Temporarily Unavailable"), "\(broken)")
        // A read: a dry-run asks too.
        let planned = try ask(["--url", base + "/", "--host", "shop.example.com", "--dry-run"])
        #expect(planned.exitCode == 0 && planned.stdout.contains("status=200"), "\(planned)")

        // Nothing answering is a result, not an error: why, within the timeout.
        let closed = try ask(["--url", base + "/silent", "--host", "shop.example.com"])
        #expect(closed.exitCode == 0 && closed.stdout.contains("dead: the connection was closed without an answer"), "\(closed)")
        let refused = try ask(["--url", "http://127.0.0.1:\(refusedPort)/"])
        #expect(refused.stdout.contains("dead: 127.0.0.1:\(refusedPort): Connection refused"), "\(refused)")
        let started = HTTPProbe.monotonicMilliseconds()
        let quiet = try ask(["--url", "http://127.0.0.1:\(silent.port)/", "--timeout", "0.5"])
        let took = HTTPProbe.monotonicMilliseconds() - started
        #expect(quiet.stdout.contains("dead: no answer within 0.5 s"), "\(quiet)")
        #expect(took < 10_000, "the timeout bounds the wait (\(took) ms)")

        // The caller's mistakes raise, in one line that names the function.
        for (url, problem) in [("https://127.0.0.1/", "https is not supported"), ("ftp://x/", "not an http:// URL"),
                               ("http://user:secret@127.0.0.1/", "a user or password in the URL is not supported"),
                               ("http://127.0.0.1:99999/", "bad port in http://127.0.0.1:99999/")] {
            let bad = try ask(["--url", url])
            #expect(bad.exitCode != 0 && bad.stderr.contains("http.get") && bad.stderr.contains(problem), "\(url)\n\(bad)")
            #expect(!bad.stderr.contains("secret") || !url.contains("secret"), "the password is not echoed\n\(bad)")
        }
    }

    @Test func optionsOutOfRangeAreRefusedNotATrap() throws {
        let box = try Sandbox(runbook: "sizes", """
            return runbook { summary = "odd options", params = { case = { type = "string", required = true } },
              run = function(args)
                step("Ask", function()
                  local options = { huge = { max_body = math.huge }, nan = { max_body = 0/0 },
                                    big = { max_body = math.maxinteger }, negative = { timeout = -1 } }
                  http.get("http://127.0.0.1:1/", options[args.case])
                end)
              end }
            """)
        let maxBody = "max_body must be an integer between 0 and 16777216, got "
        for (option, problem) in [("huge", maxBody + "inf"), ("nan", maxBody + "nan"), ("big", maxBody + "9223372036854775807"),
                                  ("negative", "timeout must be a number between 0.001 and 300 seconds, got -1")] {
            let run = try box.runbook(["run", "sizes", "--case", option])
            #expect(run.exitCode == 1 && run.stderr.contains(problem), "\(option)\n\(run)")
        }
    }

    @Test func urlsAreParsedIntoHostPortAndPath() {
        func parsed(_ text: String) -> HTTPProbeURL? { try? HTTPProbeURL.parse(text).get() }
        #expect(parsed("http://127.0.0.10:8080/shop?x=1") == HTTPProbeURL(host: "127.0.0.10", port: 8080, path: "/shop?x=1"))
        #expect(parsed("HTTP://shop.example.com") == HTTPProbeURL(host: "shop.example.com", port: 80, path: "/"))
        #expect(parsed("http://[::1]:81/") == HTTPProbeURL(host: "::1", port: 81, path: "/"))
        #expect(parsed("http://:80/") == nil)
        #expect(parsed("http://host/a b") == nil)
        #expect(HTTPProbe.parseHead(Array("HTTP/1.1 502 Bad Gateway\r\nServer: nginx\r\nX-A:  b ".utf8))?.headers.first?.value == "nginx")
        #expect(HTTPProbe.parseHead(Array("SSH-2.0-OpenSSH\r\n".utf8)) == nil)
    }
}
