// DBPassword: a database password that cannot be printed, dumped or logged by accident.

/// Holds a password for `ConnectionOptions`. Every way Swift turns a value into text —
/// `description`, `debugDescription`, `dump`/Mirror, string interpolation — shows `***`.
/// Only this module reads the value, to hand it to `mysql_real_connect`.
public struct DBPassword: Sendable, Hashable, ExpressibleByStringLiteral,
    CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable
{
    let value: String

    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }

    /// True for the empty password (socket authentication, for instance).
    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "***" }
    public var debugDescription: String { "***" }
    /// No children: `dump(options)` must not reveal the stored string.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
