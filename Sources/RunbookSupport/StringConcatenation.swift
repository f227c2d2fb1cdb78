// Joining a few strings into one, made to size in one allocation: String's `+`, `+=` and
// interpolation grow the result part by part, and every effect makes a summary and a
// console line this way.

extension String {
    /// `parts` one after another.
    package static func concatenating(_ parts: String...) -> String {
        var count = 0
        for part in parts { count += part.utf8.count }
        return String(unsafeUninitializedCapacity: count) { buffer in
            var offset = 0
            for part in parts {
                let copied = part.utf8.withContiguousStorageIfAvailable { bytes in
                    UnsafeMutableBufferPointer(rebasing: buffer[offset...]).initialize(fromContentsOf: bytes)
                }
                offset += copied ?? UnsafeMutableBufferPointer(rebasing: buffer[offset...]).initialize(fromContentsOf: part.utf8)
            }
            return offset
        }
    }
}
