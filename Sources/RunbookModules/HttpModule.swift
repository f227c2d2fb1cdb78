// The `http` module: whether a site answers — one plain-HTTP GET with a timeout and the
// Host header of the site (a read: it runs in a dry-run too and is not journaled).

import LuaBridge
import RunbookRun
import RunbookSupport

package enum HttpModule: LuaModule {
    package static var sections: [APIModule] { [APIModule("http", title: "http: does a site answer", doc: "")] }

    package static var primitives: [LuaPrimitive] { [
        // http.get(url [, {host = NAME, timeout = 10, max_body = 65536}])
        //   -> {status =, reason =, headers = {name = value}, body =, ms =}, or nil and why
        // A site that does not answer (refused, timed out, not HTTP) is a result, `nil, why`,
        // not an error: checking it is the point. A bad URL or option is the caller's
        // mistake and raises. The body is cut at max_body bytes.
        LuaPrimitive("http.get", doc: getDoc, get),
    ] }

    // MARK: http.get

    static var getDoc: APIFunction {
        APIFunction(.read, "url: string  http://ADDRESS[:PORT][/PATH]",
            "options?: http.GetOptions",
            returns: ["http.Response|nil  the answer, or `nil` when the site does not answer", "string?  why it did not answer"],
            doc: """
            Whether a site answers: one plain-HTTP `GET` (an HTTP/1.0 request, so the answer is never
            chunked) of `url` (an IPv6 address in brackets; no `https`, no user or password), with
            `Host: host` when given (the site's name, while the URL names the address it is served on),
            everything within `timeout` seconds. No redirect is followed. A read: it runs in a dry-run
            too and is not journaled.

            A site that does not answer is not an error — checking it is the point: the call returns
            `nil` and why (`192.0.2.10:80: Connection refused`, `no answer within 10 s`, `the answer is
            not HTTP`). A bad URL or option raises (`bad argument #1 to 'http.get' (https is not
            supported ...)`).
            """,
            example: """
            local response, why = http.get("http://192.0.2.10/", { host = "shop.example.com", timeout = 5 })
            if not response or response.status >= 500 then log.warn("shop.example.com is dead: " .. (why or response.status)) end
            """,
            classes: [APIClass("http.GetOptions", "host?: string  the Host header (the site's name)",
                               "timeout?: number  seconds for the whole request (default 10, at most 300)",
                               "max_body?: integer  bytes of the body kept (default 65536, at most 16 MiB)"),
                      APIClass("http.Response", "status: integer  200, 502, ...", "reason: string",
                               "headers: table<string, string>  lower-case names", "body: string  its first max_body bytes",
                               "ms: integer  how long it took")])
    }

    static func get(_ call: LuaCall, _: RunSession) throws -> Int32 {
        let url: HTTPProbeURL
        switch HTTPProbeURL.parse(try call.string(1)) {
        case .success(let parsed): url = parsed
        case .failure(let problem): throw call.argumentError(1, problem.description)
        }
        let options = try call.optionalTable(2) ?? LuaTable()
        let host = options["host"].stringValue
        if let host, host.isEmpty || !host.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) {
            throw call.argumentError(2, "host '\(host)' is not a hostname (no spaces or control characters)")
        }
        let timeout = try call.checkedNumber(options["timeout"], "timeout", position: 2,
                                             in: LuaNumberRange(0.001, 300, unit: "seconds")) ?? 10
        let maxBody = Int(try call.checkedInteger(options["max_body"], "max_body", position: 2, in: 0...(16 << 20)) ?? 65536)

        switch HTTPProbe.get(url, hostHeader: host, timeout: timeout, maxBody: maxBody) {
        case .success(let response):
            var headers: [String: LuaValue] = [:]
            for header in response.headers { headers[header.name] = .string(Array(header.value.utf8)) }
            try call.push(.table(LuaTable(["status": .integer(Int64(response.status)), "reason": .string(Array(response.reason.utf8)),
                                           "headers": .table(LuaTable(headers)), "body": .string(response.body),
                                           "ms": .integer(Int64(response.milliseconds))])))
            return 1
        case .failure(let problem):
            call.pushNil()
            call.push(problem.description)
            return 2
        }
    }
}
