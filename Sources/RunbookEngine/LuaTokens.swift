// A Lua 5.4 tokenizer for `runbook check`'s static findings: names, strings, numbers and
// symbols with their line numbers; comments and whitespace dropped. It never fails: the
// file has already been compiled by Lua when it is used, so odd input only needs to end.

package struct LuaToken: Equatable {
    package enum Kind: Equatable { case name, string, number, symbol }
    package var kind: Kind
    /// The name or symbol; a string literal's content without its quotes.
    package var text: String
    package var line: Int

    package func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }
    package func isName(_ name: String) -> Bool { kind == .name && text == name }
}

package enum LuaTokens {
    package static func tokenize(_ source: String) -> [LuaToken] {
        let bytes = Array(source.utf8)
        var tokens: [LuaToken] = []
        var index = 0
        var line = 1

        func byte(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        func isNameByte(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == 95 || b >= 128 }
        func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        /// `[[`, `[==[`: the level, or nil when not a long bracket.
        func longBracketLevel() -> Int? {
            guard byte(0) == UInt8(ascii: "[") else { return nil }
            var level = 0
            while byte(1 + level) == UInt8(ascii: "=") { level += 1 }
            return byte(1 + level) == UInt8(ascii: "[") ? level : nil
        }
        /// Skips a long bracket of `level` from its opening; returns its content.
        func skipLong(_ level: Int) -> String {
            index += level + 2
            let start = index
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "]") {
                    var equals = 0
                    while byte(1 + equals) == UInt8(ascii: "=") { equals += 1 }
                    if equals == level, byte(1 + equals) == UInt8(ascii: "]") {
                        let content = String(decoding: bytes[start..<index], as: UTF8.self)
                        index += level + 2
                        return content
                    }
                }
                if bytes[index] == 10 { line += 1 }
                index += 1
            }
            return String(decoding: bytes[start..<bytes.count], as: UTF8.self)
        }

        while index < bytes.count {
            let b = bytes[index]
            if b == 10 { line += 1; index += 1; continue }
            if b == 32 || b == 9 || b == 13 || b == 11 || b == 12 { index += 1; continue }
            // Comments: `--[[ ... ]]` or to the end of the line.
            if b == UInt8(ascii: "-"), byte(1) == UInt8(ascii: "-") {
                index += 2
                if let level = longBracketLevel() {
                    _ = skipLong(level)
                } else {
                    while index < bytes.count, bytes[index] != 10 { index += 1 }
                }
                continue
            }
            if isNameByte(b), !isDigit(b) {
                let start = index
                while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
                tokens.append(LuaToken(kind: .name, text: String(decoding: bytes[start..<index], as: UTF8.self), line: line))
                continue
            }
            if isDigit(b) || (b == UInt8(ascii: ".") && byte(1).map(isDigit) == true) {
                let start = index
                while index < bytes.count {
                    let c = bytes[index]
                    if isNameByte(c) || c == UInt8(ascii: ".") {
                        index += 1
                    } else if (c == UInt8(ascii: "+") || c == UInt8(ascii: "-")),
                              [UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "p"), UInt8(ascii: "P")].contains(bytes[index - 1]) {
                        index += 1
                    } else {
                        break
                    }
                }
                tokens.append(LuaToken(kind: .number, text: String(decoding: bytes[start..<index], as: UTF8.self), line: line))
                continue
            }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                let startLine = line
                index += 1
                var content: [UInt8] = []
                while index < bytes.count, bytes[index] != b {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                        if bytes[index + 1] == 10 { line += 1 }
                        content.append(bytes[index + 1])
                        index += 2
                        continue
                    }
                    if bytes[index] == 10 { break }
                    content.append(bytes[index])
                    index += 1
                }
                index += 1
                tokens.append(LuaToken(kind: .string, text: String(decoding: content, as: UTF8.self), line: startLine))
                continue
            }
            if let level = longBracketLevel() {
                let startLine = line
                tokens.append(LuaToken(kind: .string, text: skipLong(level), line: startLine))
                continue
            }
            // Symbols: the longest of `...`, two-character operators, or one character.
            let three = index + 3 <= bytes.count ? String(decoding: bytes[index..<(index + 3)], as: UTF8.self) : ""
            let two = index + 2 <= bytes.count ? String(decoding: bytes[index..<(index + 2)], as: UTF8.self) : ""
            let symbol: String
            if three == "..." {
                symbol = three
            } else if ["..", "==", "~=", "<=", ">=", "::", "//", "<<", ">>"].contains(two) {
                symbol = two
            } else {
                symbol = String(decoding: [b], as: UTF8.self)
            }
            tokens.append(LuaToken(kind: .symbol, text: symbol, line: line))
            index += symbol.utf8.count
        }
        return tokens
    }
}
