// Reads a journal back: every record, or only the kinds a reader asks for.

import RunbookSupport

/// Reads a journal back (for undo, log and history).
public enum JournalReader {
    /// Every record, or (`types`) only records of those types: a line starting with
    /// `{"t":"OTHER"` (as every line the writer makes does) is then not parsed at all.
    /// With `keys`, each record keeps only those fields (and "t").
    public static func records(_ path: String, types: Set<JournalRecordKind>? = nil, keys: Set<String>? = nil) throws -> [JSON] {
        var records: [JSON] = []
        try forEach(path, types: types, keys: keys) { records.append($0) }
        return records
    }

    /// Hands each record (as `records` would return them) to `body` as it is parsed, so
    /// a reader that keeps only a little of each (undo) never holds them all.
    public static func forEach(_ path: String, types kinds: Set<JournalRecordKind>? = nil, keys: Set<String>? = nil,
                               _ body: (JSON) -> Void) throws {
        let types = kinds.map { Set($0.map(\.rawValue)) }
        // The file's bytes as they are, split on newlines and parsed in place, not turned
        // into a String split by Characters (which cost `runbook undo` more than undoing). Strings
        // in records decode as before (invalid UTF-8 becomes U+FFFD); a journal line never
        // holds a raw newline or carriage return (the writer escapes them).
        let bytes = try Posix.readFile(path)
        let keys = keys.map { Array($0.union(["t"])) }
        let prefix = Array(#"{"t":""#.utf8)
        bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            var start = 0
            while start < all.count {
                var end = all.count
                if let newline = memchr(base + start, 0x0a, all.count - start) {
                    end = UnsafeRawPointer(newline) - UnsafeRawPointer(base)
                }
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                if end > start, types == nil || wanted(line) {
                    // A torn last line (killed mid-write) is ignored; everything before it counts.
                    if let record = try? JSON.parse(utf8: line, keys: keys),
                       types == nil || (record["t"]?.stringValue).map({ types!.contains($0) }) == true
                    {
                        body(record)
                    }
                }
                start = end + 1
            }
        }

        /// False only for a line that plainly names a type not asked for.
        func wanted(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let types, line.starts(with: prefix) else { return true }
            let rest = line[prefix.count...]
            guard let quote = rest.firstIndex(of: UInt8(ascii: "\"")) else { return true }
            let type = rest[rest.startIndex..<quote]
            // An escaped type is left to the parser.
            if type.contains(UInt8(ascii: "\\")) { return true }
            return types.contains(String(decoding: type, as: UTF8.self))
        }
    }
}

extension JSON {
    /// The kind of a journal record ("t"); nil for a kind this binary does not know.
    public var recordKind: JournalRecordKind? { self["t"]?.stringValue.flatMap(JournalRecordKind.init(rawValue:)) }
}
