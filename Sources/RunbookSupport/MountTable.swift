// What is mounted where: read from the kernel (Linux /proc/self/mountinfo, FreeBSD
// `mount -p`), so mount.list and the undo of an unmount know each bind mount's source.

public struct MountEntry: Equatable, Sendable {
    public var source: String
    public var target: String
    public var type: String

    package init(source: String, target: String, type: String) {
        self.source = source
        self.target = target
        self.type = type
    }
}

public enum MountTable {
    /// The mount table here, or (with `run`, on another host) the one `run` reads there.
    package static func current(platform: PlatformAdapter, reading run: ProgramReader? = nil) -> [MountEntry] {
        switch platform.kind {
        case .linux:
            guard let run else { return (try? Posix.readText("/proc/self/mountinfo")).map(parseMountInfo) ?? [] }
            guard let read = try? run(["cat", "/proc/self/mountinfo"], 10), read.succeeded else { return [] }
            return parseMountInfo(read.outputText)
        case .freebsd:
            guard let read = try? (run ?? ProcessRunner.reading)(["mount", "-p"], 10), read.succeeded else { return [] }
            return parseFstab(read.outputText)
        }
    }

    /// Linux mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw".
    /// A bind mount's source is the mount point of the same device's whole-filesystem
    /// mount plus the bound subtree ("root" field).
    package static func parseMountInfo(_ text: String) -> [MountEntry] {
        struct Line { var device: String; var root: String; var point: String; var type: String; var source: String }
        var lines: [Line] = []
        for raw in text.split(separator: "\n") {
            let fields = raw.split(separator: " ").map { unescape(String($0)) }
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count else { continue }
            lines.append(Line(device: fields[2], root: fields[3], point: fields[4], type: fields[dash + 1], source: fields[dash + 2]))
        }
        return lines.map { line in
            var source = line.source
            if line.root != "/", let whole = lines.first(where: { $0.device == line.device && $0.root == "/" }) {
                source = whole.point == "/" ? line.root : whole.point + line.root
            } else if line.root != "/", let containing = lines.first(where: { $0.device == line.device && line.root.hasPrefix($0.root + "/") }) {
                source = containing.point + String(line.root.dropFirst(containing.root.count))
            }
            return MountEntry(source: source, target: line.point, type: line.type)
        }
    }

    /// FreeBSD `mount -p` (fstab format): "/usr/home/a /usr/home/b nullfs rw 0 0".
    package static func parseFstab(_ text: String) -> [MountEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 3 else { return nil }
            return MountEntry(source: fields[0], target: fields[1], type: fields[2])
        }
    }

    /// mountinfo escapes spaces and a few others as octal (\040).
    package static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
