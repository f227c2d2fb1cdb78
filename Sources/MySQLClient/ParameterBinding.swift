// ParameterBinding: the MYSQL_BIND array and data buffer that carry `?` values to libmariadb.
import CMariaDB

/// Owns, for one prepared statement, the parameter bind array and one growable data
/// buffer. Both are allocated once and reused by every execution, so a hot INSERT
/// through the statement cache does no allocation here after the first call (the
/// buffer only grows when a call needs more room than any call before it).
///
/// Layout of the data buffer for n parameters: n 8-byte slots for numeric values
/// (Int64/UInt64/Double, naturally aligned), then the bytes of the string and blob
/// values, back to back.
final class ParameterBinding {
    let count: Int
    private let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let lengths: UnsafeMutablePointer<UInt>
    private var data: UnsafeMutableRawPointer
    private var capacity: Int

    init(count: Int) {
        self.count = count
        // At least one element, so the pointers are valid even for count 0.
        binds = .allocate(capacity: max(count, 1))
        binds.initialize(repeating: MYSQL_BIND(), count: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        lengths.initialize(repeating: 0, count: max(count, 1))
        capacity = max(count * 8, 64)
        data = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit {
        binds.deallocate()
        lengths.deallocate()
        data.deallocate()
    }

    /// Fills the bind array from `values` (which must have `count` elements) and returns
    /// it for `mysql_stmt_bind_param`. The pointers stay valid until the next call.
    func bind(_ values: [SQLValue]) -> UnsafeMutablePointer<MYSQL_BIND> {
        ensureCapacity(for: values)
        var variableOffset = count * 8
        for (index, value) in values.enumerated() {
            let slot = data + index * 8
            let type: enum_field_types
            var buffer: UnsafeMutableRawPointer? = slot
            let length: Int
            var bind = MYSQL_BIND()
            switch value {
            case .null:
                (type, buffer, length) = (MYSQL_TYPE_NULL, nil, 0)
            case .int(let number):
                slot.storeBytes(of: number, as: Int64.self)
                (type, length) = (MYSQL_TYPE_LONGLONG, 8)
            case .uint(let number):
                slot.storeBytes(of: number, as: UInt64.self)
                (type, length) = (MYSQL_TYPE_LONGLONG, 8)
                bind.is_unsigned = 1
            case .double(let number):
                slot.storeBytes(of: number, as: Double.self)
                (type, length) = (MYSQL_TYPE_DOUBLE, 8)
            case .string(let text):
                // The connection character set is utf8mb4, so UTF-8 bytes go as they are.
                buffer = data + variableOffset
                (type, length) = (MYSQL_TYPE_STRING, Self.copyUTF8(of: text, to: data + variableOffset))
                variableOffset += length
            case .bytes(let bytes):
                let target = data + variableOffset
                bytes.withUnsafeBytes { source in
                    if let base = source.baseAddress, source.count > 0 {
                        target.copyMemory(from: base, byteCount: source.count)
                    }
                }
                buffer = target
                (type, length) = (MYSQL_TYPE_BLOB, bytes.count)
                variableOffset += length
            }
            bind.buffer_type = type
            bind.buffer = buffer
            bind.buffer_length = UInt(length)
            bind.length = lengths + index
            lengths[index] = UInt(length)
            binds[index] = bind
        }
        return binds
    }

    /// Grows the data buffer (never shrinks it) to hold every value of this call.
    private func ensureCapacity(for values: [SQLValue]) {
        var needed = count * 8
        for value in values {
            switch value {
            case .string(let text): needed += text.utf8.count
            case .bytes(let bytes): needed += bytes.count
            default: break
            }
        }
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity * 2)
        data.deallocate()
        data = .allocate(byteCount: newCapacity, alignment: 8)
        capacity = newCapacity
    }

    /// Copies a string's UTF-8 bytes (embedded NULs included) and returns how many.
    private static func copyUTF8(of text: String, to target: UnsafeMutableRawPointer) -> Int {
        let copied: Int? = text.utf8.withContiguousStorageIfAvailable { source in
            if let base = source.baseAddress, source.count > 0 {
                target.copyMemory(from: base, byteCount: source.count)
            }
            return source.count
        }
        if let copied { return copied }
        // Non-contiguous (bridged) strings: byte by byte.
        var offset = 0
        for byte in text.utf8 {
            target.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
        return offset
    }
}
