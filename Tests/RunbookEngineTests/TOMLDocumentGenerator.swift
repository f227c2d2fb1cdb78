// A seeded generator of TOML documents for the differential test against tomllib: keys
// (bare, quoted, dotted), every kind of value, tables, arrays of tables, inline tables,
// comments and CRLF lines; and random one-character changes that make most of them invalid.

struct TOMLDocumentGenerator {
    var state: UInt64

    mutating func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }

    mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }

    mutating func key() -> String {
        switch next(6) {
        case 0: return "\"" + pick(["a b", "é", "1.2", "", #"tab\t"#, #"q\""#]) + "\""
        case 1: return "'" + pick(["lit", "a.b", "x y"]) + "'"
        case 2: return pick(["k", "key"]) + String(next(5)) + "." + pick(["x", "y", "z"])
        default: return pick(["alpha", "beta", "g-1", "d_2", "1234", "true", "inf"]) + String(next(9))
        }
    }

    mutating func scalar(depth: Int) -> String {
        switch next(depth > 2 ? 12 : 14) {
        case 0: return String(next(100_000) - 50_000)
        case 1: return pick(["0x", "0o", "0b"]) + pick(["1", "1_0", "0"])
        case 2: return pick(["1_000", "+17", "-0", "9223372036854775807", "-9223372036854775808"])
        case 3: return pick(["3.14", "-0.5", "1e10", "6.02E+23", "1_0.0_1", "inf", "-inf", "+nan", "0.0"])
        case 4: return pick(["true", "false"])
        case 5: return "\"" + pick(["plain", #"é\u00e9"#, #"\U0001F600"#, #"\t\n\\"#, "# not a comment", ""]) + "\""
        case 6: return "'" + pick([#"C:\x"#, "a \"q\"", "#"]) + "'"
        case 7: return "\"\"\"\n" + pick(["one\ntwo", "a \\\n   b", "q\"\"q"]) + "\"\"\""
        case 8: return "'''" + pick(["raw\nlines", "\nstart", "x''"]) + "'''"
        case 9: return pick(["1979-05-27T07:32:00Z", "1979-05-27 07:32:00.5", "1979-05-27", "07:32:00", "2024-02-29T00:00:00-05:30"])
        case 10: return pick(["[]", "[1, 2, 3]", "[\"a\", 'b',]", "[\n  1, # c\n  2\n]"])
        case 11: return "{ " + pick(["", "a = 1", "a.b = 2, c = 'x'", "n = { m = [1] }"]) + " }"
        case 12: return "[" + scalar(depth: depth + 1) + ", " + scalar(depth: depth + 1) + "]"
        default: return "{ in\(next(9)) = " + scalar(depth: depth + 1) + " }"
        }
    }

    mutating func document() -> String {
        var lines: [String] = []
        var used = Set<String>()
        for _ in 0..<(1 + next(4)) { pair(into: &lines, used: &used) }
        for table in 0..<next(3) {
            lines.append(next(3) == 0 ? "[[list\(table)]]" : "[section\(table)." + pick(["a", "\"b c\""]) + "]" + pick(["", " # header"]))
            used.removeAll()
            for _ in 0..<(1 + next(3)) { pair(into: &lines, used: &used) }
        }
        return lines.joined(separator: next(4) == 0 ? "\r\n" : "\n") + "\n"
    }

    /// A key = value line whose key (and its first part) the section has not used.
    private mutating func pair(into lines: inout [String], used: inout Set<String>) {
        let name = key()
        let first = String(name.split(separator: ".").first ?? "")
        guard !used.contains(name), !used.contains(first) else { return }
        used.insert(name)
        used.insert(first)
        lines.append("\(name) = \(scalar(depth: 0))")
    }

    /// The document with one random change: a character removed, doubled or replaced.
    mutating func mutate(_ document: String) -> String {
        var characters = Array(document)
        guard !characters.isEmpty else { return document }
        let at = next(characters.count)
        switch next(3) {
        case 0: characters.remove(at: at)
        case 1: characters.insert(characters[at], at: at)
        default: characters[at] = pick(["=", "[", "]", "\"", "'", ".", ",", "#", " ", "\n", "0", "_", "{", "}", "e", "\\"])
        }
        return String(characters)
    }
}
