// Validates argument text against a parameter's type: one clear line naming the argument
// for anything wrong, before anything runs.

import RunbookSupport

public enum ArgumentValidator {
    /// Longest argument accepted; a 10 MB hostname is an attack or a mistake.
    package static let maximumLength = 4096

    public static func validate(_ raw: String, for spec: ParameterSpec) throws -> ArgumentValue {
        if spec.list {
            let parts = raw.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed }
            return .list(try parts.map { try single($0, spec) })
        }
        return try single(raw, spec)
    }

    package static func single(_ raw: String, _ spec: ParameterSpec) throws -> ArgumentValue {
        func fail(_ problem: String) -> RunbookError {
            RunbookError.usage("argument \(spec.flag): \(problem)")
        }
        let shown = spec.secret ? Redactor.mask : quoted(raw)
        guard raw.utf8.count <= maximumLength else { throw fail("is longer than \(maximumLength) bytes") }
        guard !raw.utf8.contains(0) else { throw fail("contains a NUL byte") }
        switch spec.type {
        case .string:
            guard !raw.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else {
                throw fail("contains control characters")
            }
            return .string(raw)
        case .int:
            guard let value = Int64(raw.trimmed) else { throw fail("expected an integer, got \(shown)") }
            try checkRange(Double(value), spec, fail)
            return .int(value)
        case .number:
            guard let value = Double(raw.trimmed), value.isFinite else { throw fail("expected a number, got \(shown)") }
            try checkRange(value, spec, fail)
            return .number(value)
        case .bool:
            switch raw.lowercased() {
            case "true", "yes", "1", "on": return .bool(true)
            case "false", "no", "0", "off": return .bool(false)
            default: throw fail("expected true or false, got \(shown)")
            }
        case .enum:
            guard spec.values.contains(raw) else {
                throw fail("expected one of \(spec.values.joined(separator: ", ")), got \(shown)")
            }
            return .string(raw)
        case .path:
            guard !raw.isEmpty else { throw fail("is empty") }
            // Control characters, line separators and bidi overrides in a file name would
            // disguise it in every listing and log line that shows it.
            guard !raw.unicodeScalars.contains(where: { $0.value < 0x20 || unsafeToShow($0) }) else {
                throw fail("contains control or direction-changing characters")
            }
            guard raw.split(separator: "/").allSatisfy({ $0 != ".." }) else { throw fail("must not contain '..' (\(shown))") }
            // A relative path means what it means to any command: from the current directory.
            // Resolved here, so a runbook never meets "path is not absolute" in the middle of a run.
            if !raw.hasPrefix("/") {
                let directory = Posix.currentDirectory
                guard directory.hasPrefix("/"), let resolved = PathName.normalize(PathName.join(directory, raw)) else {
                    throw fail("is relative and the current directory cannot be read: give an absolute path")
                }
                return .string(resolved)
            }
            return .string(raw)
        case .hostname:
            // ASCII as typed: lowercasing maps some other characters to ASCII letters (the
            // Kelvin sign U+212A becomes "k"), and a confusable must not pass as a name.
            guard raw.unicodeScalars.allSatisfy(\.isASCII) else {
                throw fail("expected a hostname like shop.example.com (ASCII; an IDN as xn--...), got \(shown)")
            }
            let host = raw.lowercased()
            guard isHostname(host) else { throw fail("expected a hostname like shop.example.com, got \(shown)") }
            return .string(host)
        case .email:
            guard isEmail(raw) else { throw fail("expected an email address like name@example.com, got \(shown)") }
            return .string(raw)
        case .ip:
            guard let address = normalizedIP(raw) else { throw fail("expected an IPv4 or IPv6 address, got \(shown)") }
            return .string(address)
        }
    }

    package static func checkRange(_ value: Double, _ spec: ParameterSpec, _ fail: (String) -> RunbookError) throws {
        if let min = spec.min, value < min { throw fail("must be at least \(ArgumentValue.format(min)), got \(ArgumentValue.format(value))") }
        if let max = spec.max, value > max { throw fail("must be at most \(ArgumentValue.format(max)), got \(ArgumentValue.format(value))") }
    }

    /// Shows a bad value safely: quoted, control characters escaped, long values cut. Escaped
    /// too, because a terminal would act on them: C1 controls (U+009B is a CSI that restyles
    /// the screen), the line and paragraph separators (a second "line") and the bidi
    /// overrides and isolates (they reorder the rest of the line).
    package static func quoted(_ raw: String) -> String {
        var text = ""
        for scalar in raw.unicodeScalars.prefix(60) {
            let v = scalar.value
            if v < 0x20 || (0x7f...0x9f).contains(v) { text += "\\x" + String(v, radix: 16) }
            else if unsafeToShow(scalar) { text += "\\u{" + String(v, radix: 16) + "}" }
            else { text.unicodeScalars.append(scalar) }
        }
        if raw.unicodeScalars.count > 60 { text += "..." }
        return "'" + text + "'"
    }

    /// DEL and the C1 controls, the line and paragraph separators, the bidi overrides and
    /// isolates: characters a terminal acts on or that reorder a line.
    package static func unsafeToShow(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (0x7f...0x9f).contains(v) || v == 0x2028 || v == 0x2029 || (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// RFC 1123 host names, ASCII only (IDNs arrive as punycode "xn--").
    public static func isHostname(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty else { return false }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            guard label.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else { return false }
        }
        // All-numeric names are addresses, not hostnames.
        return !labels.allSatisfy { $0.allSatisfy(\.isNumber) }
    }

    public static func isEmail(_ text: String) -> Bool {
        // ASCII only: lowercasing the domain below would turn a Kelvin sign into "k".
        guard text.unicodeScalars.allSatisfy(\.isASCII) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, !local.isEmpty, local.utf8.count <= 64 else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-".utf8)
        guard local.utf8.allSatisfy({ allowed.contains($0) }), local.first != ".", local.last != ".", !local.contains("..") else {
            return false
        }
        let domain = String(parts[1]).lowercased()
        return isHostname(domain) && domain.contains(".")
    }

    /// The canonical text of an IPv4 or IPv6 address, or nil.
    public static func normalizedIP(_ text: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            guard inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return Posix.stringFromCBuffer(buffer)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return Posix.stringFromCBuffer(buffer)
        }
        return nil
    }
}
