// Splits a SQL file into statements the way the mysql command-line client reads one: a
// statement ends at the delimiter (";", or what a `DELIMITER` line sets, for procedures),
// except inside '...' and "..." strings (backslash escapes, doubled quotes), `backtick`
// identifiers, and -- / # / /* */ comments. Each statement keeps the line it starts on,
// so a failure can name `file:line`.

/// One statement of a script, without its delimiter.
package struct SQLStatement: Equatable {
    package var text: String
    /// 1-based line of the statement's first token in the file.
    package var line: Int
}

/// A script that cannot be split (an unterminated string or comment, an empty delimiter).
package struct SQLScriptError: Error, CustomStringConvertible {
    package var line: Int
    package var problem: String
    package var description: String { "line \(line): \(problem)" }
}

package enum SQLScript {
    /// The statements of `text`, in order. Comments and blank text between statements are
    /// dropped; comments inside a statement are kept (the server ignores them), and so are
    /// executable comments (`/*! ... */`, `/*M! ... */`) and optimizer hints (`/*+ ... */`),
    /// which are SQL.
    package static func split(_ text: String) throws -> [SQLStatement] {
        var scanner = Scanner(bytes: Array(text.utf8))
        return try scanner.statements()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var delimiter: [UInt8] = [UInt8(ascii: ";")]
        var result: [SQLStatement] = []
        /// Start of the current statement's text in `bytes`, and its line; nil between statements.
        var start: Int?
        var startLine = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func byte(at offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

        static func isSpace(_ byte: UInt8?) -> Bool {
            guard let byte else { return false }
            return byte == 32 || byte == 9 || byte == 10 || byte == 13 || byte == 11 || byte == 12
        }

        /// `--` starts a comment only when followed by whitespace, a control character or
        /// the end (MySQL's rule: `1--1` is arithmetic).
        func isDashComment(_ at: Int) -> Bool {
            guard byte(at: at) == UInt8(ascii: "-"), byte(at: at + 1) == UInt8(ascii: "-") else { return false }
            guard let next = byte(at: at + 2) else { return true }
            return next <= 32
        }

        /// A `/* ... */` comment that is only a comment (not `/*!`, `/*M!` or `/*+`).
        func isPlainBlockComment(_ at: Int) -> Bool {
            guard byte(at: at) == UInt8(ascii: "/"), byte(at: at + 1) == UInt8(ascii: "*") else { return false }
            let third = byte(at: at + 2)
            if third == UInt8(ascii: "!") || third == UInt8(ascii: "+") { return false }
            if third == UInt8(ascii: "M"), byte(at: at + 3) == UInt8(ascii: "!") { return false }
            return true
        }

        func matchesDelimiter(_ at: Int) -> Bool {
            guard at + delimiter.count <= bytes.count else { return false }
            for offset in 0..<delimiter.count where bytes[at + offset] != delimiter[offset] { return false }
            return true
        }

        mutating func advance() {
            if bytes[index] == 10 { line += 1 }
            index += 1
        }

        mutating func skipToEndOfLine() {
            while index < bytes.count, bytes[index] != 10 { index += 1 }
        }

        mutating func skipBlockComment() throws {
            let opened = line
            index += 2
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "*"), byte(at: index + 1) == UInt8(ascii: "/") {
                    index += 2
                    return
                }
                advance()
            }
            throw SQLScriptError(line: opened, problem: "the /* comment starting here is not closed")
        }

        mutating func skipQuoted() throws {
            let quote = bytes[index]
            let opened = line
            advance()
            while index < bytes.count {
                let current = bytes[index]
                if current == UInt8(ascii: "\\") && quote != UInt8(ascii: "`") {
                    advance()
                    if index < bytes.count { advance() }
                    continue
                }
                advance()
                if current == quote {
                    // A doubled quote is the quote character itself.
                    if byte(at: index) == quote { advance(); continue }
                    return
                }
            }
            let what = quote == UInt8(ascii: "`") ? "`identifier`" : quote == UInt8(ascii: "'") ? "'string'" : "\"string\""
            throw SQLScriptError(line: opened, problem: "the \(what) starting here is not closed")
        }

        /// `DELIMITER xyz` at the start of a statement (a client command, not SQL).
        mutating func readDelimiterCommand() throws -> Bool {
            let word = Array("delimiter".utf8)
            guard index + word.count < bytes.count else { return false }
            for offset in 0..<word.count where bytes[index + offset] | 0x20 != word[offset] { return false }
            let after = bytes[index + word.count]
            guard after == 32 || after == 9 else { return false }
            let commandLine = line
            index += word.count
            let valueStart = index
            skipToEndOfLine()
            var value = Array(bytes[valueStart..<index])
            while let last = value.last, Self.isSpace(last) { value.removeLast() }
            while let first = value.first, Self.isSpace(first) { value.removeFirst() }
            guard !value.isEmpty else { throw SQLScriptError(line: commandLine, problem: "DELIMITER without a delimiter") }
            delimiter = value
            return true
        }

        mutating func finishStatement(at end: Int) {
            guard let start else { return }
            var last = end
            while last > start, Self.isSpace(bytes[last - 1]) { last -= 1 }
            if last > start {
                result.append(SQLStatement(text: String(decoding: bytes[start..<last], as: UTF8.self), line: startLine))
            }
            self.start = nil
        }

        mutating func statements() throws -> [SQLStatement] {
            while index < bytes.count {
                let current = bytes[index]
                if start == nil {
                    // Between statements: whitespace, comments and DELIMITER lines.
                    if Self.isSpace(current) { advance(); continue }
                    if current == UInt8(ascii: "#") || isDashComment(index) { skipToEndOfLine(); continue }
                    if isPlainBlockComment(index) { try skipBlockComment(); continue }
                    if try readDelimiterCommand() { continue }
                    if matchesDelimiter(index) { index += delimiter.count; continue }  // an empty statement
                    start = index
                    startLine = line
                }
                if matchesDelimiter(index) {
                    finishStatement(at: index)
                    index += delimiter.count
                    continue
                }
                switch current {
                case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                    try skipQuoted()
                case UInt8(ascii: "#"):
                    skipToEndOfLine()
                case UInt8(ascii: "-") where isDashComment(index):
                    skipToEndOfLine()
                case UInt8(ascii: "/") where byte(at: index + 1) == UInt8(ascii: "*"):
                    try skipBlockComment()
                default:
                    advance()
                }
            }
            finishStatement(at: bytes.count)
            return result
        }
    }
}
