// Reading TOML's pieces from bytes: keys, strings (basic, literal, multi-line), integers
// (decimal, hex, octal, binary), floats, booleans, dates and times, comments and line ends,
// each checked as TOML 1.0 spells it (underscores only between digits, no leading zeros,
// no raw control characters, \u escapes that are Unicode scalars).

import RunbookSupport

package struct TOMLScanner {
    package var bytes: [UInt8]
    package var index = 0
    package let file: String
    private var depth = 0
    /// Arrays and inline tables nest at most this deep (a hostile file must not exhaust the stack).
    package static let maximumDepth = 100

    package init(bytes: [UInt8], file: String) {
        // TOML's newline is LF or CRLF; CRLF is read as LF (a CR alone is refused below).
        var normalized: [UInt8] = []
        normalized.reserveCapacity(bytes.count)
        var position = 0
        while position < bytes.count {
            if bytes[position] == 0x0D, position + 1 < bytes.count, bytes[position + 1] == 0x0A { position += 1 }
            normalized.append(bytes[position])
            position += 1
        }
        self.bytes = normalized
        self.file = file
    }

    package var atEnd: Bool { index >= bytes.count }
    package var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
    package var line: Int { 1 + bytes[0..<min(index, bytes.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }

    package func error(_ problem: String) -> TOMLReader.ParseError { TOMLReader.ParseError(file: file, line: line, problem: problem) }

    package func isLineEnd(_ byte: UInt8) -> Bool { byte == 0x0A }

    package func checkUTF8() throws {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += String(scalar).utf8.count
            case .emptyInput: return
            case .error:
                var scanner = self
                scanner.index = offset
                throw scanner.error("the file is not valid UTF-8")
            }
        }
    }

    package mutating func nest() throws {
        depth += 1
        if depth > TOMLScanner.maximumDepth { throw error("arrays and inline tables nested more than \(TOMLScanner.maximumDepth) deep") }
    }

    package mutating func unnest() { depth -= 1 }

    package mutating func skipWhitespace() { while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 } }

    package mutating func expect(_ character: Character, _ problem: String) throws {
        guard peek == character.asciiValue else { throw error(problem) }
        index += 1
    }

    /// A comment, from '#' to the end of the line (not consumed).
    package mutating func comment() throws {
        guard peek == UInt8(ascii: "#") else { return }
        while let byte = peek, byte != 0x0A {
            if isControl(byte) { throw error("a control character (0x\(String(byte, radix: 16))) in a comment") }
            index += 1
        }
    }

    /// What may follow an expression: spaces, a comment, then the end of the line or file.
    package mutating func endOfLine() throws {
        skipWhitespace()
        try comment()
        guard let byte = peek else { return }
        guard byte == 0x0A else {
            if byte == 0x0D { throw error("a carriage return not followed by a newline") }
            throw error("unexpected text \(ArgumentValidator.quoted(snippet())) after the value (one key = value or header per line)")
        }
        index += 1
    }

    /// Inside arrays: whitespace, newlines and comments.
    package mutating func skipBlankAndComments() throws {
        while let byte = peek {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A { index += 1 } else if byte == UInt8(ascii: "#") { try comment() } else { return }
        }
    }

    private func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }

    private func snippet() -> String {
        let end = bytes[index...].firstIndex(of: 0x0A) ?? bytes.count
        return String(decoding: bytes[index..<min(end, index + 20)], as: UTF8.self)
    }

    // MARK: Keys

    /// A key: bare or quoted parts joined by dots.
    package mutating func key() throws -> [String] {
        var parts: [String] = []
        while true {
            skipWhitespace()
            guard let byte = peek else { throw error("a key is missing") }
            if byte == UInt8(ascii: "\"") {
                if bytes[index...].starts(with: Array("\"\"\"".utf8)) { throw error("a key cannot be a multi-line string") }
                parts.append(try basicString())
            } else if byte == UInt8(ascii: "'") {
                if bytes[index...].starts(with: Array("'''".utf8)) { throw error("a key cannot be a multi-line string") }
                parts.append(try literalString())
            } else {
                let start = index
                while let byte = peek, isBareKey(byte) { index += 1 }
                guard index > start else { throw error("a key is missing or has a character a bare key cannot hold (\(ArgumentValidator.quoted(snippet()))); quote it") }
                parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            skipWhitespace()
            guard peek == UInt8(ascii: ".") else { return parts }
            index += 1
        }
    }

    private func isBareKey(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    // MARK: Scalars

    /// A scalar, with the kind of date or time it is (nil for other values).
    package mutating func scalarNode() throws -> TOMLNode {
        let start = index
        let value = try scalar()
        if case .string(let text) = value, let first = bytes[start...].first, first >= 0x30, first <= 0x39,
           let kind = TOMLDates.kind(text) {
            return .date(text, kind: kind)
        }
        return .value(value)
    }

    package mutating func scalar() throws -> JSON {
        guard let byte = peek else { throw error("a value is missing") }
        if byte == UInt8(ascii: "\"") {
            return .string(bytes[index...].starts(with: Array("\"\"\"".utf8)) ? try multiLineString(UInt8(ascii: "\"")) : try basicString())
        }
        if byte == UInt8(ascii: "'") {
            return .string(bytes[index...].starts(with: Array("'''".utf8)) ? try multiLineString(UInt8(ascii: "'")) : try literalString())
        }
        for (word, value) in [("true", JSON.bool(true)), ("false", JSON.bool(false))] where bytes[index...].starts(with: Array(word.utf8)) {
            let after = index + word.utf8.count
            if after == bytes.count || !isBareKey(bytes[after]) {
                index = after
                return value
            }
        }
        let token = numberOrDateToken()
        guard !token.isEmpty else {
            throw error(isLineEnd(byte) ? "a value is missing" : "\(ArgumentValidator.quoted(snippet())) is not a TOML value (strings need quotes)")
        }
        if let date = TOMLDates.value(token) { return .string(date) }
        if token.contains(where: { $0 == ":" }) || isDateLike(token) { throw error("\(ArgumentValidator.quoted(token)) is not a valid date or time") }
        if let integer = try integer(token) { return .int(integer) }
        if let number = float(token) { return .double(number) }
        throw error("\(ArgumentValidator.quoted(token)) is not a valid number")
    }

    /// The characters of a number or a date, with the one space a date-time may have.
    private mutating func numberOrDateToken() -> String {
        let start = index
        func isTokenByte(_ byte: UInt8) -> Bool {
            isBareKey(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }
        while let byte = peek, isTokenByte(byte) { index += 1 }
        // "1979-05-27 07:32:00": a date, one space, then a time.
        if index - start == 10, isDateLike(String(decoding: bytes[start..<index], as: UTF8.self)), peek == 0x20,
           index + 3 < bytes.count, bytes[index + 1] >= 0x30, bytes[index + 1] <= 0x39, bytes[index + 3] == UInt8(ascii: ":")
        {
            index += 1
            while let byte = peek, isTokenByte(byte) { index += 1 }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func isDateLike(_ token: String) -> Bool {
        let characters = Array(token.utf8)
        return characters.count >= 10 && characters[4] == UInt8(ascii: "-") && characters[7] == UInt8(ascii: "-")
            && characters[0..<4].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Digits with single underscores between them (never leading, trailing or doubled).
    private static func digits(_ text: Substring, allowed: (Character) -> Bool) -> String? {
        guard let first = text.first, let last = text.last, first != "_", last != "_", !text.contains("__") else { return nil }
        let plain = text.filter { $0 != "_" }
        return plain.allSatisfy(allowed) && !plain.isEmpty ? String(plain) : nil
    }

    private func integer(_ token: String) throws -> Int64? {
        for (prefix, radix, allowed) in [("0x", 16, { (c: Character) in c.isHexDigit }), ("0o", 8, { (c: Character) in ("0"..."7").contains(c) }),
                                         ("0b", 2, { (c: Character) in c == "0" || c == "1" })] where token.hasPrefix(prefix) {
            guard let plain = TOMLScanner.digits(token.dropFirst(2), allowed: allowed) else { return nil }
            guard let value = UInt64(plain, radix: radix), value <= UInt64(Int64.max) else {
                throw error("\(ArgumentValidator.quoted(token)) is out of range for a 64-bit integer")
            }
            return Int64(value)
        }
        var body = Substring(token)
        var negative = false
        if let sign = body.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        guard let plain = TOMLScanner.digits(body, allowed: { $0.isASCII && $0.isNumber }) else { return nil }
        if plain.count > 1 && plain.hasPrefix("0") { throw error("\(ArgumentValidator.quoted(token)): an integer cannot have leading zeros") }
        guard let value = Int64((negative ? "-" : "") + plain) else { throw error("\(ArgumentValidator.quoted(token)) is out of range for a 64-bit integer") }
        return value
    }

    private func float(_ token: String) -> Double? {
        var body = Substring(token)
        var sign = ""
        if let first = body.first, first == "+" || first == "-" {
            sign = first == "-" ? "-" : ""
            body = body.dropFirst()
        }
        if body == "inf" { return sign == "-" ? -.infinity : .infinity }
        if body == "nan" { return .nan }
        let exponentAt = body.firstIndex { $0 == "e" || $0 == "E" }
        let mantissa = exponentAt.map { body[..<$0] } ?? body
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = TOMLScanner.digits(parts[0], allowed: { $0.isASCII && $0.isNumber }) else { return nil }
        if whole.count > 1 && whole.hasPrefix("0") { return nil }
        var text = sign + whole
        if parts.count == 2 {
            guard let fraction = TOMLScanner.digits(parts[1], allowed: { $0.isASCII && $0.isNumber }) else { return nil }
            text += "." + fraction
        }
        if let exponentAt {
            var exponent = body[body.index(after: exponentAt)...]
            var exponentSign = ""
            if let first = exponent.first, first == "+" || first == "-" {
                exponentSign = String(first)
                exponent = exponent.dropFirst()
            }
            guard let digits = TOMLScanner.digits(exponent, allowed: { $0.isASCII && $0.isNumber }) else { return nil }
            text += "e" + exponentSign + digits
        }
        guard parts.count == 2 || exponentAt != nil else { return nil }
        return Double(text)
    }

    // MARK: Strings

    package mutating func basicString() throws -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek, byte != 0x0A else { throw error("a string is not closed on its line") }
            index += 1
            if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if byte == UInt8(ascii: "\\") {
                try escape(into: &out)
            } else {
                if isControl(byte) { throw error("a control character (0x\(String(byte, radix: 16))) in a string: write it as an escape") }
                out.append(byte)
            }
        }
    }

    private mutating func escape(into out: inout [UInt8]) throws {
        guard let code = peek else { throw error("a string ends in a backslash") }
        index += 1
        switch code {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = code == UInt8(ascii: "u") ? 4 : 8
            guard index + count <= bytes.count,
                  let value = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                  bytes[index..<index + count].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                  let scalar = Unicode.Scalar(value)
            else {
                let digits = bytes[index..<min(index + count, bytes.count)].prefix { Character(Unicode.Scalar($0)).isHexDigit }
                throw error("\\\(Character(Unicode.Scalar(code)))\(String(decoding: digits, as: UTF8.self)) is not a Unicode scalar value "
                    + "(\\u takes 4 hex digits, \\U 8)")
            }
            index += count
            out.append(contentsOf: Array(String(scalar).utf8))
        default:
            throw error("\\\(Character(Unicode.Scalar(code))) is not a TOML escape (\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)")
        }
    }

    package mutating func literalString() throws -> String {
        index += 1
        let start = index
        while true {
            guard let byte = peek, byte != 0x0A else { throw error("a string is not closed on its line") }
            if byte == UInt8(ascii: "'") {
                index += 1
                return String(decoding: bytes[start..<index - 1], as: UTF8.self)
            }
            if isControl(byte) { throw error("a control character (0x\(String(byte, radix: 16))) in a literal string") }
            index += 1
        }
    }

    /// A `"""` string (`quote` is `"`: escapes, and a backslash that ends a line joins it to
    /// the next) or a `'''` one (every byte as it stands), from its opening quotes.
    private mutating func multiLineString(_ quote: UInt8) throws -> String {
        let basic = quote == UInt8(ascii: "\"")
        index += 3
        if peek == 0x0A { index += 1 }  // a newline just after the opening quotes is not part of it
        var out: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("a multi-line string is not closed") }
            if bytes[index...].starts(with: [quote, quote, quote]) {
                // Up to two quotes may stand just before the closing three.
                var quotes = 3
                while quotes < 5, index + quotes < bytes.count, bytes[index + quotes] == quote { quotes += 1 }
                out.append(contentsOf: Array(repeating: quote, count: quotes - 3))
                index += quotes
                return String(decoding: out, as: UTF8.self)
            }
            index += 1
            if basic && byte == UInt8(ascii: "\\") {
                // A backslash at the end of a line joins it to the next, dropping the blanks.
                var look = index
                while look < bytes.count, bytes[look] == 0x20 || bytes[look] == 0x09 { look += 1 }
                if look < bytes.count, bytes[look] == 0x0A {
                    index = look
                    while let next = peek, next == 0x20 || next == 0x09 || next == 0x0A { index += 1 }
                    continue
                }
                try escape(into: &out)
            } else {
                if byte != 0x0A && isControl(byte) {
                    throw error("a control character (0x\(String(byte, radix: 16))) in a "
                        + (basic ? "string: write it as an escape" : "literal string"))
                }
                out.append(byte)
            }
        }
    }
}

/// TOML's dates and times (RFC 3339): offset date-times, local date-times, local dates and
/// local times, checked field by field; kept as their text.
package enum TOMLDates {
    /// The TOML type of a valid date or time: datetime (with an offset), datetime-local,
    /// date-local or time-local.
    package static func kind(_ token: String) -> String? {
        guard value(token) != nil else { return nil }
        let text = Array(token.utf8)
        if text.count >= 3, text[2] == UInt8(ascii: ":") { return "time-local" }
        if text.count == 10 { return "date-local" }
        let rest = text[11...]
        if let last = rest.last, last == UInt8(ascii: "Z") || last == UInt8(ascii: "z") { return "datetime" }
        if rest.count >= 6, let sign = rest.dropLast(5).last, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { return "datetime" }
        return "datetime-local"
    }

    package static func value(_ token: String) -> String? {
        let text = Array(token.utf8)
        if text.count == 8 || (text.count > 8 && text[8] == UInt8(ascii: ".")) { return time(text[...]) ? token : nil }
        guard text.count >= 10, date(text[0..<10]) else { return nil }
        if text.count == 10 { return token }
        let separator = text[10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == 0x20 else { return nil }
        var rest = text[11...]
        if let last = rest.last, last == UInt8(ascii: "Z") || last == UInt8(ascii: "z") {
            rest = rest.dropLast()
        } else if rest.count >= 6, let sign = rest.dropLast(5).last, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            let offset = rest.suffix(5)
            guard offset[offset.startIndex + 2] == UInt8(ascii: ":"), let hours = number(offset.prefix(2)), let minutes = number(offset.suffix(2)),
                  hours <= 23, minutes <= 59 else { return nil }
            rest = rest.dropLast(6)
        }
        return time(rest) ? token : nil
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    private static func date(_ text: ArraySlice<UInt8>) -> Bool {
        let base = text.startIndex
        guard text[base + 4] == UInt8(ascii: "-"), text[base + 7] == UInt8(ascii: "-"),
              let year = number(text[base..<base + 4]), let month = number(text[base + 5..<base + 7]),
              let day = number(text[base + 8..<base + 10]), (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// HH:MM:SS with an optional fraction.
    private static func time(_ text: ArraySlice<UInt8>) -> Bool {
        let base = text.startIndex
        guard text.count >= 8, text[base + 2] == UInt8(ascii: ":"), text[base + 5] == UInt8(ascii: ":"),
              let hour = number(text[base..<base + 2]), let minute = number(text[base + 3..<base + 5]),
              let second = number(text[base + 6..<base + 8]), hour <= 23, minute <= 59, second <= 59 else { return false }
        if text.count == 8 { return true }
        return text[base + 8] == UInt8(ascii: ".") && text.count > 9 && number(text[(base + 9)...]) != nil
    }
}
