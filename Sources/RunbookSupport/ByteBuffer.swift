// The bytes of a journal record or a JSON text as they are written: a growable buffer
// written through a pointer. Array<UInt8> checks that it is uniquely referenced and has room,
// through generic code, at every append, and an effect's intent appends a dozen short
// strings. Here room is checked
// once per piece and a piece is one copy.

package final class ByteBuffer {
    package private(set) var base: UnsafeMutablePointer<UInt8>
    package private(set) var count = 0
    private var capacity: Int

    package init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written so far; valid until the next append or `removeAll`.
    package var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
    package var isEmpty: Bool { count == 0 }
    package var array: [UInt8] { Array(bytes) }
    package var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Forgets the bytes, keeps the room.
    package func removeAll() { count = 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    package func reserve(_ extra: Int) {
        if capacity - count < extra { grow(to: count + extra) }
    }

    @inline(never)
    private func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    package func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    package func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends the UTF-8 bytes of a literal.
    package func append(literal: StaticString) { literal.withUTF8Buffer { append($0) } }

    package func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    package func append(_ other: ByteBuffer) { append(other.bytes) }

    package func append(utf8 text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }
}
