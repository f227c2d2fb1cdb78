// Thin, throwing wrappers over the POSIX calls the engine needs (no Foundation: start-up
// time matters, and we need fsync, lstat and friends that Foundation hides).

#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif

/// A failed system call, naming the operation and the path.
public struct SystemError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// What lstat says about a path.
public struct FileInfo: Equatable, Sendable {
    public enum Kind: String, Sendable { case file, directory, symlink, other }
    public var kind: Kind
    public var mode: UInt32   // permission bits only
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var device: UInt64
}

public enum Posix {
    public static func lstatInfo(_ path: String) -> FileInfo? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let kind: FileInfo.Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        return FileInfo(kind: kind, mode: UInt32(info.st_mode & 0o7777), uid: UInt32(info.st_uid), gid: UInt32(info.st_gid),
                        size: Int64(info.st_size), device: UInt64(info.st_dev))
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("read", path) }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path)
            }
            if count == 0 { return result }
            result.append(contentsOf: buffer[0..<count])
        }
    }

    public static func readText(_ path: String) throws -> String { String(decoding: try readFile(path), as: UTF8.self) }

    /// Writes a whole file (created with `mode` if new), optionally fsynced.
    public static func writeFile(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644, sync: Bool = false,
                                 flags: Int32 = O_TRUNC) throws
    {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode_t(mode))
        guard descriptor >= 0 else { throw SystemError("write", path) }
        defer { close(descriptor) }
        try writeAll(descriptor, bytes, path: path)
        if sync { fsync(descriptor) }
    }

    public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path)
            }
            offset += count
        }
    }

    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink(path, &buffer, 4096)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Names in a directory, sorted, without "." and "..".
    public static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw SystemError("list", path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates every missing directory of `path`.
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o755) throws {
        if let info = lstatInfo(path) {
            if info.kind == .directory { return }
            throw SystemError("mkdir", path, code: EEXIST)
        }
        let parent = PathName.parent(path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode_t(mode)) != 0 && errno != EEXIST { throw SystemError("mkdir", path) }
    }

    /// Removes a file, symlink or whole directory tree (no-op when absent).
    public static func removeTree(_ path: String) throws {
        guard let info = lstatInfo(path) else { return }
        if info.kind == .directory {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 { throw SystemError("remove", path) }
        } else if unlink(path) != 0 {
            throw SystemError("remove", path)
        }
    }

    public static func fsyncPath(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    /// The text of a NUL-terminated C buffer.
    static func stringFromCBuffer(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Ends the process with `status` (a name that cannot collide with `exit` members).
    public static func terminate(_ status: Int32) -> Never { exit(status) }

    public static func isProcessAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        return stringFromCBuffer(buffer)
    }

    public static var userName: String {
        if let sudo = environment("SUDO_USER"), !sudo.isEmpty { return sudo }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return environment("USER") ?? String(getuid())
    }

    public static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, 4096) != nil else { return "." }
        return stringFromCBuffer(buffer)
    }
}

/// Clocks and timestamps.
public enum Clock {
    /// Seconds on the monotonic clock, for durations.
    public static func monotonic() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Seconds since the epoch.
    public static func wall() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// ISO 8601 in UTC with milliseconds: 2026-11-25T04:28:24.123Z.
    public static func iso8601(_ seconds: Double) -> String {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        let millis = Int((seconds - seconds.rounded(.down)) * 1000)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// A compact UTC stamp for run ids: 20261125-042824.
    public static func compactStamp(_ seconds: Double) -> String {
        let iso = iso8601(seconds)
        let digits = iso.prefix(19).filter { $0.isNumber }
        return String(digits.prefix(8)) + "-" + String(digits.dropFirst(8).prefix(6))
    }

    /// "0.03 s", "1.2 s", "2 min 5 s".
    public static func duration(_ seconds: Double) -> String {
        if seconds < 10 {
            let hundredths = Int((seconds * 100).rounded())
            return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100) s"
        }
        if seconds < 60 { return "\(Int(seconds.rounded())) s" }
        return "\(Int(seconds) / 60) min \(Int(seconds) % 60) s"
    }
}

/// Path string helpers (no normalisation against the filesystem).
public enum PathName {
    public static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func base(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    public static func join(_ base: String, _ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return base.hasSuffix("/") ? base + name : base + "/" + name
    }

    /// Resolves "." and ".." lexically; nil when ".." climbs above the start.
    public static func normalize(_ path: String) -> String? {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }
}
