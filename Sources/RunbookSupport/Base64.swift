// Bytes as base64 text (RFC 4648), for file contents carried inside JSON lines.

public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(value >> 6 & 63)] : 61)
            out.append(61)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `text` is not base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var value: UInt32 = 0, bits = 0
        for byte in text.utf8 {
            let digit: UInt32
            switch byte {
            case 65...90: digit = UInt32(byte - 65)
            case 97...122: digit = UInt32(byte - 71)
            case 48...57: digit = UInt32(byte + 4)
            case 43: digit = 62
            case 47: digit = 63
            case 61: continue
            default: return nil
            }
            value = value << 6 | digit
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(value >> UInt32(bits) & 0xff))
            }
        }
        return out
    }
}
