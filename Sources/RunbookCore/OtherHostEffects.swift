// Effects on another host (`on("d2", function() ... end)`): the same effect value, sent to
// that host's agent, which prepares its undo there (backups stay on the host that holds the
// data), applies it and, later, undoes it. Here the effect is journaled like any other —
// its intent, with undo steps that name the host, written and synced before the agent is
// asked to apply it — so `runbook undo` on this host reverses it there, after any crash.

import RunbookSupport

/// The agents of other hosts, as effects and undo steps reach them.
package protocol OtherHosts: AnyObject {
    /// Asks `host` to prepare the effect's undo; the steps as JSON ({"op", "args"}).
    func prepare(_ effect: JSON, on host: String) throws -> [JSON]?
    /// Asks `host` to apply the effect; its result and any undo it learned while applying.
    func apply(_ effect: JSON, on host: String) throws -> (result: JSON?, undo: [JSON]?)
    /// Asks `host` to run one undo step of run `run`.
    func undo(_ step: JSON, on host: String, run: String) throws
    /// Tells every host reached that run `run` is undone: what it kept for it goes.
    func forget(run: String)
}

extension World {
    /// A run wholly undone needs its backups no more, here or on other hosts: they go (they
    /// may hold what the run overwrote — a config with its password — for nothing).
    package func forgetBackups(of run: String) {
        try? Posix.removeTree(backups.directory)
        otherHosts?.forget(run: run)
    }
}

/// An effect to be applied on another host.
package struct OnHost: Effect {
    package let host: String
    package let run: String
    package let inner: any Effect
    package let wire: JSON

    /// nil when `effect` cannot be sent to another host.
    package init?(_ effect: any Effect, host: String, run: String) {
        guard let wire = EffectWire.encode(effect) else { return nil }
        self.host = host
        self.run = run
        inner = effect
        self.wire = wire
    }

    package var kind: String { inner.kind }
    package var sign: ChangeSign { inner.sign }
    package var summary: String { "on \(host): " + inner.summary }
    package func maskedSummary(_ redactor: Redactor) -> String { "on \(host): " + inner.maskedSummary(redactor) }
    package var identity: JSON {
        var fields: [(String, JSON)] = [("host", .string(host))]
        if case .object(let own) = inner.identity { fields += own } else { fields.append(("effect", inner.identity)) }
        return .object(fields)
    }
    /// Its intent is synced before it is sent, whatever the journal's mode.
    package var reachesAnotherHost: Bool { true }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        try hosts(world).prepare(wire, on: host).map { steps in steps.map { UndoOnHost(host: host, run: run, step: $0) } }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        let (result, undo) = try hosts(world).apply(wire, on: host)
        return EffectOutcome(result: result, undo: undo.map { steps in steps.map { UndoOnHost(host: host, run: run, step: $0) } })
    }

    /// Planned in that host's overlay, over its real files (read through its agent).
    package func simulate(_ overlay: Overlay) throws -> EffectOutcome {
        guard let plan = overlay.otherHosts[host] else { throw WireError("no plan for host \(host)") }
        return try inner.simulate(plan)
    }

    private func hosts(_ world: World) throws -> any OtherHosts {
        guard let hosts = world.otherHosts else { throw WireError("host \(host) cannot be reached from here") }
        return hosts
    }
}

/// One undo step of an effect applied on another host, run there by its agent.
package struct UndoOnHost: UndoAction {
    package static let op = "host.undo"
    package let host: String
    package let run: String
    package let step: JSON

    /// The step's own description, as that host's agent would give it.
    package var description: String {
        "on \(host): " + (UndoActions.decode(step)?.description ?? (step["op"]?.stringValue ?? "?"))
    }

    /// A reload there runs after every other step of the undo, as it would here.
    package var runsLast: Bool { UndoActions.decode(step)?.runsLast ?? false }

    /// The paths the step changes on that host (not this host's: `changedPaths` stays empty).
    package var pathsThere: [String] { UndoActions.decode(step)?.changedPaths ?? [] }

    package func run(in world: World) throws {
        guard let hosts = world.otherHosts else { throw UndoError("host \(host) cannot be reached from here") }
        try hosts.undo(step, on: host, run: run)
    }
}

extension UndoOnHost {
    package init(args: JSON) throws {
        host = try args.undoString("host", of: Self.op)
        run = try args.undoString("run", of: Self.op)
        guard let step = args["step"], step["op"]?.stringValue != nil else { throw UndoError("host.undo: the step is missing") }
        self.step = step
    }

    package var args: [(String, JSON)] { [("host", .string(host)), ("run", .string(run)), ("step", step)] }
}
