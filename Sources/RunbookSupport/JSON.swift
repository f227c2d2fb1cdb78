// A small JSON value with a writer and a parser: journals, logs and plans are JSON Lines,
// and the engine avoids Foundation to start in milliseconds.

/// A JSON value. Objects keep their key order so output is stable and readable.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            let left = Dictionary(a, uniquingKeysWith: { x, _ in x })
            for (key, value) in b where left[key] != value { return false }
            return true
        default: return false
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int64(exactly: d)
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [(String, JSON)]? { if case .object(let o) = self { return o } else { return nil } }

    // MARK: Writing

    // The writer works on UTF-8 bytes in a ByteBuffer, not a String or an Array<UInt8>:
    // every journal record and --json line goes through it. The output is the same, byte
    // for byte.

    /// Compact, one line: suitable for JSON Lines.
    public var serialized: String {
        let out = ByteBuffer(capacity: 128)
        write(into: out)
        return out.string
    }

    public func write(to out: inout String) {
        out += serialized
    }

    /// Appends the compact text of the value to `out` as UTF-8.
    package func write(into out: ByteBuffer) {
        switch self {
        case .null: out.append(literal: "null")
        case .bool(let b): b ? out.append(literal: "true") : out.append(literal: "false")
        case .int(let i): JSON.writeInteger(i, into: out)
        case .double(let d):
            if d.isFinite {
                if d == d.rounded(), abs(d) < 1e15 {
                    JSON.writeInteger(Int64(d), into: out)
                    out.append(literal: ".0")
                } else {
                    out.append(utf8: String(d))
                }
            } else {
                out.append(literal: "null")
            }
        case .string(let s): JSON.writeString(s, into: out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for index in items.indices {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                items[index].write(into: out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for index in pairs.indices {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(pairs[index].0, into: out)
                out.append(UInt8(ascii: ":"))
                pairs[index].1.write(into: out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The decimal digits of `value`, without a String on the way (every journal record
    /// has a few: seq numbers, modes, sizes).
    package static func writeInteger(_ value: Int64, into out: ByteBuffer) {
        // Backwards into 20 bytes on the stack (Int64.min takes 20 with its sign), then one copy.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var magnitude = value.magnitude
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "-")
            }
            out.append(UnsafeBufferPointer(rebasing: buffer[index...]))
        }
    }

    /// `,"key":value`: one more field of an object being written; `key` needs no escaping
    /// (the writer's own field names).
    package static func writeField(_ key: StaticString, _ value: JSON, into out: ByteBuffer) {
        out.append(literal: ",\"")
        out.append(literal: key)
        out.append(literal: "\":")
        value.write(into: out)
    }

    /// `,"key":value` for a key that may need escaping.
    package static func writeField(_ key: String, _ value: JSON, into out: ByteBuffer) {
        out.append(UInt8(ascii: ","))
        writeString(key, into: out)
        out.append(UInt8(ascii: ":"))
        value.write(into: out)
    }

    package static func writeString(_ s: String, to out: inout String) {
        let bytes = ByteBuffer()
        writeString(s, into: bytes)
        out += bytes.string
    }

    /// A JSON string literal: `"`, `\`, \n, \r, \t escaped by name, other control
    /// characters and DEL as \u00XX; everything else (all of UTF-8 above 0x7f included)
    /// copied as it is, in runs.
    package static func writeString(_ s: String, into out: ByteBuffer) {
        var s = s
        s.withUTF8 { appendQuoted($0, to: out) }
    }

    /// The bytes in quotes, escaped where they must be.
    private static func appendQuoted(_ bytes: UnsafeBufferPointer<UInt8>, to out: ByteBuffer) {
        if needsNoEscape(bytes) {
            out.reserve(bytes.count + 2)
            out.append(UInt8(ascii: "\""))
            out.append(bytes)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(UInt8(ascii: "\""))
            appendEscaped(bytes, to: out)
            out.append(UInt8(ascii: "\""))
        }
    }

    /// True when no byte is below 0x20, `"`, `\\` or DEL, tested eight bytes at a time (the
    /// classic has-less/has-zero word tests; the last word overlaps the one before), byte
    /// by byte below eight. (Swift's SIMD16 compares came out four times slower here.)
    private static func needsNoEscape(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, bytes.count >= 8 else {
            for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5c || byte == 0x7f { return false }
            return true
        }
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func clean(_ word: UInt64) -> Bool {
            @inline(__always) func hasZero(_ word: UInt64) -> Bool { (word &- ones) & ~word & highs != 0 }
            let below = (word &- ones &* 0x20) & ~word & highs != 0
            return !(below || hasZero(word ^ (ones &* 0x22)) || hasZero(word ^ (ones &* 0x5c)) || hasZero(word ^ (ones &* 0x7f)))
        }
        var index = 0
        while index + 8 <= bytes.count {
            guard clean(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) else { return false }
            index += 8
        }
        return index == bytes.count || clean(UnsafeRawPointer(base + bytes.count - 8).loadUnaligned(as: UInt64.self))
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: ByteBuffer) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5c || byte == 0x7f else { continue }
            if index > runStart { out.append(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
            runStart = index + 1
            out.append(0x5c)
            switch byte {
            case 0x22: out.append(0x22)               // \"
            case 0x5c: out.append(0x5c)               // \\
            case 0x0a: out.append(UInt8(ascii: "n"))  // \n
            case 0x0d: out.append(UInt8(ascii: "r"))  // \r
            case 0x09: out.append(UInt8(ascii: "t"))  // \t
            default:
                let hex: StaticString = "0123456789abcdef"
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0x0f)])
            }
        }
        if bytes.count > runStart { out.append(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
    }

    // MARK: Parsing

    public struct ParseError: Error, CustomStringConvertible {
        public var offset: Int
        public var problem: String
        public var description: String { "invalid JSON at byte \(offset): \(problem)" }
    }

    /// Arrays and objects inside each other, at most: the parser, the writer and freeing a
    /// value recurse once per level, and a journal line or plan needs a few.
    package static let maximumDepth = 200

    public static func parse(_ text: String) throws -> JSON { try parse(utf8: Array(text.utf8)) }

    /// Parses UTF-8 text (invalid sequences in strings decode as U+FFFD, as from a String).
    /// With `keys`, a top-level object keeps only those keys: the other values are checked
    /// as the parser checks them (the same texts fail) but nothing is built for them.
    package static func parse(utf8: [UInt8], keys: [String]? = nil) throws -> JSON {
        try utf8.withUnsafeBufferPointer { try parse(utf8: $0, keys: keys) }
    }

    package static func parse(utf8: UnsafeBufferPointer<UInt8>, keys: [String]? = nil) throws -> JSON {
        var parser = JSONParser(bytes: utf8)
        parser.keys = keys
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw ParseError(offset: parser.index, problem: "trailing characters") }
        return value
    }
}

private struct JSONParser {
    /// The text, borrowed for the parse (no copy of each journal line).
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// The keys a top-level object keeps (nil: all). A short list: comparing a few small
    /// strings is cheaper than hashing each key.
    var keys: [String]?

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0a, 0x0d, 0x09: index += 1
            default: return
            }
        }
    }

    func fail(_ problem: String) -> JSON.ParseError { JSON.ParseError(offset: index, problem: problem) }

    mutating func value(depth: Int) throws -> JSON {
        guard depth < JSON.maximumDepth else { throw fail("nested more than \(JSON.maximumDepth) levels deep") }
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var pairs: [(String, JSON)] = []
            pairs.reserveCapacity(8)
            try elements(until: UInt8(ascii: "}")) { parser in
                // A key left out is matched as bytes, never made a String (JournalReader with
                // `keys`: `runbook undo` reads every intent of a run).
                try parser.expectKey()
                let key: String?
                if depth == 0, let keys = parser.keys { key = try parser.keptKey(keys) } else { key = try parser.string() }
                try parser.expectColon()
                if let key {
                    pairs.append((key, try parser.value(depth: depth + 1)))
                } else {
                    try parser.skipValue(depth: depth + 1)
                }
            }
            return .object(pairs)
        case UInt8(ascii: "["):
            var items: [JSON] = []
            try elements(until: UInt8(ascii: "]")) { parser in items.append(try parser.value(depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    /// Reads an object's or an array's elements, from its opening bracket at `index` to past
    /// `close`: `element` reads each one, the commas and spaces between them are checked here.
    mutating func elements(until close: UInt8, _ element: (inout JSONParser) throws -> Void) throws {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == close { index += 1; return }
        while true {
            skipSpace()
            try element(&self)
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == close { index += 1; return }
            throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
    }

    /// An object member starts with its key.
    func expectKey() throws {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
    }

    /// Past the `:` between a key and its value, and the spaces around it.
    mutating func expectColon() throws {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        index += 1
        skipSpace()
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
              (0..<count).allSatisfy({ bytes[index + $0] == word.utf8Start[$0] }) else { throw fail("unexpected token") }
        index += count
    }

    /// Moves past one value exactly as `value(depth:)` would, with the same errors, and
    /// builds nothing (numbers excepted: they are short).
    mutating func skipValue(depth: Int) throws {
        guard depth < JSON.maximumDepth else { throw fail("nested more than \(JSON.maximumDepth) levels deep") }
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            try elements(until: UInt8(ascii: "}")) { parser in
                try parser.expectKey()
                try parser.skipString()
                try parser.expectColon()
                try parser.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try elements(until: UInt8(ascii: "]")) { parser in try parser.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    /// Reads a key: the one of `keys` it is (that String, not a new one), or nil.
    mutating func keptKey(_ keys: [String]) throws -> String? {
        var end = index + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else {
            let key = try string()
            return keys.contains(key) ? key : nil
        }
        let raw = UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end])
        index = end + 1
        for key in keys where key.utf8.count == raw.count {
            if raw.isEmpty { return key }
            let same = key.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }
            if same ?? key.utf8.elementsEqual(raw) { return key }
        }
        return nil
    }

    /// A string without escapes is stepped over; one with escapes goes through `string()`.
    mutating func skipString() throws {
        var end = index + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            index = end + 1
            return
        }
        _ = try string()
    }

    mutating func number() throws -> JSON {
        let start = index
        var isFloat = false
        while index < bytes.count {
            let byte = bytes[index]
            if (48...57).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                index += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                isFloat = true
                index += 1
            } else {
                break
            }
        }
        // An integer of up to 18 digits is read from its bytes (every record has a `seq`).
        let digitsStart = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
        if !isFloat, index > digitsStart, index - digitsStart <= 18,
           bytes[digitsStart..<index].allSatisfy({ (48...57).contains($0) })
        {
            var magnitude: Int64 = 0
            for byte in bytes[digitsStart..<index] { magnitude = magnitude * 10 + Int64(byte - 48) }
            return .int(digitsStart == start ? magnitude : -magnitude)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isFloat, let integer = Int64(text) { return .int(integer) }
        if let double = Double(text) { return .double(double) }
        throw JSON.ParseError(offset: start, problem: "invalid number")
    }

    mutating func string() throws -> String {
        index += 1
        // Most strings have no escape: one String straight from their bytes.
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let result = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
            index = end + 1
            return result
        }
        var runStart = index
        var result = ""
        func flush(_ end: Int) {
            if end > runStart { result += String(decoding: bytes[runStart..<end], as: UTF8.self) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                return result
            }
            if byte == UInt8(ascii: "\\") {
                flush(index)
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "n"): result += "\n"
                case UInt8(ascii: "t"): result += "\t"
                case UInt8(ascii: "r"): result += "\r"
                case UInt8(ascii: "b"): result += "\u{08}"
                case UInt8(ascii: "f"): result += "\u{0C}"
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    result.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: result.unicodeScalars.append(Unicode.Scalar(escape))
                }
                runStart = index
                continue
            }
            index += 1
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
        else { throw fail("bad \\u escape") }
        index += 4
        return code
    }
}

