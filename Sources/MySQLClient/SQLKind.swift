// SQLKind: tells read-only SQL (safe to run twice) from the rest, by its first keyword.

/// Classifies SQL text by its first keyword, skipping leading whitespace, comments and
/// parentheses.
enum SQLKind {
    private static let readOnlyKeywords: Set<String> = ["SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"]

    /// True for statements that only read (SELECT, SHOW, DESCRIBE, EXPLAIN).
    static func isReadOnly(_ sql: String) -> Bool {
        readOnlyKeywords.contains(firstKeyword(sql))
    }

    static func firstKeyword(_ sql: String) -> String {
        let bytes = Array(sql.utf8.prefix(4096))
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "(")
            {
                index += 1
            } else if byte == UInt8(ascii: "#")
                || (byte == UInt8(ascii: "-") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"))
            {
                // Line comment: skip to the end of the line.
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else if byte == UInt8(ascii: "/") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*") {
                // A version comment (/*! ... */, /*M! ... */) is executable SQL: unknown.
                if index + 2 < bytes.count && (bytes[index + 2] == UInt8(ascii: "!") || bytes[index + 2] == UInt8(ascii: "M")) {
                    return ""
                }
                index += 2
                while index + 1 < bytes.count
                    && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/"))
                {
                    index += 1
                }
                index += 2
            } else {
                break
            }
        }
        var keyword = ""
        while index < bytes.count {
            let byte = bytes[index]
            let isLetter = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            guard isLetter else { break }
            keyword.append(Character(Unicode.Scalar(byte & ~0x20)))  // ASCII upper case
            index += 1
        }
        return keyword
    }
}
