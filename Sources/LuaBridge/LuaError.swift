// Errors that come out of Lua: what failed, in which chunk and line, and the traceback.

/// A Lua error seen from Swift. `message` has no location prefix; `chunk` and `line`
/// say where it was raised (the runbook's file:line), `traceback` how it got there.
public struct LuaError: Error, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case syntax
        case runtime
        case memory
        case interrupted
        case instructionBudget
        case timeBudget
        case messageHandler
    }

    public var kind: Kind
    public var message: String
    public var chunk: String?
    public var line: Int?
    public var traceback: String?
    /// The Swift error a host function threw, when that is what ended the call.
    public var hostError: (any Error)?

    public init(kind: Kind, message: String, chunk: String? = nil, line: Int? = nil, traceback: String? = nil) {
        self.kind = kind
        self.message = message
        self.chunk = chunk
        self.line = line
        self.traceback = traceback
    }

    /// `file:line: message`, as Lua prints it.
    public var description: String {
        if let chunk, let line { return "\(chunk):\(line): \(message)" }
        return message
    }

    /// Splits Lua's "chunk:line: message" form; the chunk may itself contain colons.
    public static func parse(_ text: String, kind: Kind) -> LuaError {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: ":") {
                var digitEnd = index + 1
                while digitEnd < bytes.count, bytes[digitEnd] >= 48, bytes[digitEnd] <= 57 { digitEnd += 1 }
                if digitEnd > index + 1, digitEnd + 1 < bytes.count, bytes[digitEnd] == UInt8(ascii: ":"),
                    bytes[digitEnd + 1] == UInt8(ascii: " ")
                {
                    let chunk = String(decoding: bytes[0..<index], as: UTF8.self)
                    let line = Int(String(decoding: bytes[(index + 1)..<digitEnd], as: UTF8.self))
                    let message = String(decoding: bytes[(digitEnd + 2)...], as: UTF8.self)
                    return LuaError(kind: kind, message: message, chunk: chunk, line: line)
                }
            }
            if bytes[index] == UInt8(ascii: "\n") { break }
            index += 1
        }
        return LuaError(kind: kind, message: text)
    }
}

/// A wrong argument to a host function, worded as Lua's own
/// "bad argument #2 to 'fs.symlink' (string expected, got nil)".
public struct LuaArgumentError: Error, CustomStringConvertible {
    public var position: Int32
    public var function: String
    public var problem: String

    public init(position: Int32, function: String, problem: String) {
        self.position = position
        self.function = function
        self.problem = problem
    }

    public var description: String { "bad argument #\(position) to '\(function)' (\(problem))" }
}

/// A failure a host function reports in its own words (no "bad argument" framing).
public struct LuaHostFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
