// A small TOML reader for the engine's configuration: tables, dotted table headers,
// strings (basic and literal), integers, floats, booleans and arrays. Errors name the file
// and line. (A full TOML library would cost more build time than this file.)

public enum TOMLReader {
    public struct ParseError: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var problem: String
        public var description: String { "\(file):\(line): \(problem)" }
    }

    /// Parses TOML text into a JSON object (tables become objects).
    public static func parse(_ text: String, file: String) throws -> JSON {
        var root: [(String, JSON)] = []
        var currentPath: [String] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lineNumber = 0
        var index = 0
        while index < lines.count {
            lineNumber = index + 1
            var line = stripComment(lines[index]).trimmed
            index += 1
            if line.isEmpty { continue }
            if line.hasPrefix("[[") {
                throw ParseError(file: file, line: lineNumber, problem: "arrays of tables are not supported here")
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ParseError(file: file, line: lineNumber, problem: "unclosed table header") }
                let name = String(line.dropFirst().dropLast()).trimmed
                currentPath = try splitKey(name, file: file, line: lineNumber)
                try ensureTable(&root, currentPath, file: file, line: lineNumber)
                continue
            }
            guard let equals = findEquals(line) else {
                throw ParseError(file: file, line: lineNumber, problem: "expected 'key = value'")
            }
            let key = try splitKey(String(line[..<equals]).trimmed, file: file, line: lineNumber)
            var valueText = String(line[line.index(after: equals)...]).trimmed
            // Arrays may span lines.
            while valueText.hasPrefix("[") && !bracketsBalanced(valueText) && index < lines.count {
                valueText += " " + stripComment(lines[index]).trimmed
                index += 1
            }
            var parser = ValueParser(bytes: Array(valueText.utf8), file: file, line: lineNumber)
            let value = try parser.value()
            parser.skipSpace()
            guard parser.index == parser.bytes.count else {
                throw ParseError(file: file, line: lineNumber, problem: "unexpected text after the value of \(ArgumentValidator.quoted(key.joined(separator: ".")))")
            }
            try set(&root, currentPath + key, value, file: file, line: lineNumber)
            line = ""
        }
        lines.removeAll()
        return .object(root)
    }

    static func stripComment(_ line: String) -> String {
        var inBasic = false, inLiteral = false, escaped = false
        for (offset, character) in line.enumerated() {
            if escaped { escaped = false; continue }
            if inBasic && character == "\\" { escaped = true; continue }
            if character == "\"" && !inLiteral { inBasic.toggle() }
            if character == "'" && !inBasic { inLiteral.toggle() }
            if character == "#" && !inBasic && !inLiteral { return String(line.prefix(offset)) }
        }
        return line
    }

    static func findEquals(_ line: String) -> String.Index? {
        var inQuote: Character? = nil
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if let quote = inQuote { if character == quote { inQuote = nil } }
            else if character == "\"" || character == "'" { inQuote = character }
            else if character == "=" { return index }
            index = line.index(after: index)
        }
        return nil
    }

    static func bracketsBalanced(_ text: String) -> Bool {
        var depth = 0
        var inQuote: Character? = nil
        for character in text {
            if let quote = inQuote { if character == quote { inQuote = nil }; continue }
            if character == "\"" || character == "'" { inQuote = character }
            if character == "[" { depth += 1 }
            if character == "]" { depth -= 1 }
        }
        return depth == 0
    }

    static func splitKey(_ key: String, file: String, line: Int) throws -> [String] {
        var parts: [String] = []
        // Split on dots outside quotes: a quoted key may hold dots (`[settings.pins."tea@make-a-store.com"]`,
        // how stdlib/codebase.lua pins a customer); splitting on every dot broke such keys.
        var raws: [String] = []
        var current = ""
        var quote: Character? = nil
        for character in key {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                raws.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        raws.append(current)
        for raw in raws {
            var part = String(raw).trimmed
            if part.count >= 2, (part.hasPrefix("\"") && part.hasSuffix("\"")) || (part.hasPrefix("'") && part.hasSuffix("'")) {
                part = String(part.dropFirst().dropLast())
            } else if part.isEmpty || !part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                throw ParseError(file: file, line: line, problem: "invalid key \(ArgumentValidator.quoted(key))")
            }
            parts.append(part)
        }
        return parts
    }

    static func ensureTable(_ object: inout [(String, JSON)], _ path: [String], file: String, line: Int) throws {
        guard let first = path.first else { return }
        var child: [(String, JSON)] = []
        if let existing = object.firstIndex(where: { $0.0 == first }) {
            guard case .object(let pairs) = object[existing].1 else {
                throw ParseError(file: file, line: line, problem: "\(ArgumentValidator.quoted(first)) is already a value, not a table")
            }
            child = pairs
            try ensureTable(&child, Array(path.dropFirst()), file: file, line: line)
            object[existing].1 = .object(child)
        } else {
            try ensureTable(&child, Array(path.dropFirst()), file: file, line: line)
            object.append((first, .object(child)))
        }
    }

    static func set(_ object: inout [(String, JSON)], _ path: [String], _ value: JSON, file: String, line: Int) throws {
        guard let first = path.first else { return }
        if path.count == 1 {
            guard !object.contains(where: { $0.0 == first }) else {
                throw ParseError(file: file, line: line, problem: "\(ArgumentValidator.quoted(first)) is defined twice")
            }
            object.append((first, value))
            return
        }
        try ensureTable(&object, [first], file: file, line: line)
        let position = object.firstIndex { $0.0 == first }!
        guard case .object(var child) = object[position].1 else { return }
        try set(&child, Array(path.dropFirst()), value, file: file, line: line)
        object[position].1 = .object(child)
    }

    struct ValueParser {
        let bytes: [UInt8]
        let file: String
        let line: Int
        var index = 0
        /// Arrays inside arrays: each level is a recursive call, and 100,000 of them
        /// overflowed the stack (found by the input campaign, docs/reliability.md).
        var depth = 0
        static let maximumDepth = 32

        init(bytes: [UInt8], file: String, line: Int) {
            self.bytes = bytes
            self.file = file
            self.line = line
        }

        func fail(_ problem: String) -> ParseError { ParseError(file: file, line: line, problem: problem) }

        mutating func skipSpace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 } }

        mutating func value() throws -> JSON {
            skipSpace()
            guard index < bytes.count else { throw fail("missing value") }
            switch bytes[index] {
            case UInt8(ascii: "\""): return .string(try basicString())
            case UInt8(ascii: "'"):
                index += 1
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "'") { index += 1 }
                guard index < bytes.count else { throw fail("unterminated string") }
                defer { index += 1 }
                return .string(String(decoding: bytes[start..<index], as: UTF8.self))
            case UInt8(ascii: "["):
                guard depth < Self.maximumDepth else { throw fail("arrays nested more than \(Self.maximumDepth) deep") }
                depth += 1
                defer { depth -= 1 }
                index += 1
                var items: [JSON] = []
                while true {
                    skipSpace()
                    guard index < bytes.count else { throw fail("unterminated array") }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                    items.append(try value())
                    skipSpace()
                    if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1 }
                }
            default:
                let start = index
                while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "]"), 0x20, 0x09].contains(bytes[index]) { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                if word == "true" { return .bool(true) }
                if word == "false" { return .bool(false) }
                let digits = word.replacingAll("_", with: "")
                if let integer = Int64(digits) { return .int(integer) }
                if digits.hasPrefix("0o"), let integer = Int64(digits.dropFirst(2), radix: 8) { return .int(integer) }
                if digits.hasPrefix("0x"), let integer = Int64(digits.dropFirst(2), radix: 16) { return .int(integer) }
                if let double = Double(digits) { return .double(double) }
                throw fail("cannot read the value \(ArgumentValidator.quoted(word)) (strings need quotes)")
            }
        }

        mutating func basicString() throws -> String {
            index += 1
            var result = ""
            var start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    result += String(decoding: bytes[start..<index], as: UTF8.self)
                    index += 1
                    return result
                }
                if byte == UInt8(ascii: "\\") {
                    result += String(decoding: bytes[start..<index], as: UTF8.self)
                    index += 1
                    guard index < bytes.count else { break }
                    switch bytes[index] {
                    case UInt8(ascii: "n"): result += "\n"
                    case UInt8(ascii: "t"): result += "\t"
                    case UInt8(ascii: "\\"): result += "\\"
                    case UInt8(ascii: "\""): result += "\""
                    default: throw fail("unsupported escape in a string")
                    }
                    index += 1
                    start = index
                    continue
                }
                index += 1
            }
            throw fail("unterminated string")
        }
    }
}

extension String {
    var trimmed: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" || first == "\r" || first == "\n" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" || last == "\n" { scalars.removeLast() }
        return String(scalars)
    }
}
