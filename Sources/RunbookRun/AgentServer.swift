// `runbook agent`: the other end of `on(HOST, ...)`. Started by the controlling run over
// ssh, it reads one JSON request per line on stdin and answers each with one line on
// stdout, until stdin ends. Reads go to this host's files (through the walk from its
// root, as every read here); effects and undo steps run with this host's files, tools and
// backups (kept under STATE/agent/RUN_ID/, where a later `runbook undo` on the controller
// finds them through another agent).

import RunbookConfig
import RunbookCore
import RunbookJournal
import RunbookSupport

package enum AgentProtocol {
    /// Both ends must speak the same version; a mismatch is refused at hello.
    package static let version: Int64 = 1
}

package final class AgentServer {
    private let config: EngineConfig
    private var world: World?
    /// The run this agent serves (from hello): its folder is STATE/agent/RUN.
    private var run: String?
    private var view: LiveFileSystem?
    private var pending: [UInt8] = []

    package init(config: EngineConfig) { self.config = config }

    /// Serves until stdin ends; the exit status.
    package func serve() -> Int32 {
        while let line = readLine() {
            let answer: JSON
            var request: JSON?
            do {
                request = try JSON.parse(utf8: line)
                answer = .object([("ok", .bool(true))] + (try handle(request ?? .null)))
            } catch let error as WireError {
                // A request this agent cannot read: say which one (a version skew shows here).
                let op = request?["op"]?.stringValue ?? "an unreadable request"
                answer = .object([("ok", .bool(false)), ("error", .string("\(op): \(error)"))])
            } catch {
                answer = .object([("ok", .bool(false)), ("error", .string(String(describing: error)))])
            }
            do { try Posix.writeAll(1, Array((answer.serialized + "\n").utf8), path: "stdout") } catch { return 1 }
        }
        return 0
    }

    private func handle(_ request: JSON) throws -> [(String, JSON)] {
        let op = try request.wireString("op")
        if op == "hello" { return try hello(request) }
        guard let world, let view else { throw WireError("say hello first") }
        switch op {
        case "info":
            guard let info = view.info(try request.wireString("path")) else { return [("info", .null)] }
            return [("info", .object([("kind", .string(info.kind.rawValue)), ("mode", .int(Int64(info.mode))), ("uid", .int(Int64(info.uid))),
                                      ("gid", .int(Int64(info.gid))), ("size", .int(info.size)), ("device", .int(Int64(bitPattern: info.device)))]))]
        case "read":
            return [("bytes", .string(Base64.encode(try view.read(try request.wireString("path")))))]
        case "list":
            return [("names", .array(try view.list(try request.wireString("path")).map { .string($0) }))]
        case "readlink":
            return [("target", view.readLink(try request.wireString("path")).map { .string($0) } ?? .null)]
        case "exec":
            // A read (`cmd.run` with read_only, a config test, a service's status, a crontab):
            // run here and answered whole; never journaled.
            let argv = try request.wireStrings("argv")
            let input = try request["input"]?.stringValue.map { text -> [UInt8] in
                guard let bytes = Base64.decode(text) else { throw WireError("the field 'input' is not base64") }
                return bytes
            } ?? []
            return try ProcessRunner.run(argv, input: input, timeout: request.wireSeconds("timeout")).wireFields
        case "prepare":
            let effect = try EffectWire.decode(request["effect"] ?? .null)
            return [("undo", try effect.prepareUndo(world).map { .array($0.map(\.json)) } ?? .null)]
        case "apply":
            let effect = try EffectWire.decode(request["effect"] ?? .null)
            let outcome = try effect.apply(world)
            return [("result", outcome.result ?? .null), ("undo", outcome.undo.map { .array($0.map(\.json)) } ?? .null)]
        case "forget":
            // The run is wholly undone: what this host kept for it goes.
            if let run { try? Posix.removeTree(config.stateDir + "/agent/" + run) }
            return []
        case "undo":
            guard let action = UndoActions.decode(request["step"] ?? .null) else { throw WireError("the undo step is missing") }
            try UndoActions.run(action, in: world)
            return []
        default:
            throw WireError("unknown request '\(op)'")
        }
    }

    private func hello(_ request: JSON) throws -> [(String, JSON)] {
        let version = try request.wireInt("version")
        guard version == AgentProtocol.version else {
            throw WireError("the agent on \(Posix.hostName) speaks protocol \(AgentProtocol.version), this run \(version): "
                            + "install the same runbook on both")
        }
        let run = try request.wireString("run")
        guard RunStore.isValidID(run) else { throw WireError("'\(run)' is not a run id") }
        self.run = run
        let paths = try RootedPaths(root: config.root)
        let backups = BackupStore(directory: config.stateDir + "/agent/" + run + "/backups")
        world = World(paths: paths, backups: backups, databases: DatabaseConnections(configs: config.databases, redactor: Redactor()),
                      platform: PlatformAdapter(kind: config.platform))
        view = LiveFileSystem(paths: paths)
        return [("version", .int(AgentProtocol.version)), ("root", .string(config.root)), ("host", .string(Posix.hostName)),
                ("platform", .string(config.platform.rawValue)),
                ("state_dir", .string(config.stateDir))]
    }

    private func readLine() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count > 0 { pending.append(contentsOf: buffer[0..<count]) }
            else if count < 0 && errno == EINTR { continue }
            else { return nil }
        }
    }
}
