// This run's connections to the agents of other hosts (`on(HOST, ...)`): one ssh session
// per host, opened on first use and kept for the run (`ssh -o BatchMode=yes HOST runbook
// agent`, how runbook starts there from `[hosts.NAME] runbook = [...]`), one request line
// and one answer line at a time.

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookSupport

package final class AgentConnections: OtherHosts {
    private let config: EngineConfig
    private let runID: String
    private var channels: [String: ChildChannel] = [:]
    /// Each host's root, as its agent said at hello.
    package private(set) var roots: [String: String] = [:]
    /// Each host's system, as its agent said at hello: commands are spelled for it.
    package private(set) var platforms: [String: PlatformAdapter] = [:]
    /// Each host's state folder (where its agent keeps a run's backups), as it said at hello.
    package private(set) var stateDirectories: [String: String] = [:]
    /// How long an agent may take to answer one request (an effect may copy a big tree).
    private let answerTimeout: Double = 3600
    /// Hosts whose connection broke during this run, with why: not reconnected silently
    /// (what was sent before the break is not known to have happened).
    private var lost: [String: String] = [:]
    /// Told when a read cannot be answered because a host went away: a read cannot fail
    /// in Lua's eyes (`fs.exists` would say "no"), so the run must stop instead.
    package var onLost: ((any Error) -> Void)?

    package init(config: EngineConfig, runID: String) {
        self.config = config
        self.runID = runID
    }

    deinit { for channel in channels.values { channel.finish() } }

    /// Connects to `host` (if not yet) and returns its root; one line naming the host and
    /// the reason when it cannot be reached.
    @discardableResult
    package func connect(_ host: String) throws -> String {
        if let root = roots[host] { return root }
        guard let entry = config.hosts[host] else {
            throw LuaHostFailure("'\(host)' is not a host of the configuration (add [hosts.\(host)])")
        }
        let channel: ChildChannel
        do {
            channel = try ChildChannel(SSHCommand.argv(entry, entry.runbookCommand + ["agent"]))
        } catch {
            throw LuaHostFailure("cannot reach host \(host): \(error)")
        }
        channels[host] = channel
        let hello = try request(host, [("op", .string("hello")), ("version", .int(AgentProtocol.version)), ("run", .string(runID))],
                                timeout: 30)
        let root = hello["root"]?.stringValue ?? "/"
        roots[host] = root
        stateDirectories[host] = hello["state_dir"]?.stringValue
        platforms[host] = PlatformAdapter(kind: hello["platform"]?.stringValue.flatMap(PlatformKind.init(rawValue:)) ?? .detected)
        return root
    }

    // MARK: Reads

    package func info(_ path: String, on host: String) -> FileInfo? {
        guard let answer = answerOrStop(host, [("op", .string("info")), ("path", .string(path))]),
              let info = answer["info"], case .object = info,
              let kind = info["kind"]?.stringValue.flatMap(FileInfo.Kind.init(rawValue:))
        else { return nil }
        return FileInfo(kind: kind, mode: UInt32(truncatingIfNeeded: info["mode"]?.intValue ?? 0),
                        uid: UInt32(truncatingIfNeeded: info["uid"]?.intValue ?? 0), gid: UInt32(truncatingIfNeeded: info["gid"]?.intValue ?? 0),
                        size: info["size"]?.intValue ?? 0, device: UInt64(bitPattern: info["device"]?.intValue ?? 0))
    }

    package func read(_ path: String, on host: String) throws -> [UInt8] {
        let answer = try request(host, [("op", .string("read")), ("path", .string(path))])
        guard let bytes = answer["bytes"]?.stringValue.flatMap(Base64.decode) else { throw WireError("\(host) sent no file content") }
        return bytes
    }

    package func list(_ path: String, on host: String) throws -> [String] {
        try request(host, [("op", .string("list")), ("path", .string(path))])["names"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    package func readLink(_ path: String, on host: String) -> String? {
        answerOrStop(host, [("op", .string("readlink")), ("path", .string(path))])?["target"]?.stringValue
    }

    /// Runs a program that only reads (`cmd.run` with read_only, a config test, a status)
    /// on `host` and returns its result. Its argv is checked here for the run's secrets:
    /// that host's agent does not know them.
    package func exec(_ argv: [String], input: [UInt8] = [], timeout: Double?, on host: String) throws -> ProcessResult {
        if let problem = ChildEnvironment.secretOnCommandLine(argv, host: host) {
            throw ProcessFailure(argv: [argv.first ?? ""], result: nil, problem: problem)
        }
        var fields: [(String, JSON)] = [("op", .string("exec")), ("argv", .array(argv.map { .string($0) }))]
        if !input.isEmpty { fields.append(("input", .string(Base64.encode(input)))) }
        if let timeout { fields.append(("timeout", .double(timeout))) }
        // A read whose caller may take a failure for "no" (a ping): a lost host stops the run.
        guard let result = ProcessResult(wire: try requestOrStop(host, fields, timeout: (timeout ?? answerTimeout) + 30)) else {
            throw WireError("\(host) sent no result for \(argv.first ?? "")")
        }
        return result
    }

    /// A read's answer; nil when the agent says the path cannot be read, and nil (with the
    /// run stopped through `onLost`) when the host cannot answer at all.
    private func answerOrStop(_ host: String, _ fields: [(String, JSON)]) -> JSON? {
        try? requestOrStop(host, fields)
    }

    /// `request`, for a read: what the agent says it cannot do is thrown as it is; a host
    /// that cannot answer at all also stops the run (through `onLost`), because the caller
    /// may take the failure for an answer ("no such file", "no ping").
    private func requestOrStop(_ host: String, _ fields: [(String, JSON)], timeout: Double? = nil) throws -> JSON {
        do {
            return try request(host, fields, timeout: timeout)
        } catch let failure as AgentFailure {
            throw failure
        } catch {
            onLost?(error)
            throw error
        }
    }

    // MARK: Effects and undo (OtherHosts)

    package func prepare(_ effect: JSON, on host: String) throws -> [JSON]? {
        try request(host, [("op", .string("prepare")), ("effect", effect)])["undo"]?.arrayValue
    }

    package func apply(_ effect: JSON, on host: String) throws -> (result: JSON?, undo: [JSON]?) {
        let answer = try request(host, [("op", .string("apply")), ("effect", effect)])
        let result = answer["result"].flatMap { $0 == .null ? nil : $0 }
        return (result, answer["undo"]?.arrayValue)
    }

    package func forget(run: String) {
        guard run == runID else { return }
        for host in roots.keys.sorted() where lost[host] == nil { _ = try? request(host, [("op", .string("forget"))]) }
    }

    package func undo(_ step: JSON, on host: String, run: String) throws {
        guard run == runID else { throw WireError("an undo step of run \(run) in run \(runID)") }
        _ = try request(host, [("op", .string("undo")), ("step", step)])
    }

    /// One request and its answer; a failure the agent reports is thrown with the host's name.
    private func request(_ host: String, _ fields: [(String, JSON)], timeout: Double? = nil) throws -> JSON {
        if let reason = lost[host] { throw LuaHostFailure("host \(host) is unreachable since earlier in this run: \(reason)") }
        if channels[host] == nil { try connect(host) }
        guard let channel = channels[host] else { throw LuaHostFailure("cannot reach host \(host)") }
        let answer: JSON
        do {
            try channel.send(Array(JSON.object(fields).serialized.utf8))
            answer = try JSON.parse(utf8: try channel.receive(timeout: timeout ?? answerTimeout))
        } catch let closed as ChannelClosed {
            channels[host]?.finish()
            channels[host] = nil
            lost[host] = closed.reason
            throw LuaHostFailure("host \(host): \(closed.reason)")
        }
        guard answer["ok"]?.boolValue == true else {
            throw AgentFailure(description: "on \(host): \(answer["error"]?.stringValue ?? "the agent failed")")
        }
        return answer
    }
}

/// Another host's files as a run reads them: every read asks its agent.
package final class OtherHostFileSystem: FileSystemView {
    private let host: String
    private let agents: AgentConnections

    package init(host: String, agents: AgentConnections) {
        self.host = host
        self.agents = agents
    }

    package func info(_ path: String) -> FileInfo? { agents.info(path, on: host) }
    package func read(_ path: String) throws -> [UInt8] { try agents.read(path, on: host) }
    package func list(_ path: String) throws -> [String] { try agents.list(path, on: host) }
    package func readLink(_ path: String) -> String? { agents.readLink(path, on: host) }
}

/// What an agent answered it could not do (a file it cannot read, an effect that failed
/// there): the host is still reachable.
package struct AgentFailure: Error, CustomStringConvertible {
    package var description: String
}
