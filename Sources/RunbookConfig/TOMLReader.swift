// The engine's configuration is TOML 1.0 (https://toml.io/en/v1.0.0): this reader takes
// every valid document and refuses every invalid one with the file, the line and what is
// wrong — a config read wrongly (a CRLF file read as one comment, a table defined twice
// merged) sends a run into the wrong root. Values come out as JSON: tables as objects in
// file order, dates and times as their text. Values are read in TOMLValues.swift.

import RunbookSupport

public enum TOMLReader {
    public struct ParseError: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var problem: String
        public var description: String { "\(file):\(line): \(problem)" }
    }

    /// Parses TOML text into a JSON object (tables become objects).
    public static func parse(_ text: String, file: String) throws -> JSON {
        var document = Document(bytes: Array(text.utf8), file: file)
        try document.parse()
        return document.root.json
    }

    /// The document in the tagged JSON of the TOML test suites: every scalar as
    /// `{"type": "integer", "value": "1"}` (string, integer, float, bool, datetime,
    /// datetime-local, date-local, time-local), tables and arrays as themselves.
    public static func parseTagged(_ text: String, file: String) throws -> JSON {
        var document = Document(bytes: Array(text.utf8), file: file)
        try document.parse()
        return document.root.tagged
    }
}

/// A table while the document is read: how it came to be decides what may still add to it.
package final class TOMLTable {
    package enum Origin: Equatable {
        /// Made as the parent of a header or dotted key: a later header may define it.
        case implicit
        /// Defined by a `[header]`.
        case header
        /// Made by dotted keys in the section numbered so: only that section may add to it.
        case dotted(section: Int)
        /// An inline table `{ ... }`: complete as written.
        case inline
    }

    package var origin: Origin
    package private(set) var keys: [String] = []
    private var values: [String: TOMLNode] = [:]

    package init(_ origin: Origin) { self.origin = origin }

    package subscript(key: String) -> TOMLNode? { values[key] }

    package func insert(_ key: String, _ node: TOMLNode) {
        if values[key] == nil { keys.append(key) }
        values[key] = node
    }

    package var json: JSON { .object(keys.map { ($0, values[$0]!.json) }) }
    package var tagged: JSON { .object(keys.map { ($0, values[$0]!.tagged) }) }
}

/// A value while the document is read.
package enum TOMLNode {
    case value(JSON)
    /// A date or time: its text and its TOML type (datetime, datetime-local, ...).
    case date(String, kind: String)
    case table(TOMLTable)
    /// An array written as a value (`[1, 2]`): complete as written.
    case array([TOMLNode])
    /// An array of tables (`[[name]]`), appended to by each header.
    case tables(TOMLTableArray)

    package var json: JSON {
        switch self {
        case .value(let value): return value
        case .date(let text, _): return .string(text)
        case .table(let table): return table.json
        case .array(let items): return .array(items.map(\.json))
        case .tables(let array): return .array(array.tables.map(\.json))
        }
    }

    package var tagged: JSON {
        func tag(_ type: String, _ value: String) -> JSON { .object([("type", .string(type)), ("value", .string(value))]) }
        switch self {
        case .value(.string(let text)): return tag("string", text)
        case .value(.int(let number)): return tag("integer", String(number))
        case .value(.double(let number)):
            return tag("float", number.isNaN ? "nan" : number.isInfinite ? (number < 0 ? "-inf" : "inf") : "\(number)")
        case .value(.bool(let flag)): return tag("bool", flag ? "true" : "false")
        case .value(let other): return other
        case .date(let text, let kind): return tag(kind, text)
        case .table(let table): return table.tagged
        case .array(let items): return .array(items.map(\.tagged))
        case .tables(let array): return .array(array.tables.map(\.tagged))
        }
    }
}

package final class TOMLTableArray {
    package var tables: [TOMLTable] = []
}

/// The document grammar: expressions one per line — a key/value pair, a `[table]` or an
/// `[[array.of.tables]]` header — with comments and blank lines between.
package struct Document {
    package var reader: TOMLScanner
    package let root = TOMLTable(.header)
    private var current: TOMLTable
    private var section = 0

    package init(bytes: [UInt8], file: String) {
        reader = TOMLScanner(bytes: bytes, file: file)
        current = root
    }

    package mutating func parse() throws {
        if reader.bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw reader.error("the file starts with a byte order mark: save it as UTF-8 without one")
        }
        try reader.checkUTF8()
        while !reader.atEnd {
            reader.skipWhitespace()
            guard let byte = reader.peek else { break }
            if byte == UInt8(ascii: "[") {
                try header()
            } else if !reader.isLineEnd(byte) && byte != UInt8(ascii: "#") {
                try keyValue(into: current, section: section)
            }
            try reader.endOfLine()
        }
    }

    // MARK: Headers

    private mutating func header() throws {
        reader.index += 1
        let isArray = reader.peek == UInt8(ascii: "[")
        if isArray { reader.index += 1 }
        reader.skipWhitespace()
        let key = try reader.key()
        reader.skipWhitespace()
        try reader.expect("]", "a table header ends with ']'")
        if isArray { try reader.expect("]", "an array-of-tables header ends with ']]'") }
        section += 1
        let parent = try walk(key.dropLast(), creating: .implicit, forHeader: true)
        let name = key[key.count - 1]
        let shown = key.joined(separator: ".")
        if isArray {
            switch parent[name] {
            case nil:
                let array = TOMLTableArray()
                parent.insert(name, .tables(array))
                current = append(to: array)
            case .tables(let array):
                current = append(to: array)
            default:
                throw reader.error("\(ArgumentValidator.quoted(shown)) is already defined and is not an array of tables")
            }
            return
        }
        switch parent[name] {
        case nil:
            let table = TOMLTable(.header)
            parent.insert(name, .table(table))
            current = table
        case .table(let table) where table.origin == .implicit:
            table.origin = .header
            current = table
        case .table:
            throw reader.error("table \(ArgumentValidator.quoted(shown)) is defined twice")
        default:
            throw reader.error("\(ArgumentValidator.quoted(shown)) is already defined and is not a table")
        }
    }

    private func append(to array: TOMLTableArray) -> TOMLTable {
        let table = TOMLTable(.header)
        array.tables.append(table)
        return table
    }

    /// The table at `path` below the root, made where missing. A header walks through the last
    /// table of an array of tables; dotted keys may only enter tables their own section made.
    private func walk(_ path: ArraySlice<String>, from start: TOMLTable? = nil, creating origin: TOMLTable.Origin,
                      forHeader: Bool) throws -> TOMLTable
    {
        var table = start ?? root
        var walked: [String] = []
        for name in path {
            walked.append(name)
            switch table[name] {
            case nil:
                let made = TOMLTable(origin)
                table.insert(name, .table(made))
                table = made
            case .table(let next):
                if next.origin == .inline { throw reader.error("inline table \(ArgumentValidator.quoted(walked.joined(separator: "."))) cannot be extended") }
                if !forHeader {
                    switch next.origin {
                    case .implicit: next.origin = origin
                    case .dotted(let made) where made == section: break
                    default:
                        throw reader.error("table \(ArgumentValidator.quoted(walked.joined(separator: "."))) is defined elsewhere; dotted keys cannot add to it")
                    }
                }
                table = next
            case .tables(let array) where forHeader:
                guard let last = array.tables.last else { throw reader.error("\(ArgumentValidator.quoted(walked.joined(separator: "."))) is empty") }
                table = last
            default:
                throw reader.error("\(ArgumentValidator.quoted(walked.joined(separator: "."))) is already a value, not a table")
            }
        }
        return table
    }

    // MARK: Key/value pairs

    /// `key = value` into `table` (dotted keys make or enter sub-tables of `section`).
    package mutating func keyValue(into table: TOMLTable, section: Int) throws {
        let key = try reader.key()
        reader.skipWhitespace()
        try reader.expect("=", "expected '=' after the key \(ArgumentValidator.quoted(key.joined(separator: ".")))")
        reader.skipWhitespace()
        let value = try self.value()
        let parent = try walk(key.dropLast(), from: table, creating: .dotted(section: section), forHeader: false)
        let name = key[key.count - 1]
        guard parent[name] == nil else { throw reader.error("key \(ArgumentValidator.quoted(key.joined(separator: "."))) is defined twice") }
        parent.insert(name, value)
    }

    package mutating func value() throws -> TOMLNode {
        switch reader.peek {
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "{"): return try inlineTable()
        default: return try reader.scalarNode()
        }
    }

    /// `[ v, v, ... ]`: newlines and comments between values, a trailing comma allowed.
    private mutating func array() throws -> TOMLNode {
        let line = reader.line
        reader.index += 1
        var items: [TOMLNode] = []
        while true {
            try reader.skipBlankAndComments()
            guard let byte = reader.peek else { throw reader.error("the array opened on line \(line) is not closed") }
            if byte == UInt8(ascii: "]") {
                reader.index += 1
                return .array(items)
            }
            try reader.nest()
            items.append(try value())
            reader.unnest()
            try reader.skipBlankAndComments()
            if reader.peek == UInt8(ascii: ",") {
                reader.index += 1
            } else if reader.peek != UInt8(ascii: "]") {
                throw reader.error("expected ',' or ']' in the array opened on line \(line)")
            }
        }
    }

    /// `{ k = v, k.k = v }`: on one line, no trailing comma, complete as written.
    private mutating func inlineTable() throws -> TOMLNode {
        reader.index += 1
        let table = TOMLTable(.inline)
        // Its dotted keys belong to it alone: a section number no header uses.
        section += 1_000_000
        defer { section -= 1_000_000 }
        let own = section
        reader.skipWhitespace()
        if reader.peek == UInt8(ascii: "}") {
            reader.index += 1
            return .table(table)
        }
        try reader.nest()
        defer { reader.unnest() }
        while true {
            reader.skipWhitespace()
            try keyValue(into: table, section: own)
            reader.skipWhitespace()
            guard let byte = reader.peek else { throw reader.error("an inline table is not closed") }
            if byte == UInt8(ascii: "}") {
                reader.index += 1
                freeze(table)
                return .table(table)
            }
            guard byte == UInt8(ascii: ",") else {
                throw reader.error(reader.isLineEnd(byte) ? "an inline table must be on one line" : "expected ',' or '}' in an inline table")
            }
            reader.index += 1
        }
    }

    /// An inline table and the tables its dotted keys made are complete as written.
    private func freeze(_ table: TOMLTable) {
        table.origin = .inline
        for key in table.keys { if case .table(let inner)? = table[key] { freeze(inner) } }
    }
}
