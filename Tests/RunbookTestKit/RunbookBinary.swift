// Where the `runbook` executable under test is.

import RunbookEngine
import RunbookSupport
import Testing

package enum RunbookBinary {
    package static let path: String? = locate()

    package static func require() throws -> String {
        guard let path else {
            throw TestSetupError("cannot find the runbook binary next to the test bundle (\(executablePath())) "
                                 + "or in .build/debug: run `swift build` first, or set RUNBOOK_BINARY")
        }
        return path
    }

    private static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, 4095)
        return count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    private static func locate() -> String? {
        if let explicit = Posix.environment("RUNBOOK_BINARY"), isExecutableFile(explicit) { return explicit }
        // Walk up from the test executable (.build/<triple>/debug/runbookPackageTests.xctest)
        // to the build directory that holds the runbook binary.
        var directory = PathName.parent(executablePath())
        while directory.count > 1 {
            if isExecutableFile(directory + "/runbook") { return directory + "/runbook" }
            if PathName.base(directory) == ".build" {
                for configuration in ["debug", "release"] where isExecutableFile(directory + "/\(configuration)/runbook") {
                    return directory + "/\(configuration)/runbook"
                }
            }
            directory = PathName.parent(directory)
        }
        let fallback = Posix.currentDirectory + "/.build/debug/runbook"
        return isExecutableFile(fallback) ? fallback : nil
    }
}
