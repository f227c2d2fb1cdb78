// The platform adapter: how each system action is spelled on Linux and on FreeBSD, as an
// argv (never a shell string). Production is FreeBSD; cloud handlers and development
// machines are Debian. Everything OS-specific the primitives do goes through here.

public enum PlatformKind: String, Sendable, CaseIterable {
    case linux
    case freebsd

    /// The system this process runs on.
    public static var detected: PlatformKind {
        #if os(FreeBSD)
        return .freebsd
        #else
        return .linux
        #endif
    }
}

public struct PlatformAdapter: Sendable {
    public let kind: PlatformKind

    public init(kind: PlatformKind = .detected) { self.kind = kind }

    // MARK: Mounts

    /// Bind-mounts `source` on `target` (nullfs on FreeBSD).
    public func bindMount(source: String, target: String) -> [String] {
        switch kind {
        case .linux: return ["mount", "--bind", source, target]
        case .freebsd: return ["mount_nullfs", source, target]
        }
    }

    /// Bind-mounts the directories open as `source` and `target` in this process: on Linux
    /// mount(8) is handed /proc/PID/fd/N (not canonicalized), so the kernel mounts exactly
    /// the directories the walk opened, whatever their paths name by then (a customer may
    /// swap a folder of their FTP tree for a link to /etc between the check and the mount).
    /// nil where there is no such name for an open directory (FreeBSD without procfs): the
    /// paths are used, right after the walk checked them.
    public func bindMount(sourceDescriptor: Int32, targetDescriptor: Int32) -> [String]? {
        switch kind {
        case .linux:
            let process = "/proc/\(getpid())/fd/"
            return ["mount", "--no-canonicalize", "--bind", process + String(sourceDescriptor), process + String(targetDescriptor)]
        case .freebsd: return nil
        }
    }

    public func unmount(target: String) -> [String] { ["umount", target] }

    // MARK: Addresses

    package static func isIPv6(_ address: String) -> Bool { address.contains(":") }

    /// Adds a single address (a /32 or /128 alias) to an interface.
    public func addAddress(interface: String, address: String) -> [String] {
        let prefix = PlatformAdapter.isIPv6(address) ? "/128" : "/32"
        switch kind {
        case .linux: return ["ip", "addr", "add", address + prefix, "dev", interface]
        case .freebsd:
            return ["ifconfig", interface, PlatformAdapter.isIPv6(address) ? "inet6" : "inet", address + prefix, "alias"]
        }
    }

    /// The announcement of an address just added, so the segment's neighbours (the router,
    /// the other dispatcher) send to this host at once instead of when their ARP entry for
    /// the old one expires: a gratuitous ARP on Linux. FreeBSD's ifconfig announces an alias
    /// itself, and IPv6 neighbours probe again: nil there.
    public func announceAddress(interface: String, address: String) -> [String]? {
        guard kind == .linux, !PlatformAdapter.isIPv6(address) else { return nil }
        return ["arping", "-U", "-c", "1", "-I", interface, address]
    }

    public func removeAddress(interface: String, address: String) -> [String] {
        let prefix = PlatformAdapter.isIPv6(address) ? "/128" : "/32"
        switch kind {
        case .linux: return ["ip", "addr", "del", address + prefix, "dev", interface]
        case .freebsd: return ["ifconfig", interface, PlatformAdapter.isIPv6(address) ? "inet6" : "inet", address, "-alias"]
        }
    }

    public func listAddresses(interface: String) -> [String] {
        switch kind {
        case .linux: return ["ip", "-o", "addr", "show", "dev", interface]
        case .freebsd: return ["ifconfig", interface]
        }
    }

    /// Addresses in `listAddresses` output, without prefix lengths.
    public func parseAddresses(_ output: String) -> [String] {
        var addresses: [String] = []
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            for (index, word) in words.enumerated() where (word == "inet" || word == "inet6") && index + 1 < words.count {
                var address = words[index + 1]
                if let slash = address.firstIndex(of: "/") { address = String(address[..<slash]) }
                if let percent = address.firstIndex(of: "%") { address = String(address[..<percent]) }
                addresses.append(address)
            }
        }
        return addresses
    }

    /// One echo request with a one-second wait: a read, allowed in a dry-run.
    public func ping(address: String) -> [String] {
        let v6 = PlatformAdapter.isIPv6(address)
        switch kind {
        case .linux: return ["ping", v6 ? "-6" : "-4", "-c", "1", "-W", "1", "-n", "-q", address]
        case .freebsd: return v6 ? ["ping6", "-c", "1", "-X", "1", "-n", "-q", address] : ["ping", "-c", "1", "-t", "1", "-n", "-q", address]
        }
    }

    // MARK: Services

    /// Reloads a service. Linux hosts here run without systemd: nginx is signalled
    /// directly; other services go through `service`.
    public func reloadService(_ name: String, configPath: String? = nil) -> [String] {
        if name == "nginx", kind == .linux {
            return ["nginx"] + (configPath.map { ["-c", $0] } ?? []) + ["-s", "reload"]
        }
        return ["service", name, "reload"]
    }

    public func restartService(_ name: String) -> [String] { ["service", name, "restart"] }
    public func serviceStatus(_ name: String) -> [String] { ["service", name, "status"] }

    /// The configuration test that gates a reload, when the service has one.
    public func configTest(_ name: String, configPath: String? = nil) -> [String]? {
        switch name {
        case "nginx": return ["nginx", "-t", "-q"] + (configPath.map { ["-c", $0] } ?? [])
        case "php-fpm", "php-fpm8.2", "php-fpm7.4":
            return [name, "-t"] + (configPath.map { ["-y", $0] } ?? [])
        default: return nil
        }
    }
}
