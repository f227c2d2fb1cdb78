// Instructions executed by whole processes, counted by valgrind's callgrind: exact and the
// same from run to run whatever else the machine does, where times on a shared machine
// swing by tens of percent. W5 judges its linearity on them. Optional: without valgrind
// (or strip) the workload says so and judges its times instead.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct InstructionCounter {
    let valgrind: String
    /// A copy of the measured runbook without its DWARF debug information, beside it (so it
    /// finds stdlib/ as the original does): valgrind 3.19 cannot read Swift's DWARF 5 and
    /// gives up on the original.
    let runbook: String

    /// nil when valgrind or strip is not installed, or the copy cannot be made (the
    /// workload then says so and judges its times).
    static func prepare(_ programs: Programs, errorLog: String) -> InstructionCounter? {
        guard let valgrind = Programs.findInPath("valgrind"), let strip = Programs.findInPath("strip") else { return nil }
        let copy = parentDirectory(programs.runbook) + "/runbook-callgrind"
        guard (try? runChild([strip, "--strip-debug", "-o", copy, programs.runbook], errorLog: errorLog)) != nil else { return nil }
        return InstructionCounter(valgrind: valgrind, runbook: copy)
    }

    /// The instructions `runbook ARGUMENTS` executes (the program's own and its libraries').
    func count(_ arguments: [String], errorLog: String) throws -> Double {
        try runChild([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", runbook] + arguments, errorLog: errorLog)
        // "==123== I   refs:      2,721,124,700"
        for line in readTextFile(errorLog).split(separator: "\n") where line.contains("I   refs:") {
            if let last = line.split(separator: " ").last, let value = Double(last.filter { $0 != "," }) { return value }
        }
        throw BenchFailure("valgrind printed no instruction count: \(readTextFile(errorLog))")
    }

    func remove() { unlink(runbook) }
}
