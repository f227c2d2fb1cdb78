// One plain-HTTP GET over a TCP socket, to see whether a site answers (the health sweep):
// connect, send an HTTP/1.0 request with the Host header asked for, read the status line,
// headers and the start of the body, all within one deadline. No redirects, no TLS, no
// keep-alive: a probe, not a browser. POSIX sockets only (no Foundation, like the rest of
// the engine).

/// What the probe asks for: `http://HOST[:PORT][/PATH]`.
package struct HTTPProbeURL: Equatable {
    package var host: String        // a name, an IPv4 address, or an IPv6 address (without brackets)
    package var port: Int
    package var path: String        // starts with "/"

    /// Parses an http URL, or says in one line what is wrong with it.
    package static func parse(_ text: String) -> Result<HTTPProbeURL, HTTPProbeError> {
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") else {
            return .failure(HTTPProbeError(lower.hasPrefix("https://") ? "https is not supported (a plain-HTTP probe): \(text)"
                                                                       : "not an http:// URL: \(text)"))
        }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.contains("@") else { return .failure(HTTPProbeError("a user or password in the URL is not supported: give the address only")) }
        guard path.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return .failure(HTTPProbeError("the URL's path has spaces or control characters: \(text)")) }
        var host = authority, portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(HTTPProbeError("unclosed [ in \(text)")) }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return .failure(HTTPProbeError("bad address in \(text)")) }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "/") }) else {
            return .failure(HTTPProbeError("no host in \(text)"))
        }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return .failure(HTTPProbeError("bad port in \(text)")) }
            port = value
        }
        return .success(HTTPProbeURL(host: host, port: port, path: path))
    }

    package init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }
}

package struct HTTPProbeError: Error, CustomStringConvertible {
    package var description: String

    package init(_ description: String) { self.description = description }
}

package struct HTTPProbeResponse {
    package var status: Int
    package var reason: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]           // at most maxBody bytes
    package var milliseconds: Int
}

package enum HTTPProbe {
    /// GET `url` with `Host: hostHeader` (default the URL's host), everything within
    /// `timeout` seconds. A site that does not answer is a `.failure` saying why (refused,
    /// timed out, not HTTP); only a bad `hostHeader` is the caller's mistake.
    package static func get(_ url: HTTPProbeURL, hostHeader: String?, timeout: Double, maxBody: Int = 65536) -> Result<HTTPProbeResponse, HTTPProbeError> {
        let started = monotonicMilliseconds()
        let deadline = started + Int(timeout * 1000)
        var hostValue = hostHeader ?? (url.host.contains(":") ? "[\(url.host)]" : url.host)
        if hostHeader == nil && url.port != 80 { hostValue += ":\(url.port)" }
        // HTTP/1.0: the answer is never chunked and the server closes the connection after it; the
        // Host header still picks the site (name-based servers read it in 1.0 requests too).
        let request = "GET \(url.path) HTTP/1.0\r\nHost: \(hostValue)\r\nUser-Agent: runbook-health-probe\r\nAccept: */*\r\n\r\n"

        let connected = openConnection(url, deadline: deadline)
        guard case .success(let fd) = connected else {
            if case .failure(let error) = connected { return .failure(error) }
            return .failure(HTTPProbeError("no connection"))
        }
        defer { close(fd) }
        if let problem = sendAll(fd, Array(request.utf8), deadline: deadline) { return .failure(problem) }

        // Read until the server closes, the headers and maxBody bytes of body are in, or the deadline.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int? = nil
        while true {
            if let end = headerEnd, received.count - (end + 4) >= maxBody { break }
            let wait = deadline - monotonicMilliseconds()
            if wait <= 0 {
                if headerEnd != nil { break }
                return .failure(HTTPProbeError("no answer within \(format(timeout)) s"))
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = Blocking.wait { poll(&poller, 1, Int32(min(wait, Int(Int32.max)))) }
            if ready < 0 { if errno == EINTR { continue }; return .failure(HTTPProbeError("poll: \(String(cString: strerror(errno)))")) }
            if ready == 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                if headerEnd != nil { break }
                return .failure(HTTPProbeError("connection lost: \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            let before = received.count
            received.append(contentsOf: buffer[0..<count])
            if headerEnd == nil {
                // Only the new bytes (and the three before them) can hold the end of the head.
                headerEnd = findHeaderEnd(received, from: max(0, before - 3))
                // A head that never ends is no HTTP answer: stop reading it.
                if headerEnd == nil && received.count > 65536 { return .failure(HTTPProbeError("the answer is not HTTP")) }
            }
        }
        guard let end = headerEnd ?? (received.isEmpty ? nil : findHeaderEnd(received)) else {
            return .failure(HTTPProbeError(received.isEmpty ? "the connection was closed without an answer" : "the answer is not HTTP"))
        }
        guard var response = parseHead(Array(received[0..<end])) else { return .failure(HTTPProbeError("the answer is not HTTP")) }
        response.body = Array(received[(end + 4)...].prefix(maxBody))
        response.milliseconds = monotonicMilliseconds() - started
        return .success(response)
    }

    // MARK: Socket steps

    private static func openConnection(_ url: HTTPProbeURL, deadline: Int) -> Result<Int32, HTTPProbeError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc) || canImport(Musl)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let found = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard found == 0, let first = list else {
            return .failure(HTTPProbeError("cannot resolve \(url.host): \(String(cString: gai_strerror(found)))"))
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return .failure(HTTPProbeError("socket: \(String(cString: strerror(errno)))")) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        #if !canImport(Glibc) && !canImport(Musl)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        let target = "\(url.host.contains(":") ? "[\(url.host)]" : url.host):\(url.port)"
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS || errno == EINTR else {
                let problem = String(cString: strerror(errno)); close(fd)
                return .failure(HTTPProbeError("\(target): \(problem)"))
            }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var ready: Int32 = 0
            repeat {
                let wait = deadline - monotonicMilliseconds()
                if wait <= 0 { close(fd); return .failure(HTTPProbeError("\(target): no connection within the timeout")) }
                ready = Blocking.wait { poll(&poller, 1, Int32(min(wait, Int(Int32.max)))) }
            } while ready == 0 || (ready < 0 && errno == EINTR)
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
            if ready < 0 || code != 0 {
                let problem = String(cString: strerror(ready < 0 ? errno : code)); close(fd)
                return .failure(HTTPProbeError("\(target): \(problem)"))
            }
        }
        return .success(fd)
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Int) -> HTTPProbeError? {
        var offset = 0
        #if canImport(Glibc) || canImport(Musl)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, flags) }
            if sent > 0 { offset += sent; continue }
            guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                return HTTPProbeError("sending the request: \(String(cString: strerror(errno)))")
            }
            let wait = deadline - monotonicMilliseconds()
            if wait <= 0 { return HTTPProbeError("sending the request timed out") }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&poller, 1, Int32(min(wait, Int(Int32.max))))
        }
        return nil
    }

    // MARK: Parsing

    private static func findHeaderEnd(_ bytes: [UInt8], from start: Int = 0) -> Int? {
        guard bytes.count >= 4, start <= bytes.count - 4 else { return nil }
        for index in start...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// "HTTP/1.1 200 OK" and the header lines.
    package static func parseHead(_ head: [UInt8]) -> HTTPProbeResponse? {
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/") else { return nil }
        let words = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard words.count >= 2, words[1].count == 3, let status = Int(words[1]) else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).lowercased(), line[line.index(after: colon)...].trimmingSpaces()))
        }
        return HTTPProbeResponse(status: status, reason: words.count > 2 ? String(words[2]) : "", headers: headers, body: [], milliseconds: 0)
    }

    package static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
