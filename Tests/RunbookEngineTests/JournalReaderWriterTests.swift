// The journal's writer and reader (Journal/), in process: what is appended is read back in
// order with its fields, a reader can ask for some kinds and some fields only, secrets never
// reach the file, a string's newline cannot split a record, and a torn last line (a kill in
// the middle of a write) costs only that line.

import RunbookJournal
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Journal writer and reader")
struct JournalReaderWriterTests {
    private func journal(_ sandbox: Sandbox, redactor: Redactor = Redactor()) throws -> JournalWriter {
        try JournalWriter(path: sandbox.base + "/journal.jsonl", durable: false, redactor: redactor)
    }

    @Test("records come back in order, with their kind and fields")
    func roundTrip() throws {
        let sandbox = try Sandbox()
        let writer = try journal(sandbox)
        writer.append(.runStarted, [("runbook", .string("deploy")), ("args", .object([("site", .string("shop"))]))])
        writer.append(.stepStarted, [("step", .string("Lay out the release"))])
        writer.append(.log, [("level", .string("info")), ("message", .string("two\nlines \"quoted\""))])
        writer.append(.runFinished, [("status", .string("succeeded")), ("exit", .int(0))])
        writer.sync()

        let records = try JournalReader.records(writer.path)
        #expect(records.map { $0["t"]?.stringValue } == ["run_started", "step_started", "log", "run_finished"])
        #expect(records[0]["args"]?["site"]?.stringValue == "shop")
        #expect(records[2]["message"]?.stringValue == "two\nlines \"quoted\"")
        #expect(records[3]["exit"]?.intValue == 0)
        // Each record says when it was written (ISO 8601, UTC).
        #expect(records.allSatisfy { $0["at"]?.stringValue?.hasSuffix("Z") == true }, "\(records)")
        let lines = (Files.read(writer.path) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5 && lines.last == "", "one line per record, the newline inside a string escaped:\n\(lines)")
    }

    @Test("a reader asking for some kinds and fields gets only those (and each record's kind)")
    func filteredReads() throws {
        let sandbox = try Sandbox()
        let writer = try journal(sandbox)
        for n in 1...3 {
            writer.append(.stepStarted, [("step", .string("step \(n)"))])
            writer.append(.log, [("level", .string("info")), ("message", .string("message \(n)"))])
        }
        writer.sync()

        let logs = try JournalReader.records(writer.path, types: [.log], keys: ["message"])
        #expect(logs.map { $0["message"]?.stringValue } == ["message 1", "message 2", "message 3"])
        #expect(logs.allSatisfy { Set(($0.objectValue ?? []).map(\.0)) == ["t", "message"] }, "\(logs)")
        #expect(try JournalReader.records(writer.path, types: [.undone]).isEmpty)
    }

    @Test("a secret the run knows is masked before the record reaches the file")
    func secretsNeverReachTheFile() throws {
        let sandbox = try Sandbox()
        let redactor = Redactor()
        redactor.add("hunter2-very-secret")
        let writer = try journal(sandbox, redactor: redactor)
        writer.append(.log, [("message", .string("connecting with hunter2-very-secret now"))])
        writer.sync()

        #expect(!(Files.read(writer.path) ?? "").contains("hunter2"))
        #expect(try JournalReader.records(writer.path).first?["message"]?.stringValue == "connecting with *** now")
    }

    @Test("a torn last line (killed mid-write) is skipped; every complete record before it counts")
    func tornLastLine() throws {
        let sandbox = try Sandbox()
        let writer = try journal(sandbox)
        writer.append(.stepStarted, [("step", .string("one"))])
        writer.append(.stepFinished, [("step", .string("one"))])
        writer.sync()
        let descriptor = open(writer.path, O_WRONLY | O_APPEND)
        try #require(descriptor >= 0)
        let torn = Array(#"{"t":"log","message":"cut off in the mi"#.utf8)
        #expect(write(descriptor, torn, torn.count) == torn.count)
        close(descriptor)

        let records = try JournalReader.records(writer.path)
        #expect(records.map { $0["t"]?.stringValue } == ["step_started", "step_finished"])
    }

    @Test("a journal that cannot be opened is a clear error naming the path")
    func unwritableJournal() throws {
        let sandbox = try Sandbox()
        let path = sandbox.base + "/no-such-folder/journal.jsonl"
        #expect {
            _ = try JournalWriter(path: path, durable: false, redactor: Redactor())
        } throws: { error in
            "\(error)".contains(path)
        }
        #expect(throws: (any Error).self) { try JournalReader.records(path) }
    }
}
