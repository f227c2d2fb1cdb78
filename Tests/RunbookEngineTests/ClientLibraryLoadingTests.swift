// The MariaDB client library is loaded on the first connection, not at start-up
// (Sources/MariaDBLoader): the binary does not name it among the libraries the dynamic
// loader maps before main, a runbook that uses a database still reaches it, and one that
// cannot load it fails with one line that says so.

@testable import RunbookEngine
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("The client library, loaded on demand")
struct ClientLibraryLoadingTests {
    static let runbook = """
        return runbook {
          summary = "Reads one value from the test database",
          run = function(args)
            step("Ask the database", function()
              local rows = db.query("test", "SELECT ? + 1 AS answer", { 41 })
              log.info("answer " .. tostring(rows[1].answer))
            end)
          end,
        }
        """

    @Test("runbook starts without libmariadb, loads it for a database and names it when it cannot")
    func theLibraryIsLoadedOnDemand() throws {
        let binary = try RunbookBinary.require()
        let ldd = try RunbookSupport.ProcessRunner.run(["ldd", binary])
        #expect(ldd.succeeded, "\(ldd.diagnostic)")
        #expect(!ldd.outputText.contains("libmariadb"), "runbook links libmariadb at start-up:\n\(ldd.outputText)")
        #expect(ldd.outputText.contains("liblua5.4"), "ldd lists the libraries (a check that can fail):\n\(ldd.outputText)")

        let sandbox = try Sandbox(database: true, runbook: "ask", Self.runbook)
        let asked = try sandbox.runbook(["run", "ask"])
        #expect(asked.exitCode == 0, "\(asked)")
        #expect(asked.stdout.contains("answer 42"), "\(asked)")

        let missing = try sandbox.runbook(["run", "ask"], environment: ["RUNBOOK_LIBMARIADB": "/nonexistent/libmariadb.so.3"])
        #expect(missing.exitCode == 1, "\(missing)")
        let output = missing.stdout + missing.stderr
        #expect(output.contains("cannot load the MariaDB client library: /nonexistent/libmariadb.so.3"), "\(missing)")
        #expect(!output.contains("Fatal error") && !output.contains("Stack dump"), "\(missing)")
    }
}
