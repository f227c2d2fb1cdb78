// The install queue of the guide ("A queue record is being added which is for the other part
// of the install"; "cron_slave_queue - ... so each knows his queue records"): records in the
// internal database's `queue` table name a runbook and its arguments (JSON) for a handler.
// `runbook queue work` claims this server's queued records one at a time — an atomic
// UPDATE ... WHERE status = 'queued', so two workers never take the same record — runs each
// as a child `runbook run NAME --ARG VALUE ...` with RUNBOOK_QUEUE_ID set (stdlib/queue.lua
// then adopts the record instead of adding one), keeps the child's output in
// STATE/queue/ID.log, and leaves the record done or failed with the error.
// `runbook queue rerun ID` is the guide's rerun_queue.php.
//
// A record is `running` while a worker holds the lock `queue-worker:ID` (from before its
// claim until its child ends) or the run working it holds `queue:ID` (stdlib/queue.lua takes
// it when the run adopts or adds its record): file locks of this host, and MySQL GET_LOCK on
// the lock database when one is configured, so every host sees them. A `running` record
// whose locks are free was left by a process that died: stuck (`queue list --stuck`), and
// `queue rerun` takes it; a live one is refused.

import MySQLClient
import RunbookConfig
import RunbookCore
import RunbookJournal
import RunbookSupport

public struct QueueWorker {
    public static let queueIDVariable = "RUNBOOK_QUEUE_ID"
    /// The most of a failed child's output kept in queue.error.
    package static let errorTail = 4000

    public struct Outcome: Sendable {
        public var id: Int64
        public var runbook: String
        public var status: String
        public var exitStatus: Int32
        public var logPath: String
        public var error: String?
    }

    public struct Record: Sendable {
        public var id: Int64
        public var runbook: String
        public var args: String
        public var status: String
        public var handlerID: Int64?
        public var error: String?
        public var log: String?
    }

    package let config: EngineConfig
    /// The engine options the worker was started with, given to each child run.
    package let engineArguments: [String]
    package let connectionName: String
    package let connection: Connection
    /// For the queue's locks on the lock database.
    private let connections: DatabaseConnections

    public init(config: EngineConfig, overrides: EngineOverrides, connection name: String = "internal") throws {
        self.config = config
        connectionName = name
        var arguments: [String] = []
        if let path = overrides.configPath { arguments += ["--config", path] }
        for dir in overrides.runbookDirs { arguments += ["--runbooks", dir] }
        if let dir = overrides.stateDir { arguments += ["--state-dir", dir] }
        if let root = overrides.root { arguments += ["--root", root] }
        engineArguments = arguments
        connections = DatabaseConnections(configs: config.databases, redactor: Redactor())
        connection = try connections.connection(name)
    }

    /// The handlers.id of `handler` (an id or a hostname), default settings.this_server.
    public func handlerID(_ handler: String?) throws -> Int64 {
        let wanted = handler ?? config.settings["this_server"]?.stringValue
        guard let wanted, !wanted.isEmpty else {
            throw RunbookError.usage("which server is this? give --handler or set this_server in [settings]")
        }
        let rows = try Int64(wanted).map { try connection.query("SELECT id FROM handlers WHERE id = ?", [.int($0)]) }
            ?? connection.query("SELECT id FROM handlers WHERE hostname = ?", [.string(wanted)])
        guard let id = rows.first?[0].int64 else {
            throw RunbookError.usage("no handler \(wanted) in the handlers table of '\(connectionName)'")
        }
        return id
    }

    private var locksDirectory: String { RunStore(directory: config.stateDir).locksDirectory }

    /// Who works record `id` now (a worker or the run itself), or nil: nobody.
    public func holder(of id: Int64) -> String? {
        for name in ["queue-worker:\(id)", "queue:\(id)"] {
            if let holder = LockManager.holder(of: name, directory: locksDirectory, databases: connections, lockDatabase: config.lockDatabase) {
                return holder
            }
        }
        return nil
    }

    /// The `running` records nobody works any more, newest first.
    public func stuck(limit: Int) throws -> [Record] {
        try records(status: "running", handler: nil, limit: 10_000).filter { holder(of: $0.id) == nil }.prefix(max(1, limit)).map { $0 }
    }

    /// The worker's own lock on record `id`, taken without waiting (nil: someone holds it).
    private func workerLock(_ id: Int64) -> LockManager? {
        let locks = LockManager(directory: locksDirectory, runID: "queue worker", timeout: 0, databases: connections,
                                lockDatabase: config.lockDatabase)
        do { try locks.acquire("queue-worker:\(id)") } catch { return nil }
        return locks
    }

    public func records(status: String?, handler: Int64?, limit: Int) throws -> [Record] {
        var sql = "SELECT id, runbook, args, status, handler_id, error, log FROM queue"
        var conditions: [String] = [], params: [SQLValue] = []
        if let status { conditions.append("status = ?"); params.append(.string(status)) }
        if let handler { conditions.append("handler_id = ?"); params.append(.int(handler)) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id DESC LIMIT \(max(1, limit))"
        return try connection.query(sql, params).rows.map(Self.record)
    }

    public func record(_ id: Int64) throws -> Record? {
        try connection.query("SELECT id, runbook, args, status, handler_id, error, log FROM queue WHERE id = ?", [.int(id)])
            .rows.first.map(Self.record)
    }

    package static func record(_ row: Row) -> Record {
        Record(id: row[0].int64 ?? 0, runbook: row[1].string ?? "", args: row[2].string ?? "{}", status: row[3].string ?? "",
               handlerID: row[4].int64, error: row[5].string, log: row[6].string)
    }

    /// Works this handler's queued records, oldest first, at most `limit` of them.
    public func work(handler: Int64, limit: Int, report: (String) -> Void) throws -> [Outcome] {
        var outcomes: [Outcome] = []
        while outcomes.count < limit {
            guard let next = try connection.query(
                "SELECT id FROM queue WHERE status = 'queued' AND handler_id = ? ORDER BY id LIMIT 1", [.int(handler)]).rows.first?[0].int64
            else { break }
            // Claimed only if still queued: another worker may have taken it meanwhile. The
            // worker's lock comes first, so a claimed record is never without a holder.
            guard let lock = workerLock(next) else { continue }
            defer { lock.releaseAll() }
            let claimed = try connection.execute("UPDATE queue SET status = 'running' WHERE id = ? AND status = 'queued'", [.int(next)])
            guard claimed.affectedRows == 1, let record = try record(next) else { continue }
            outcomes.append(try run(record, report: report))
        }
        return outcomes
    }

    /// Runs one record again, whatever its status, unless a live process works it (a
    /// `running` record whose worker or run died is stuck: it is taken).
    public func rerun(_ id: Int64, report: (String) -> Void) throws -> Outcome {
        guard try record(id) != nil else { throw RunbookError.usage("no queue record \(id)") }
        let running = { (holder: String) in
            RunbookError.usage("queue record \(id) is running now (held by \(holder)): not starting it twice")
        }
        guard let lock = workerLock(id) else { throw running(holder(of: id) ?? "another worker") }
        defer { lock.releaseAll() }
        if let holder = LockManager.holder(of: "queue:\(id)", directory: locksDirectory, databases: connections,
                                           lockDatabase: config.lockDatabase) {
            throw running(holder)
        }
        _ = try connection.execute("UPDATE queue SET status = 'running', error = NULL WHERE id = ?", [.int(id)])
        guard let record = try record(id) else { throw RunbookError.usage("no queue record \(id)") }
        return try run(record, report: report)
    }

    package func run(_ record: Record, report: (String) -> Void) throws -> Outcome {
        let logDir = PathName.join(config.stateDir, "queue")
        try Posix.makeDirectories(logDir, mode: 0o700)
        let logPath = PathName.join(logDir, "\(record.id).log")
        let words: [String]
        do {
            words = try Self.words(record.args)
        } catch {
            let message = "queue record \(record.id): its args are not runbook arguments: \(error)"
            _ = try connection.execute("UPDATE queue SET status = 'failed', error = ? WHERE id = ?", [.string(message), .int(record.id)])
            report(message)
            return Outcome(id: record.id, runbook: record.runbook, status: "failed", exitStatus: 2, logPath: "", error: message)
        }
        let argv = [Self.executable()] + engineArguments + ["run", record.runbook] + words + ["--yes"]
        report("queue record \(record.id): runbook run \(record.runbook) \(words.joined(separator: " "))  (log: \(logPath))")
        let result = try ProcessRunner.run(argv, environment: [Self.queueIDVariable: String(record.id), "NO_COLOR": "1"], timeout: nil)
        let text = result.outputText + (result.errorOutput.isEmpty ? "" : "--- stderr ---\n" + result.errorText)
        try Posix.writeFile(logPath, Array(text.utf8), mode: 0o600)

        // The child's runbook may have written the record itself (stdlib/queue.lua); the
        // worker settles what it left open.
        let after = try self.record(record.id)
        var status = after?.status ?? "failed"
        var error = after?.error
        if result.status == 0 {
            if status != "done" {
                _ = try connection.execute("UPDATE queue SET status = 'done' WHERE id = ?", [.int(record.id)])
                status = "done"
            }
        } else if status != "failed" {
            let tail = Self.tail(result.errorText.isEmpty ? result.outputText : result.errorText)
            _ = try connection.execute("UPDATE queue SET status = 'failed', error = ? WHERE id = ?", [.string(tail), .int(record.id)])
            status = "failed"
            error = tail
        }
        if (after?.log ?? "").isEmpty {
            _ = try connection.execute("UPDATE queue SET log = ? WHERE id = ?", [.string(String(logPath.suffix(255))), .int(record.id)])
        }
        report("queue record \(record.id): \(status) (exit \(result.status))" + (error.map { ": " + Self.firstLine($0) } ?? ""))
        return Outcome(id: record.id, runbook: record.runbook, status: status, exitStatus: result.status, logPath: logPath, error: error)
    }

    /// A record's JSON arguments as `--name value` words (lists comma-joined, booleans as
    /// true/false, nulls left out).
    package static func words(_ args: String) throws -> [String] {
        guard case .object(let fields) = try JSON.parse(args) else { throw RunbookError.usage("args is not a JSON object") }
        var words: [String] = []
        for (key, value) in fields.sorted(by: { $0.0 < $1.0 }) {
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw RunbookError.usage("'\(key)' is not an argument name")
            }
            let flag = "--" + String(key.map { $0 == "_" ? "-" : $0 })
            switch value {
            case .null: continue
            case .array(let items): words += [flag, try items.map(scalar).joined(separator: ",")]
            default: words += [flag, try scalar(value)]
            }
        }
        return words
    }

    package static func scalar(_ value: JSON) throws -> String {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: throw RunbookError.usage("an argument value must be a string, number, boolean or a list of them")
        }
    }

    package static func tail(_ text: String) -> String {
        let trimmed = text.trimmed
        return trimmed.utf8.count <= errorTail ? trimmed : "..." + String(decoding: Array(trimmed.utf8.suffix(errorTail)), as: UTF8.self)
    }

    package static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first(where: { !String($0).trimmed.isEmpty }) ?? "")
    }

    /// This program, to start the child runs with.
    package static func executable() -> String {
        Posix.readLink("/proc/self/exe") ?? CommandLine.arguments.first ?? "runbook"
    }
}
