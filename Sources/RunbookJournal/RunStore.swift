// The state directory: one folder per run (its record, journal and backups) and the locks.

import RunbookSupport

/// What `runbook history` shows about a run.
public struct RunRecord: Sendable {
    public var id: String
    public var runbook: String
    public var arguments: JSON      // secrets masked
    public var user: String
    public var host: String
    public var pid: Int32
    public var started: Double
    public var finished: Double?
    public var status: RunStatus
    public var dryRun: Bool
    public var error: String?
    public var root: String

    public var json: JSON {
        var fields: [(String, JSON)] = [
            ("id", .string(id)), ("runbook", .string(runbook)), ("arguments", arguments), ("user", .string(user)),
            ("host", .string(host)), ("pid", .int(Int64(pid))), ("started", .string(Clock.iso8601(started))),
            ("started_epoch", .double(started)), ("status", .string(status.rawValue)), ("dry_run", .bool(dryRun)),
            ("root", .string(root)),
        ]
        if let finished {
            fields.append(("finished_epoch", .double(finished)))
            fields.append(("duration", .double(finished - started)))
        }
        if let error { fields.append(("error", .string(error))) }
        return .object(fields)
    }

    package init?(json: JSON) {
        guard let id = json["id"]?.stringValue, let runbook = json["runbook"]?.stringValue else { return nil }
        self.id = id
        self.runbook = runbook
        arguments = json["arguments"] ?? .object([])
        user = json["user"]?.stringValue ?? "?"
        host = json["host"]?.stringValue ?? "?"
        pid = Int32(json["pid"]?.intValue ?? 0)
        if case .double(let d) = json["started_epoch"] { started = d } else { started = Double(json["started_epoch"]?.intValue ?? 0) }
        if case .double(let d) = json["finished_epoch"] { finished = d } else { finished = json["finished_epoch"]?.intValue.map(Double.init) }
        status = json["status"]?.stringValue.flatMap(RunStatus.init(rawValue:)) ?? .unknown
        dryRun = json["dry_run"]?.boolValue ?? false
        error = json["error"]?.stringValue
        root = json["root"]?.stringValue ?? "/"
    }

    public init(id: String, runbook: String, arguments: JSON, dryRun: Bool, root: String) {
        self.id = id
        self.runbook = runbook
        self.arguments = arguments
        user = Posix.userName
        host = Posix.hostName
        pid = getpid()
        started = Clock.wall()
        status = .running
        self.dryRun = dryRun
        self.root = root
    }
}

public final class RunStore {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var runsDirectory: String { directory + "/runs" }
    public var locksDirectory: String { directory + "/locks" }
    public func runDirectory(_ id: String) -> String { runsDirectory + "/" + id }
    public func journalPath(_ id: String) -> String { runDirectory(id) + "/journal.jsonl" }
    public func backupsDirectory(_ id: String) -> String { runDirectory(id) + "/backups" }

    /// A new, unique run id: UTC time plus random hex ("20261125-042824-a3f9c0").
    public func createRun(_ record: RunRecord) throws -> String {
        try Posix.makeDirectories(runsDirectory, mode: 0o700)
        let stamp = Clock.compactStamp(record.started)
        for _ in 0..<100 {
            let id = stamp + "-" + String(UInt32.random(in: 0x10_0000...0xff_ffff), radix: 16)
            if mkdir(runDirectory(id), 0o700) == 0 {
                var stored = record
                stored.id = id
                try save(stored)
                return id
            }
            if errno != EEXIST { throw SystemError("create run folder in", runsDirectory) }
        }
        throw SystemError("create run folder in", runsDirectory, code: EEXIST)
    }

    /// Replaces the run's record atomically (write beside, fsync, rename).
    public func save(_ record: RunRecord) throws {
        let path = runDirectory(record.id) + "/run.json"
        try Posix.writeFile(path + ".tmp", Array((record.json.serialized + "\n").utf8), mode: 0o600, sync: true)
        if rename(path + ".tmp", path) != 0 { throw SystemError("save", path) }
    }

    public func load(_ id: String) throws -> RunRecord {
        guard RunStore.isValidID(id) else { throw RunbookError.usage("'\(id)' is not a run id (see `runbook history`)") }
        let path = runDirectory(id) + "/run.json"
        guard Posix.lstatInfo(path) != nil else {
            // A folder without a record: a run stopped while it was being created (before
            // its start was held against signals). History leaves it out; it changed nothing.
            if Posix.lstatInfo(runDirectory(id)) != nil {
                throw RunbookError.usage("run '\(id)' has no record: it was stopped while it started and changed nothing")
            }
            throw RunbookError.usage("no run '\(id)' in \(runsDirectory) (see `runbook history`)")
        }
        guard let record = RunRecord(json: try JSON.parse(try Posix.readText(path))) else {
            throw RunbookError.failed("the record of run \(id) is damaged: \(path)")
        }
        return withLiveness(record)
    }

    /// Every run, newest first.
    public func all() -> [RunRecord] {
        let ids = ((try? Posix.list(runsDirectory)) ?? []).filter(RunStore.isValidID)
        return ids.compactMap { try? load($0) }.sorted { ($0.started, $0.id) > ($1.started, $1.id) }
    }

    /// A run still marked running whose process is gone crashed (SIGKILL, power loss).
    package func withLiveness(_ record: RunRecord) -> RunRecord {
        var record = record
        if record.status.isTransient, record.host == Posix.hostName, !Posix.isProcessAlive(record.pid) {
            record.status = record.status.afterItsProcessDied
        }
        return record
    }

    package static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count < 64 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}
