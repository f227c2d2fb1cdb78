// The `vcs` module: Subversion and git working copies — check out, update to a revision,
// and report conflicts after an update (the guide's `svn st` check).

import LuaBridge

enum VcsModule {
    static func register(into state: LuaState, slot: SessionSlot) {
        // vcs.checkout(url, path [, {revision=, kind="svn"|"git"}]) -> revision
        state.register("checkout", in: "vcs") { call in
            let session = try slot.require(call.name)
            let url = try call.string(1)
            guard !url.hasPrefix("-"), !url.isEmpty else { throw call.argumentError(1, "'\(url)' is not a repository URL") }
            let path = try session.effectPath(try call.string(2))
            let options = try call.optionalTable(3) ?? LuaTable()
            let revision = try revisionOption(options, call)
            let kind = try kindOption(options, call, default: url.hasSuffix(".git") ? .git : .svn)
            if session.view.info(path.real) != nil {
                throw LuaHostFailure("vcs.checkout: \(path.shown) already exists (use vcs.update for a working copy)")
            }
            let outcome = try session.perform(VcsCheckout(kind_: kind, url: url, path: path, revision: revision))
            try call.push(DbModule.luaValue(outcome.result ?? .null))
            return 1
        }

        // vcs.update(path [, {revision=}]) -> {revision=, conflicts={files}}
        state.register("update", in: "vcs") { call in
            let session = try slot.require(call.name)
            let path = try session.effectPath(try call.string(1))
            let options = try call.optionalTable(2) ?? LuaTable()
            let revision = try revisionOption(options, call)
            guard let kind = VcsKind.detect(path.real) else { throw LuaHostFailure("vcs.update: \(path.shown) is not a working copy") }
            let current = try kind.currentRevision(path.real)
            if let revision, revision == current {
                session.noChange("\(path.shown) is at revision \(current)")
                try call.push(["revision": .string(current), "conflicts": .table(LuaTable())])
                return 1
            }
            let outcome = try session.perform(VcsUpdate(kind_: kind, path: path, fromRevision: current, revision: revision))
            let conflicts = session.isDryRun ? [] : try kind.conflicts(path.real)
            if !conflicts.isEmpty { session.output.log("warn", "conflicts in \(path.shown): " + conflicts.joined(separator: ", ")) }
            try call.push(["revision": DbModule.luaValue(outcome.result ?? .null),
                           "conflicts": .table(LuaTable(array: conflicts.map { .string($0) }))])
            return 1
        }

        // vcs.status(path) -> {kind=, revision=, conflicts={files}} (a read)
        state.register("status", in: "vcs") { call in
            let session = try slot.require(call.name)
            let path = try session.paths.real(try call.string(1))
            guard let kind = VcsKind.detect(path) else { throw LuaHostFailure("vcs.status: \(try call.string(1)) is not a working copy") }
            try call.push(["kind": .string(kind.rawValue), "revision": .string(try kind.currentRevision(path)),
                           "conflicts": .table(LuaTable(array: try kind.conflicts(path).map { .string($0) }))])
            return 1
        }
    }

    static func revisionOption(_ options: LuaTable, _ call: LuaCall) throws -> String? {
        switch options["revision"] {
        case .nil: return nil
        case .integer(let number): return String(number)
        case .string:
            let text = options["revision"].stringValue ?? ""
            guard !text.isEmpty, !text.hasPrefix("-"), text.allSatisfy({ $0.isLetter || $0.isNumber || "._/-".contains($0) }) else {
                throw call.argumentError(call.argumentCount, "revision '\(text)' is not a revision")
            }
            return text
        default: throw call.argumentError(call.argumentCount, "revision must be a number or a string")
        }
    }

    static func kindOption(_ options: LuaTable, _ call: LuaCall, default fallback: VcsKind) throws -> VcsKind {
        guard let name = options["kind"].stringValue else { return fallback }
        guard let kind = VcsKind(rawValue: name) else { throw call.argumentError(3, "kind must be \"svn\" or \"git\"") }
        return kind
    }
}
