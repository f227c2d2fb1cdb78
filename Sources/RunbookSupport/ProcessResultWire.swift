// A program's result as it crosses from another host's agent to the run: the fields of one
// answer line, with its output as base64 (a program may print any bytes).

/// How a read runs a program (argv, timeout in seconds): here with ProcessRunner, or on
/// another host through its agent (RunSession.runRead).
package typealias ProgramReader = ([String], Double?) throws -> ProcessResult

/// A ProgramReader that also feeds the program's stdin (argv, input, timeout).
package typealias ProgramRunner = ([String], [UInt8], Double?) throws -> ProcessResult

extension ProcessRunner {
    /// This host's ProgramReader.
    package static var reading: ProgramReader { { argv, timeout in try run(argv, timeout: timeout) } }

    /// This host's ProgramRunner.
    package static var running: ProgramRunner { { argv, input, timeout in try run(argv, input: input, timeout: timeout) } }

    /// Runs `argv` with `reader` and throws unless it exited 0 (ProcessRunner.check for any host).
    @discardableResult
    package static func check(_ argv: [String], timeout: Double?, with reader: ProgramReader) throws -> ProcessResult {
        let result = try reader(argv, timeout)
        guard result.succeeded else { throw ProcessFailure(argv: argv, result: result, problem: "failed") }
        return result
    }
}

extension ProcessResult {
    /// The answer's fields.
    package var wireFields: [(String, JSON)] {
        [("status", .int(Int64(status))), ("stdout", .string(Base64.encode(output))),
         ("stderr", .string(Base64.encode(errorOutput))), ("timed_out", .bool(timedOut))]
    }

    /// Read back from an answer; nil when it lacks a field.
    package init?(wire: JSON) {
        guard let status = wire["status"]?.intValue,
              let output = wire["stdout"]?.stringValue.flatMap(Base64.decode),
              let errorOutput = wire["stderr"]?.stringValue.flatMap(Base64.decode)
        else { return nil }
        self.init(status: Int32(truncatingIfNeeded: status), output: output, errorOutput: errorOutput,
                  timedOut: wire["timed_out"]?.boolValue ?? false)
    }
}
