// Text from the world (file names, command output, database values, the errors that
// embed them) made safe to show a person: a customer who names a file "\e]0;pwned\a" or
// "\e[2J" must not retitle or clear the operator's terminal, nor forge a line of the log.
// What a program reads (the journal, --json) stays exact JSON; this is for the console.

import RunbookSupport

public enum TerminalText {
    /// `text` with every character a terminal would act on written out instead: C0 controls
    /// and DEL as `\x1b`, C1 controls as `\x9b` (as `runbook run` shows a bad argument value),
    /// the line and paragraph separators and the bidi overrides and isolates as `\u{202e}`.
    /// `keepingLines`: newline and tab stay (a message of several lines, a traceback);
    /// otherwise they are escaped too (a file name is one line of the log). `allowingColour`:
    /// the colour codes the console paints (`ESC [ digits m`) stay; any other escape
    /// sequence is written out.
    public static func escape(_ text: String, keepingLines: Bool = false, allowingColour: Bool = false) -> String {
        if isPlain(text.utf8, keepingLines: keepingLines) { return text }
        var shown = ""
        shown.reserveCapacity(text.utf8.count + 16)
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if allowingColour, scalar == "\u{1B}", let end = colourCodeEnd(scalars, from: index) {
                shown.unicodeScalars.append(contentsOf: scalars[index...end])
                index = end + 1
                continue
            }
            append(scalar, to: &shown, keepingLines: keepingLines)
            index += 1
        }
        return shown
    }

    /// A JSON line (`--json`, `runbook log --json`) with the characters a terminal acts on
    /// that JSON leaves as they are (C1 controls, the separators, bidi overrides) written as
    /// `\u` escapes: the same JSON value, harmless on a terminal. Such characters only occur
    /// inside JSON strings, where a `\u` escape means the character itself.
    public static func jsonLine(_ line: String) -> String {
        if isPlain(line.utf8, keepingLines: false) { return line }
        var shown = ""
        shown.reserveCapacity(line.utf8.count + 16)
        for scalar in line.unicodeScalars {
            if isUnsafeAboveASCII(scalar) {
                let hex = String(scalar.value, radix: 16)
                shown += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    /// True when no byte needs a look: printable ASCII (and newline and tab when kept).
    /// Most lines are, and they pass without a copy.
    package static func isPlain(_ bytes: String.UTF8View, keepingLines: Bool) -> Bool {
        for byte in bytes where byte < 0x20 || byte >= 0x7f {
            if keepingLines && (byte == 0x0a || byte == 0x09) { continue }
            if byte >= 0x80 { return isPlainUnicode(bytes, keepingLines: keepingLines) }
            return false
        }
        return true
    }

    private static func isPlainUnicode(_ bytes: String.UTF8View, keepingLines: Bool) -> Bool {
        String(bytes).unicodeScalars.allSatisfy { scalar in
            if scalar.value < 0x20 { return keepingLines && (scalar == "\n" || scalar == "\t") }
            return scalar.value != 0x7f && !isUnsafeAboveASCII(scalar)
        }
    }

    private static func append(_ scalar: Unicode.Scalar, to shown: inout String, keepingLines: Bool) {
        let value = scalar.value
        if value < 0x20 || value == 0x7f || (0x80...0x9f).contains(value) {
            if keepingLines && (scalar == "\n" || scalar == "\t") {
                shown.unicodeScalars.append(scalar)
                return
            }
            switch scalar {
            case "\n": shown += "\\n"
            case "\t": shown += "\\t"
            case "\r": shown += "\\r"
            default: shown += "\\x" + (value < 0x10 ? "0" : "") + String(value, radix: 16)
            }
        } else if isUnsafeAboveASCII(scalar) {
            shown += "\\u{" + String(value, radix: 16) + "}"
        } else {
            shown.unicodeScalars.append(scalar)
        }
    }

    /// C1 controls (U+009B is a CSI), the line and paragraph separators (a second "line")
    /// and the bidi overrides and isolates (they reorder the rest of the line).
    package static func isUnsafeAboveASCII(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (0x80...0x9f).contains(value) || value == 0x2028 || value == 0x2029 || (0x202a...0x202e).contains(value)
            || (0x2066...0x2069).contains(value)
    }

    /// The index of the `m` ending a colour code (`ESC [ digits ; digits m`) at `start`.
    private static func colourCodeEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        guard start + 2 < scalars.count, scalars[start + 1] == "[" else { return nil }
        var index = start + 2
        while index < scalars.count, index - start < 16 {
            let scalar = scalars[index]
            if scalar == "m" { return index }
            guard (scalar.value >= 0x30 && scalar.value <= 0x39) || scalar == ";" else { return nil }
            index += 1
        }
        return nil
    }
}

/// Whether output to a terminal is coloured: not when NO_COLOR is set to something (an empty
/// NO_COLOR counts as unset, as no-color.org says), nor on a terminal that says it cannot
/// (TERM=dumb).
public enum TerminalColour {
    public static func wanted(onTerminal terminal: Bool) -> Bool {
        guard terminal else { return false }
        if let noColour = Posix.environment("NO_COLOR"), !noColour.isEmpty { return false }
        return Posix.environment("TERM") != "dumb"
    }
}
