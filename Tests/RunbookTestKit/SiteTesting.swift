// What the site runbooks' tests share (ChangeHostnameTests, AddSiteTests).

import MySQLClient
import Testing
import RunbookEngine

/// What the site runbooks' tests share (ChangeHostnameTests, AddSiteTests).
package enum SiteTesting {
    /// Runs the install runbook for real; the test stops if it fails.
    package static func install(_ world: DemoWorld, _ arguments: [String]) throws {
        let run = try world.runbook(["run", "install"] + arguments)
        guard run.exitCode == 0 else { throw TestSetupError("install failed\n\(run)") }
    }

    /// The rows of a query, each "value value ..." as DemoWorld.text prints them.
    package static func rows(_ db: Connection, _ sql: String) throws -> [String] {
        try db.query(sql).rows.map { row in row.values.map(DemoWorld.text).joined(separator: " ") }
    }

    /// A self-signed certificate and its key for `names` (the first is the subject), written
    /// under the world's root at /root/certs/FILE.pem and .key. Returns the paths as the
    /// runbooks name them (under the root).
    package static func certificate(_ world: DemoWorld, file: String, names: [String]) throws -> (pem: String, key: String) {
        let folder = world.root + "/root/certs"
        try Files.mkdir(folder)
        let san = names.map { "DNS:" + $0 }.joined(separator: ",")
        _ = try system(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", folder + "/" + file + ".key", "-out", folder + "/" + file + ".pem", "-days", "30",
                        "-subj", "/CN=" + names[0], "-addext", "subjectAltName=" + san])
        return ("/root/certs/" + file + ".pem", "/root/certs/" + file + ".key")
    }

    /// How much of the world's nginx error log is written now (see expectNginxAccepts).
    package static func errorLogMark(_ world: DemoWorld) -> Int {
        (Files.read(world.directory + "/nginx/error.log") ?? "").utf8.count
    }

    /// nginx loaded the rendered config: no [emerg] in its error log since `mark`, and its
    /// config test passes. (Lines before the mark are the world's start: two worlds that
    /// start at the same moment can race for a port there, which says nothing about the
    /// runbook under test.)
    package static func expectNginxAccepts(_ world: DemoWorld, since mark: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let log = Array((Files.read(world.directory + "/nginx/error.log") ?? "").utf8)
        let recent = String(decoding: log[min(mark, log.count)...], as: UTF8.self)
        let errors = recent.split(separator: "\n").filter { $0.contains("[emerg]") }
        #expect(errors.isEmpty, "\(errors)", sourceLocation: sourceLocation)
        _ = try system(["nginx", "-t", "-q", "-c", try world.value("DEMO_WORLD_NGINX_CONFIG")]) // throws when the test fails
    }

    /// The messages the run logged at `level` (--json output).
    package static func messages(_ run: ChildResult, _ level: String) -> [String] {
        run.events("log").filter { $0["level"]?.stringValue == level }.compactMap { $0["message"]?.stringValue }
    }

    /// Runs the runbook with bad input: it must fail with `problem` on the first line of
    /// stderr, without a traceback.
    package static func expectRefused(_ world: DemoWorld, _ arguments: [String], _ problem: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let refused = try world.runbook(["run"] + arguments)
        #expect(refused.exitCode == 1 || refused.exitCode == 2, "\(arguments)\n\(refused)", sourceLocation: sourceLocation)
        #expect(refused.stderrLines.first?.contains(problem) == true, "\(arguments)\n\(refused)", sourceLocation: sourceLocation)
        #expect(!refused.stderr.contains("traceback") && !refused.stdout.contains("traceback"), "\(refused)", sourceLocation: sourceLocation)
    }
}
