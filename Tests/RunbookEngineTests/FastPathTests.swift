// The engine's fast paths (docs/performance.md) must give exactly what the straightforward
// code they replaced gave: each test compares one with a copy of the old code.

@testable import RunbookEngine
import RunbookCore
import RunbookJournal
import RunbookSupport
import RunbookTestKit
import XCTest

final class FastPathTests: XCTestCase {
    // MARK: JSON

    /// The JSON string writer as it was: scalar by scalar into a String.
    private func referenceString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private var strings: [String] {
        var samples = ["", "a", "plain ascii", "/usr/home/shop/site_1000/lib", "quote \" here", "back\\slash",
                       "new\nline", "tab\tcr\r", "\u{1}\u{1f}\u{7f}", "é ü 日本 🎉", "ends with \\", "\"", "12345678",
                       "1234567\"", "12345678\u{0}", String(repeating: "x", count: 200) + "\n" + String(repeating: "y", count: 9)]
        // Every escape at every offset of strings around the fast path's block size (8 bytes at
        // a time from 8 on, the last block overlapping).
        for special in ["\"", "\\", "\n", "\u{7f}", "\u{0}", "\u{1b}", "é"] {
            for length in [7, 9, 15, 16, 17, 24, 33] {
                for offset in 0..<length {
                    samples.append(String(repeating: "a", count: offset) + special + String(repeating: "b", count: length - 1 - offset))
                }
            }
        }
        return samples
    }

    func testStringsSerializeAsBefore() throws {
        for sample in strings {
            XCTAssertEqual(JSON.string(sample).serialized, referenceString(sample), "\(Array(sample.utf8))")
            XCTAssertEqual(try JSON.parse(JSON.string(sample).serialized), .string(sample))
        }
        let object = JSON.object([("t", .string("intent")), ("seq", .int(7)), ("d", .double(1.5)), ("n", .null),
                                  ("b", .bool(true)), ("a", .array([.string("x\ny"), .int(-3), .double(2)]))])
        XCTAssertEqual(object.serialized, #"{"t":"intent","seq":7,"d":1.5,"n":null,"b":true,"a":["x\ny",-3,2.0]}"#)
    }

    func testJournalRecordsAreTheObjectsTheyWere() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/journal.jsonl"
        let journal = try JournalWriter(path: path, durable: false, redactor: Redactor())
        let fields: [(String, JSON)] = [("seq", .int(1)), ("summary", .string("create \"x\"\n")),
                                        ("undo", .array([.object([("op", .string("fs.rmdir"))])]))]
        journal.append(.intent, fields)
        journal.append(.effectApplied, fields)
        journal.append(.undone, [("seq", .int(1))])
        let lines = try Posix.readText(path).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        // The stamp is what Clock.iso8601 makes; everything else is JSON.object(...).serialized.
        let record = try JSON.parse(lines[0])
        let stamp = try XCTUnwrap(record["at"]?.stringValue)
        XCTAssertEqual(lines[0], JSON.object([("t", .string("intent")), ("at", .string(stamp))] + fields).serialized)
        XCTAssertEqual(stamp.utf8.count, 24)
        // Filtering by type gives the same records as reading all and keeping those types.
        let all = try JournalReader.records(path)
        let some = try JournalReader.records(path, types: [.intent, .undone])
        XCTAssertEqual(some, all.filter { ["intent", "undone"].contains($0["t"]?.stringValue ?? "") })
        XCTAssertEqual(some.count, 2)
    }

    func testIntegersAndEffectRecordsAreWrittenAsTheirJSON() throws {
        for value: Int64 in [0, 7, 9, 10, 99, 100, 493, 1000, 4_294_967_296, -1, -10, -907, .max, .min] {
            XCTAssertEqual(JSON.int(value).serialized, String(value))
        }
        // Doubles as the String-based writer gave them.
        for value in [0.0, -0.0, 3.0, -2.0, 1.5, -0.25, 1e14, 1e15, 1e20, .infinity, .nan] {
            let reference = !value.isFinite ? "null" : value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) + ".0" : String(value)
            XCTAssertEqual(JSON.double(value).serialized, reference)
        }
        // Longer than the buffer's first room, with escapes on both sides of where it grows.
        let long = String(repeating: "0123456789\t\"ä", count: 300)
        XCTAssertEqual(JSON.string(long).serialized, referenceString(long))
        let identity = JSON.object([("path", .string("/usr/home/ä \"x\"")), ("mode", .int(493))])
        for result: JSON? in [nil, .int(42), .object([("id", .int(3))])] {
            let record = EffectRecord(seq: 12, step: "outer / \"inner\"\n", kind: "fs.mkdir", sign: .create,
                                      summary: "create directory /usr/home/ä", identity: identity, result: result)
            let fields = ByteBuffer(capacity: 16)  // grown as it goes
            fields.append(literal: #"{"seq":12"#)
            record.writeFields(into: fields)
            fields.append(UInt8(ascii: "}"))
            XCTAssertEqual(fields.string, record.json.serialized)
        }
        let step = RemoveEntryUndo(path: "/a/b\tc", target: "/x", size: -1)
        let bytes = ByteBuffer()
        step.write(into: bytes)
        XCTAssertEqual(bytes.string, step.json.serialized)
    }

    func testTimestampsMatchTheGeneralFormatter() {
        var stamp = Clock.ISO8601Stamp()
        for seconds in [0.0, 0.999, 1_795_000_000.0, 1_795_000_000.001, 1_795_000_000.5, 1_795_000_000.9999999,
                        1_795_000_001.25, 1_795_086_399.999, 1_795_086_400.0, -1.5, 253_402_300_800.5] {
            let bytes = ByteBuffer()
            stamp.append(seconds, to: bytes)
            XCTAssertEqual(bytes.string, Clock.iso8601(seconds), "\(seconds)")
        }
    }

    // MARK: Paths

    /// PathName.normalize as it was, without its fast path.
    private func referenceNormalize(_ path: String) -> String? {
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

    func testPathHelpersAsBefore() {
        let paths = ["", "/", "//", "a", "/a", "/a/", "a/b", "/a//b", "/a/./b", "/a/../b", "/..", "/a/b/..", "/.hidden",
                     "/a/...", "/a/.b", "/a/..b", "./a", "../a", "/a/b/c/d/e/f", "/ü/日本/🎉", "/a/.", "/a/b/../../..", "x//"]
        for path in paths {
            XCTAssertEqual(PathName.normalize(path), referenceNormalize(path), "normalize \(path)")
            let slash = path.lastIndex(of: "/")
            XCTAssertEqual(PathName.parent(path), slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? ".")
            XCTAssertEqual(PathName.base(path), slash.map { String(path[path.index(after: $0)...]) } ?? path)
            // isEntry is asked of normal paths only (real paths of effects), never of "/".
            for directory in paths + ["/a/b/c/d/e", "/ü/日本"] where PathName.isNormal(path) && PathName.isNormal(directory) && directory.count > 1 {
                XCTAssertEqual(PathName.isEntry(path, of: directory), PathName.parent(path) == directory && !PathName.base(path).isEmpty,
                               "isEntry \(path) of \(directory)")
            }
        }
    }

    // MARK: Dry-run overlay

    func testOverlayNoticesSymlinksPlannedAboveKnownDirectories() throws {
        let root = try temporaryDirectory()
        try Posix.makeDirectories(root + "/real/target/inside")
        let overlay = Overlay()
        // /root/x does not exist: looking below it records it as a plain directory.
        XCTAssertNil(overlay.info(root + "/x/inside"))
        // Planned: x -> real/target. Paths below x now resolve through the link.
        overlay.symlink(root + "/x", target: root + "/real/target")
        XCTAssertEqual(overlay.info(root + "/x/inside")?.kind, .directory)
        XCTAssertEqual(overlay.canonical(root + "/x/inside/file"), root + "/real/target/inside/file")
        // A rename that lands a symlink on a known directory is noticed too.
        try Posix.makeDirectories(root + "/moved")
        XCTAssertNil(overlay.info(root + "/moved/inside"))
        XCTAssertEqual(symlink(root + "/real/target", root + "/link"), 0)
        overlay.rename(root + "/moved", to: root + "/gone")
        overlay.rename(root + "/link", to: root + "/moved")
        XCTAssertEqual(overlay.canonical(root + "/moved/inside/file"), root + "/real/target/inside/file")
        XCTAssertEqual(overlay.info(root + "/moved/inside")?.kind, .directory)
    }

    func testNothingRealIsInsideAPlannedDirectory() throws {
        let root = try temporaryDirectory()
        try Posix.makeDirectories(root + "/old/child")
        let overlay = Overlay()
        overlay.makeDirectory(root + "/new", mode: 0o755)
        XCTAssertNil(overlay.info(root + "/new/anything"))
        overlay.symlink(root + "/new/lib", target: root + "/old")
        XCTAssertEqual(overlay.info(root + "/new/lib")?.kind, .symlink)
        XCTAssertEqual(try overlay.list(root + "/new"), ["lib"])
        // Removed, then made again: the real run's directory is empty, and so is the plan's.
        overlay.remove(root + "/old")
        overlay.makeDirectory(root + "/old", mode: 0o755)
        XCTAssertNil(overlay.info(root + "/old/child"))
        XCTAssertEqual(try overlay.list(root + "/old"), [])
    }

    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/runbook-fastpath.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp", "/tmp") }
        let path = String(cString: made)
        addTeardownBlock { try? Posix.removeTree(path) }
        return path
    }
}
