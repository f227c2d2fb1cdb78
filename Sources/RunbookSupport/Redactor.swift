// Secrets never reach a log, a plan, an error or the journal: every string the engine
// writes out passes through the run's redactor, which masks each known secret value.

public final class Redactor: @unchecked Sendable {
    public static let mask = "***"
    private var secrets: [String] = []

    public init() {}

    /// Remembers a secret value (empty and very short values are not masked: they would
    /// mangle unrelated text, and are not secrets worth the name).
    public func add(_ secret: String) {
        guard secret.utf8.count >= 3, !secrets.contains(secret) else { return }
        // Nor may it reach the environment of a program the engine starts.
        ChildEnvironment.withhold(secret)
        secrets.append(secret)
        // Also its JSON-escaped form, as it appears inside journal and --json lines.
        var escaped = ""
        JSON.writeString(secret, to: &escaped)
        let inner = String(escaped.dropFirst().dropLast())
        if inner != secret { secrets.append(inner) }
        secrets.sort { $0.utf8.count > $1.utf8.count }
    }

    public var isEmpty: Bool { secrets.isEmpty }

    /// True when `bytes` contain a known secret (then even a digest of them is withheld).
    public func containsSecret(_ bytes: [UInt8]) -> Bool {
        guard !secrets.isEmpty else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        return secrets.contains { text.contains($0) }
    }

    public func mask(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingAll(secret, with: Redactor.mask)
        }
        return result
    }
}

extension String {
    /// Replaces every occurrence of `target` (no Foundation).
    package func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
