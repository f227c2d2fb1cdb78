// ResultBuffers: the memory a result is fetched into, and its conversion to SQLValue.
import CMariaDB

/// The bind array, length/null/error indicators and value buffers for one result, in
/// one allocation that lives while the result is read.
struct ResultBuffers {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private let errors: UnsafeMutablePointer<my_bool>
    private let slots: [UnsafeMutableRawPointer]
    private let slotSizes: [Int]
    private let block: UnsafeMutableRawPointer

    init(columns: [ResultColumn]) {
        let count = columns.count
        // Layout: binds | lengths | value slots (each 8-aligned) | nulls | errors.
        let bindBytes = count * MemoryLayout<MYSQL_BIND>.stride
        let lengthBytes = count * MemoryLayout<UInt>.stride
        var offset = Self.align(bindBytes + lengthBytes)
        var slotOffsets: [Int] = []
        slotOffsets.reserveCapacity(count)
        for column in columns {
            slotOffsets.append(offset)
            offset = Self.align(offset + column.slotSize)
        }
        let nullsOffset = offset
        let errorsOffset = nullsOffset + count
        let total = errorsOffset + count

        let block = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 16)
        block.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        self.block = block
        binds = block.bindMemory(to: MYSQL_BIND.self, capacity: count)
        lengths = (block + bindBytes).bindMemory(to: UInt.self, capacity: count)
        nulls = (block + nullsOffset).bindMemory(to: my_bool.self, capacity: count)
        errors = (block + errorsOffset).bindMemory(to: my_bool.self, capacity: count)
        slots = slotOffsets.map { block + $0 }
        slotSizes = columns.map(\.slotSize)

        for (index, column) in columns.enumerated() {
            var bind = MYSQL_BIND()
            bind.buffer = slots[index]
            bind.buffer_length = UInt(column.slotSize)
            bind.length = lengths + index
            bind.is_null = nulls + index
            bind.error = errors + index
            switch column.kind {
            case .signed:
                bind.buffer_type = MYSQL_TYPE_LONGLONG
            case .unsigned:
                bind.buffer_type = MYSQL_TYPE_LONGLONG
                bind.is_unsigned = 1
            case .float:
                bind.buffer_type = MYSQL_TYPE_FLOAT
            case .double:
                bind.buffer_type = MYSQL_TYPE_DOUBLE
            case .temporal:
                // Same type as the column: the library fills a MYSQL_TIME.
                bind.buffer_type = column.type
            case .bit, .text, .binary:
                // BLOB copies bytes as they are (embedded NULs included).
                bind.buffer_type = MYSQL_TYPE_BLOB
            }
            binds[index] = bind
        }
    }

    func deallocate() { block.deallocate() }

    private static func align(_ offset: Int) -> Int { (offset + 7) & ~7 }

    /// The value of column `index` in the row just fetched.
    func value(
        at index: Int, of column: ResultColumn, stmt: UnsafeMutablePointer<MYSQL_STMT>, sql: String
    ) throws -> SQLValue {
        if nulls[index] != 0 { return .null }
        let slot = slots[index]
        switch column.kind {
        case .signed:
            return .int(slot.load(as: Int64.self))
        case .unsigned:
            let number = slot.load(as: UInt64.self)
            return number <= UInt64(Int64.max) ? .int(Int64(number)) : .uint(number)
        case .double:
            return .double(slot.load(as: Double.self))
        case .float:
            return .double(Self.decodeFloat(slot.load(as: Float.self)))
        case .temporal:
            let time = slot.load(as: MYSQL_TIME.self)
            return .string(TemporalFormat.string(time, type: column.type, decimals: column.decimals))
        case .bit, .text, .binary:
            let length = Int(clamping: lengths[index])
            if errors[index] != 0 || length > slotSizes[index] {
                // Did not fit in the slot: read this value alone into its own buffer.
                let bytes = try refetch(index, length: length, stmt: stmt, sql: sql)
                return Self.decodeBytes(bytes, kind: column.kind)
            }
            let raw = UnsafeRawBufferPointer(start: slot, count: length)
            switch column.kind {
            case .text: return .string(String(decoding: raw, as: UTF8.self))
            case .bit: return Self.decodeBit(raw)
            default: return .bytes(Array(raw))
            }
        }
    }

    private func refetch(
        _ index: Int, length: Int, stmt: UnsafeMutablePointer<MYSQL_STMT>, sql: String
    ) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(length, 1))
        var actualLength: UInt = 0
        var isNull: my_bool = 0
        var truncated: my_bool = 0
        let status = bytes.withUnsafeMutableBytes { buffer in
            withUnsafeMutablePointer(to: &actualLength) { lengthPointer in
                withUnsafeMutablePointer(to: &isNull) { nullPointer in
                    withUnsafeMutablePointer(to: &truncated) { errorPointer in
                        var bind = MYSQL_BIND()
                        bind.buffer_type = MYSQL_TYPE_BLOB
                        bind.buffer = buffer.baseAddress
                        bind.buffer_length = UInt(buffer.count)
                        bind.length = lengthPointer
                        bind.is_null = nullPointer
                        bind.error = errorPointer
                        return mysql_stmt_fetch_column(stmt, &bind, UInt32(index), 0)
                    }
                }
            }
        }
        if status != 0 { throw DBError(statement: stmt, sql: sql) }
        return Array(bytes.prefix(min(length, Int(clamping: actualLength))))
    }

    private static func decodeBytes(_ bytes: [UInt8], kind: ColumnKind) -> SQLValue {
        switch kind {
        case .text: return .string(String(decoding: bytes, as: UTF8.self))
        case .bit: return bytes.withUnsafeBytes { decodeBit($0) }
        default: return .bytes(bytes)
        }
    }

    /// BIT(n) arrives as up to 8 big-endian bytes.
    private static func decodeBit(_ raw: UnsafeRawBufferPointer) -> SQLValue {
        var number: UInt64 = 0
        for byte in raw.suffix(8) { number = number << 8 | UInt64(byte) }
        return number <= UInt64(Int64.max) ? .int(Int64(number)) : .uint(number)
    }

    /// A FLOAT column holds a 32-bit float; widening it bit-for-bit would turn the 0.1 a
    /// user stored into 0.10000000149011612. Going through Float's shortest decimal form
    /// gives the value the mysql command line prints.
    private static func decodeFloat(_ value: Float) -> Double {
        Double(value.description) ?? Double(value)
    }
}
