// One entry of a module's list of Lua functions: its Lua name, its API doc and the small
// static function that implements it. A module file is then a flat, commented list of
// these followed by the functions, each with its doc beside it.

import LuaBridge
import RunbookRun

package struct LuaPrimitive {
    /// How a function reaches the run.
    package enum Body {
        /// Works only while the runbook runs: refused while it is only loaded or checked.
        case inRun((LuaCall, RunSession) throws -> Int32)
        /// Needs no run: usable at the top level of a runbook file (`runbook`, `json.encode`).
        case anywhere((LuaCall) throws -> Int32)
    }

    /// `fs.mkdir`, or `step` for a global.
    package let name: String
    package let doc: () -> APIFunction
    package let body: Body

    package init(_ name: String, doc: @autoclosure @escaping () -> APIFunction,
                 _ body: @escaping (LuaCall, RunSession) throws -> Int32) {
        self.name = name
        self.doc = doc
        self.body = .inRun(body)
    }

    package init(_ name: String, doc: @autoclosure @escaping () -> APIFunction, anywhere body: @escaping (LuaCall) throws -> Int32) {
        self.name = name
        self.doc = doc
        self.body = .anywhere(body)
    }
}

extension LuaState {
    /// Registers each of `primitives` under its name (`fs.mkdir` into the table `fs`); a
    /// function that needs the run finds it in `slot` when it is called.
    package func register(_ primitives: [LuaPrimitive], slot: SessionSlot) {
        for primitive in primitives {
            let (module, name) = Self.split(primitive.name)
            switch primitive.body {
            case .inRun(let body):
                let reachesOtherHosts = Self.reachesOtherHosts(module)
                register(name, in: module, doc: primitive.doc()) { call in
                    let session = try slot.require(call.name)
                    if let failed = session.failedBranch, let branch = session.branchContext.label, branch != failed {
                        throw LuaHostFailure("stopped: the parallel branch for \(failed) failed")
                    }
                    if let host = session.currentHost {
                        guard reachesOtherHosts else {
                            throw LuaHostFailure("\(call.name) cannot run on another host yet: call it outside on(\"\(host)\", ...)")
                        }
                        if module == "db" { try Self.requireServerByAddress(call, session, host) }
                    }
                    return try body(call, session)
                }
            case .anywhere(let body):
                register(name, in: module, doc: primitive.doc(), body)
            }
        }
    }

    /// Inside `on(HOST, ...)`: what another host's agent does for them (files, commands,
    /// services, crontabs, addresses, mounts, working copies, rsync), what names its own
    /// server (`db`: its connection), and what acts on no host (logging, steps, templates).
    /// Every other module acts on this host only, so it is refused there rather than run
    /// here by mistake.
    static func reachesOtherHosts(_ module: String?) -> Bool {
        guard let module else { return true }
        return ["fs", "log", "template", "json", "cmd", "service", "cron", "net", "mount", "vcs", "rsync", "db"].contains(module)
    }

    /// `db` inside `on`: its connection (the first argument) names the server it acts on,
    /// reached from here; one that reaches this host's own server (a socket, `localhost`)
    /// would act here, not on HOST, so it is refused.
    static func requireServerByAddress(_ call: LuaCall, _ session: RunSession, _ host: String) throws {
        guard let name = try? call.optionalString(1), let local = session.databases.localServer(name) else { return }
        throw LuaHostFailure("\(call.name) inside on(\"\(host)\", ...): the connection '\(name)' reaches this host's own server "
                             + "(\(local)), not \(host)'s; name a connection with that server's address")
    }

    /// "fs.mkdir" -> ("fs", "mkdir"); "step" -> (nil, "step").
    static func split(_ name: String) -> (module: String?, name: String) {
        guard let dot = name.firstIndex(of: ".") else { return (nil, name) }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }
}
