// System commands for test set-up, network namespace pairs, and looking at processes.

import RunbookEngine
import RunbookSupport
import Testing

@discardableResult
package func system(_ argv: [String]) throws -> String {
    let result = try RunbookSupport.ProcessRunner.run(argv, timeout: 30)
    guard result.succeeded else { throw TestSetupError("\(argv.joined(separator: " ")) failed: \(result.diagnostic)") }
    return result.outputText
}

/// Two network namespaces joined by a veth pair: 10.213.N.1 in `a`, 10.213.N.2 in `b`.
/// All traffic stays inside them; both are deleted at the end.
package final class NamespacePair {
    package let a: String, b: String, interfaceA: String, interfaceB: String, subnet: String

    package init(_ tag: Int) throws {
        let id = Int(getpid()) % 10000
        a = "rbt\(id)-\(tag)a"
        b = "rbt\(id)-\(tag)b"
        interfaceA = "rv\(id)x\(tag)a"
        interfaceB = "rv\(id)x\(tag)b"
        subnet = "10.213.\(tag)"
        try system(["ip", "netns", "add", a])
        try system(["ip", "netns", "add", b])
        try system(["ip", "-n", a, "link", "add", interfaceA, "type", "veth", "peer", "name", interfaceB, "netns", b])
        try system(["ip", "-n", a, "addr", "add", "\(subnet).1/24", "dev", interfaceA])
        try system(["ip", "-n", b, "addr", "add", "\(subnet).2/24", "dev", interfaceB])
        for (ns, interface) in [(a, interfaceA), (b, interfaceB)] {
            try system(["ip", "-n", ns, "link", "set", interface, "up"])
            try system(["ip", "-n", ns, "link", "set", "lo", "up"])
        }
    }

    deinit {
        _ = try? RunbookSupport.ProcessRunner.run(["ip", "netns", "del", a])
        _ = try? RunbookSupport.ProcessRunner.run(["ip", "netns", "del", b])
    }

    package func addresses(_ ns: String, _ interface: String) throws -> [String] {
        PlatformAdapter(kind: .linux).parseAddresses(try system(["ip", "-n", ns, "-o", "addr", "show", "dev", interface]))
    }

    /// Ping from inside namespace `from` (never from the root namespace).
    package func pings(from ns: String, _ address: String) -> Bool {
        (try? RunbookSupport.ProcessRunner.run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", address], timeout: 5))?.succeeded ?? false
    }
}

extension Sandbox {
    /// `runbook` run inside a network namespace.
    package func runbook(inNamespace ns: String, _ arguments: [String]) throws -> ChildResult {
        let child = try ChildProcess(executable: ProcessRunner.resolve("ip") ?? "/sbin/ip",
                                     arguments: ["netns", "exec", ns, try RunbookBinary.require()] + engineOptions + scripted(arguments),
                                     environment: environment([:]), stdoutPath: base + "/out/ns.stdout", stderrPath: base + "/out/ns.stderr")
        return child.wait(timeout: 60)
    }
}

/// Every live process whose command line mentions `text` (from /proc).
package func processesMentioning(_ text: String) -> [String] {
    ((try? Posix.list("/proc")) ?? []).filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
        guard let bytes = try? Posix.readFile("/proc/\(pid)/cmdline"), !bytes.isEmpty else { return nil }
        let line = String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return line.contains(text) ? "\(pid): \(line)" : nil
    }
}

/// The process exists and is not a zombie (an exited child its parent has not reaped yet).
package func isAlive(_ pid: String) -> Bool {
    guard let stat = Files.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != nil && state != "Z" && state != "X"
}
