// TemporalFormat: prints DATE/TIME/DATETIME/TIMESTAMP values the way MySQL itself does.
import CMariaDB

/// Formats a `MYSQL_TIME` as the text protocol (and the mysql command line) would show
/// it: `2024-05-01`, `2024-05-01 13:45:00`, `-838:59:59`, with exactly as many
/// fractional digits as the column declares (DATETIME(3) -> `.123`).
enum TemporalFormat {
    static func string(_ time: MYSQL_TIME, type: enum_field_types, decimals: UInt32) -> String {
        var text = ""
        if type == MYSQL_TYPE_DATE {
            appendDate(time, to: &text)
            return text
        }
        if type == MYSQL_TYPE_TIME {
            if time.neg != 0 { text += "-" }
            // The library folds days into hours for TIME ("100:00:00" is valid); fold
            // them here too in case an older library did not.
            let hours = UInt(time.hour) + UInt(time.day) * 24
            append(hours, width: 2, to: &text)
        } else {
            appendDate(time, to: &text)
            text += " "
            append(UInt(time.hour), width: 2, to: &text)
        }
        text += ":"
        append(UInt(time.minute), width: 2, to: &text)
        text += ":"
        append(UInt(time.second), width: 2, to: &text)
        appendFraction(UInt(time.second_part), decimals: decimals, to: &text)
        return text
    }

    private static func appendDate(_ time: MYSQL_TIME, to text: inout String) {
        append(UInt(time.year), width: 4, to: &text)
        text += "-"
        append(UInt(time.month), width: 2, to: &text)
        text += "-"
        append(UInt(time.day), width: 2, to: &text)
    }

    /// `microseconds` printed with `decimals` digits (0-6). A declared scale above 6
    /// (an expression without a fixed scale) prints all 6 digits, but only when there is
    /// a fraction at all.
    private static func appendFraction(_ microseconds: UInt, decimals: UInt32, to text: inout String) {
        var digits = Int(decimals)
        if digits > 6 { digits = microseconds == 0 ? 0 : 6 }
        guard digits > 0 else { return }
        var value = min(microseconds, 999_999)
        for _ in digits..<6 { value /= 10 }
        text += "."
        append(value, width: digits, to: &text)
    }

    /// Decimal digits of `value`, left-padded with zeros to `width`.
    private static func append(_ value: UInt, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width {
            text += String(repeating: "0", count: width - digits.count)
        }
        text += digits
    }
}
