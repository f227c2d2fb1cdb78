// `runbook log RUN_ID --follow`: prints the journal of a run in progress (from another
// terminal) as it grows, until the run — or the undo running on it — has ended. The
// journal is only read: the run itself is never touched.

import RunbookEngine
import RunbookJournal
import RunbookRun
import RunbookSupport

struct LogFollower {
    let store: RunStore
    let runID: String
    var filter: LogFilter
    let json: Bool
    /// How often the journal is looked at.
    let interval: useconds_t = 200_000

    func run(header: RunRecord) {
        if !json { printLine(LogRenderer.header(header)) }
        var filter = self.filter
        var renderer = LogRenderer(filter: filter)
        var offset = 0
        var record = header
        while true {
            // Read the status first: whatever the run wrote before it ended is then in the file.
            let finished = !record.status.isTransient
            offset = printNew(from: offset, filter: &filter, renderer: &renderer)
            if finished { break }
            usleep(interval)
            record = (try? store.load(runID)) ?? record
        }
        if !json {
            for line in renderer.finish() { printLine(line) }
            printLine("status: \(record.status)" + (record.error.map { " — \($0)" } ?? ""))
        }
    }

    /// Prints the complete records after byte `offset`; returns the offset after them. An
    /// effect's line waits for the record after its intent (how it ended).
    private func printNew(from offset: Int, filter: inout LogFilter, renderer: inout LogRenderer) -> Int {
        guard let bytes = try? Posix.readFile(store.journalPath(runID)), bytes.count > offset else { return offset }
        // Only whole lines: a record being written is read at the next look.
        guard let end = bytes[offset...].lastIndex(of: 0x0a) else { return offset }
        for line in bytes[offset..<end].split(separator: 0x0a) {
            guard let record = try? JSON.parse(String(decoding: line, as: UTF8.self)) else { continue }
            if json {
                if filter.include(record) { printJSONLine(record.serialized) }
            } else {
                for text in renderer.feed(record) { printLine(text) }
            }
        }
        return end + 1
    }
}
