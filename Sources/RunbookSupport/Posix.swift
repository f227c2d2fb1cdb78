// Thin, throwing wrappers over the POSIX calls the engine needs (no Foundation: start-up
// time matters, and we need fsync, lstat and friends that Foundation hides).

#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif
import CSystem

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

    package init(kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32, size: Int64, device: UInt64) {
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.device = device
    }
}

extension FileInfo {
    package init(_ info: stat) {
        let kind: FileInfo.Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        self.init(kind: kind, mode: UInt32(info.st_mode & 0o7777), uid: UInt32(info.st_uid), gid: UInt32(info.st_gid),
                  size: Int64(info.st_size), device: UInt64(info.st_dev))
    }
}

public enum Posix {
    /// The process's umask, read once (umask(2) can only be read by setting it).
    public static let fileCreationMask: UInt32 = {
        let mask = umask(0o022)
        umask(mask)
        return UInt32(mask)
    }()

    /// Whether a directory has a default ACL, which sets new entries' modes instead of the
    /// umask (Linux). Elsewhere it answers true: callers then set modes explicitly.
    public static func hasDefaultACL(_ path: String) -> Bool { rb_has_default_acl(path) != 0 }

    public static func lstatInfo(_ path: String) -> FileInfo? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileInfo(info)
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("read", path) }
        defer { close(descriptor) }
        return try readAll(descriptor, path: path)
    }

    /// Everything left to read from an open descriptor.
    public static func readAll(_ descriptor: Int32, path: String) throws -> [UInt8] {
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
        try bytes.withUnsafeBufferPointer { try writeAll(descriptor, $0, path: path) }
    }

    public static func writeAll(_ descriptor: Int32, _ bytes: UnsafeBufferPointer<UInt8>, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, base + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path)
            }
            offset += count
        }
    }

    public static func readLink(_ path: String) -> String? {
        // A stack buffer and one decode: this runs for every ancestor a dry-run resolves
        // and every link undo or relink_tree touches.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> String? in
            let count = readlink(path, buffer.baseAddress!, 4096)
            guard count >= 0 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    /// readlink(2) of the entry `name` in an open directory.
    public static func readLink(at directory: Int32, _ name: String) -> String? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> String? in
            let count = readlinkat(directory, name, buffer.baseAddress!, 4096)
            guard count >= 0 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    /// Names in a directory, sorted, without "." and "..".
    public static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw SystemError("list", path) }
        return list(directory)
    }

    /// Names in an open directory (the descriptor is kept open: it is duplicated for the
    /// directory stream).
    public static func list(descriptor: Int32, path: String) throws -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0, let directory = fdopendir(copy) else {
            let error = SystemError("list", path)
            if copy >= 0 { close(copy) }
            throw error
        }
        return list(directory)
    }

    private static func list(_ directory: OpaquePointer) -> [String] {
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

    /// Removes the entry `name` of an open directory: a file, symlink or whole tree (no-op
    /// when absent). Each directory below is opened with O_NOFOLLOW relative to its parent,
    /// so a link swapped in while it runs is removed, never followed. `shown` names it in errors.
    public static func removeTree(at directory: Int32, _ name: String, shown: String) throws {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("remove", shown)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            let inner = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard inner >= 0 else { throw SystemError("remove", shown) }
            defer { close(inner) }
            for entry in try list(descriptor: inner, path: shown) { try removeTree(at: inner, entry, shown: shown + "/" + entry) }
            if unlinkat(directory, name, AT_REMOVEDIR) != 0 { throw SystemError("remove", shown) }
        } else if unlinkat(directory, name, 0) != 0 && errno != ENOENT {
            throw SystemError("remove", shown)
        }
    }

    /// Removes a file, symlink or whole directory tree (no-op when absent). For the engine's
    /// own folders; paths in a run's world go through RootedPaths.withParent.
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
    package static func stringFromCBuffer(_ buffer: [CChar]) -> String {
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

    /// Looked up once per process: it cannot change while the process runs, and the lookup
    /// (NSS: nscd, nsswitch.conf, /etc/passwd) is a visible part of a short run's start-up.
    public static var userName: String { cachedUserName }

    private static let cachedUserName: String = {
        if let sudo = environment("SUDO_USER"), !sudo.isEmpty { return sudo }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return environment("USER") ?? String(getuid())
    }()

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
        let millis = Int32((seconds - seconds.rounded(.down)) * 1000)
        // Built as bytes: every journal record is stamped, and string interpolation with
        // padded pieces was a visible share of a run's time (docs/performance.md).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func pad(_ value: Int32, _ width: Int, _ separator: UInt8) {
            guard value >= 0 else {
                let text = String(value)
                bytes.append(contentsOf: String(repeating: "0", count: max(0, width - text.count)).utf8)
                bytes.append(contentsOf: text.utf8)
                bytes.append(separator)
                return
            }
            var divisor: Int32 = 1, count = 1
            while value / divisor >= 10 {
                divisor *= 10
                count += 1
            }
            for _ in count..<max(width, count) { bytes.append(48) }
            while divisor > 0 {
                bytes.append(UInt8(48 + (value / divisor) % 10))
                divisor /= 10
            }
            bytes.append(separator)
        }
        pad(parts.tm_year + 1900, 4, UInt8(ascii: "-"))
        pad(parts.tm_mon + 1, 2, UInt8(ascii: "-"))
        pad(parts.tm_mday, 2, UInt8(ascii: "T"))
        pad(parts.tm_hour, 2, UInt8(ascii: ":"))
        pad(parts.tm_min, 2, UInt8(ascii: ":"))
        pad(parts.tm_sec, 2, UInt8(ascii: "."))
        pad(millis, 3, UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `iso8601` written as bytes, remembering the text up to the second: journal records
    /// are stamped many times a second, and formatting each from scratch showed in profiles.
    package struct ISO8601Stamp {
        private var second = Double.nan
        private var prefix: [UInt8] = []

        package mutating func append(_ seconds: Double, to out: ByteBuffer) {
            let whole = seconds.rounded(.down)
            let millis = Int((seconds - whole) * 1000)
            // Negative times and years beyond 9999 keep the general formatter.
            guard whole >= 0, millis >= 0, millis < 1000 else {
                out.append(utf8: Clock.iso8601(seconds))
                return
            }
            if whole != second {
                let text = Clock.iso8601(whole)      // "YYYY-MM-DDTHH:MM:SS.000Z"
                guard text.utf8.count == 24 else {
                    out.append(utf8: Clock.iso8601(seconds))
                    return
                }
                prefix = Array(text.utf8.prefix(20))  // through the "."
                second = whole
            }
            out.reserve(prefix.count + 4)
            out.append(prefix)
            out.append(UInt8(48 + millis / 100))
            out.append(UInt8(48 + millis / 10 % 10))
            out.append(UInt8(48 + millis % 10))
            out.append(UInt8(ascii: "Z"))
        }

        package init() {}
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
    /// True when `normalize` would return `path` unchanged: no empty, "." or ".."
    /// component and no trailing slash ("/" itself is normal; "" is too).
    package static func isNormal(_ path: String) -> Bool {
        if path == "/" { return true }
        let normal = path.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
            var start = 0
            // A leading slash starts an absolute path, not an empty component.
            if bytes.first == slash { start = 1 }
            if bytes.isEmpty { return true }
            while true {
                var end = start
                while end < bytes.count, bytes[end] != slash { end += 1 }
                let length = end - start
                if length == 0 { return false }
                if bytes[start] == dot, length == 1 || (length == 2 && bytes[start + 1] == dot) { return false }
                if end == bytes.count { return true }
                start = end + 1
            }
        }
        return normal ?? false
    }

    // parent and base search the UTF-8 bytes for "/" (a search by Characters was a visible
    // cost of every planned effect; "/" is ASCII, so the answer is the same).

    public static func parent(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// True when `path` is `directory` + "/" + a name (what `parent` would say), compared
    /// as bytes without making a String (a check made for every planned or applied link).
    package static func isEntry(_ path: String, of directory: String) -> Bool {
        var path = path, directory = directory
        return path.withUTF8 { whole in
            directory.withUTF8 { parent in
                guard whole.count > parent.count + 1, parent.count > 1,
                      memcmp(whole.baseAddress!, parent.baseAddress!, parent.count) == 0,
                      whole[parent.count] == UInt8(ascii: "/") else { return false }
                return !whole[(parent.count + 1)...].contains(UInt8(ascii: "/"))
            }
        }
    }

    public static func base(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    public static func join(_ base: String, _ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return base.hasSuffix("/") ? base + name : base + "/" + name
    }

    /// Resolves "." and ".." lexically; nil when ".." climbs above the start.
    public static func normalize(_ path: String) -> String? {
        // Most paths are already normal: they are not split and joined again.
        if isNormal(path) { return path }
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
