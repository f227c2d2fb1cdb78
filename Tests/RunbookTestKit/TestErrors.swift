// Errors that fail a test with a clear message: set-up that could not be done, and a
// database test run without the private server.

import Testing
import RunbookEngine

package struct TestSetupError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// A database test never skips: without the server it fails with this message.
package struct MissingTestServer: Error, CustomStringConvertible {
    package var description: String {
        "RUNBOOK_TEST_MYSQL_SOCKET is not set: the database tests need the private MariaDB server. "
            + "Run them through: scripts/test-db run swift test --filter RunbookEngineTests"
    }
}
