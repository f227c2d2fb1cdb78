// Loopback networking for tests: free ports, waiting for a listener, plain HTTP requests.
// Nothing here reaches past 127.0.0.0/8.

import RunbookSupport
import Testing
import RunbookEngine

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
package func unusedPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestSetupError("socket: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard bound == 0 else { throw TestSetupError("bind: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something listens on 127.0.0.1:port.
package func waitForPort(_ port: Int) -> Bool {
    for _ in 0..<100 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(descriptor)
        if connected == 0 { return true }
        usleep(50_000)
    }
    return false
}


/// GET / on 127.0.0.1:port with a plain socket (no curl needed); the body, or nil.
package func httpBody(_ port: Int) throws -> String? { httpGet("127.0.0.1", port, host: "localhost")?.body }

/// Waits until nginx serves `body` (a reload takes a moment to reach the workers; under
/// load a connection may also be refused for a moment).
package func waitForBody(_ port: Int, _ body: String) throws -> Bool {
    for _ in 0..<100 {
        if try httpBody(port) == body { return true }
        usleep(50_000)
    }
    return false
}

/// A raw HTTP/1.0 request to address:port with a Host header: (status, body), nil when the
/// connection fails.
package func httpGet(_ address: String, _ port: Int, host: String, path: String = "/") -> (status: Int, body: String)? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var target = sockaddr_in()
    target.sin_family = sa_family_t(AF_INET)
    target.sin_port = in_port_t(UInt16(port).bigEndian)
    target.sin_addr.s_addr = inet_addr(address)
    let connected = withUnsafePointer(to: &target) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response.append(contentsOf: buffer[0..<count])
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return nil }
    let statusLine = text[..<split.lowerBound].split(separator: "\r\n").first ?? ""
    let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    var body = String(text[split.upperBound...])
    while body.last == "\n" || body.last == "\r" || body.last == " " { body.removeLast() }
    return (status, body)
}

/// Waits until address:port answers `path` for `host` with `body` (a reload takes a moment
/// to reach the workers).
package func waitForPage(_ address: String, _ port: Int, host: String, path: String = "/", body: String) -> Bool {
    for _ in 0..<100 {
        if let page = httpGet(address, port, host: host, path: path), page.status == 200, page.body == body { return true }
        usleep(50_000)
    }
    return false
}
