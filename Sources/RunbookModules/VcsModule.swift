// The `vcs` module: Subversion and git working copies — check out, update to a revision,
// and report conflicts after an update (the guide's `svn st` check).

import LuaBridge
import RunbookRun
import RunbookCore

package enum VcsModule: LuaModule {
    package static var sections: [APIModule] { [APIModule("vcs", title: "vcs: working copies", doc: "")] }

    package static var primitives: [LuaPrimitive] { [
        // vcs.checkout(url, path [, {revision=, kind="svn"|"git"}]) -> revision
        LuaPrimitive("vcs.checkout", doc: checkoutDoc, checkout),
        // vcs.update(path [, {revision=}]) -> {revision=, conflicts={files}}
        LuaPrimitive("vcs.update", doc: updateDoc, update),
        // vcs.status(path) -> {kind=, revision=, conflicts={files}} (a read)
        LuaPrimitive("vcs.status", doc: statusDoc, status),
    ] }

    // MARK: vcs.checkout

    static var checkoutDoc: APIFunction {
        APIFunction(.effect, "url: string  the repository", "path: string  where to check it out", "options?: vcs.Options",
            returns: ["string  the revision checked out"],
            doc: """
            Checks out a working copy (Subversion by default; git for `*.git` URLs or `kind = "git"`).
            Undo removes the checkout. A dry-run plans it and sees the folder as created.
            """,
            classes: [APIClass("vcs.Options", "revision?: string|integer  default: the latest", "kind?: \"svn\"|\"git\"")])
    }

    static func checkout(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
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
        try JsonModule.push(outcome.result ?? .null, to: call)
        return 1
    }

    // MARK: vcs.update

    static var updateDoc: APIFunction {
        APIFunction(.effect, "path: string  the working copy", "options?: vcs.Options",
            returns: ["vcs.UpdateResult"],
            doc: """
            Updates a working copy to `revision` (the latest when absent), then runs the guide's
            `svn st` check: files left in conflict are listed in `conflicts` and logged as a warning.
            Undo updates back to the revision it had before.
            """,
            example: """
            local result = vcs.update(group.dir, { revision = args.revision })
            if #result.conflicts > 0 then error("conflicts in " .. table.concat(result.conflicts, ", ")) end
            """,
            classes: [APIClass("vcs.UpdateResult", "revision: string", "conflicts: string[]  files left in conflict")])
    }

    static func update(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try session.effectPath(try call.string(1))
        let options = try call.optionalTable(2) ?? LuaTable()
        let revision = try revisionOption(options, call)
        guard let kind = VcsKind.detect(path.real, exists: { session.view.info($0) != nil }) else {
            throw LuaHostFailure("vcs.update: \(path.shown) is not a working copy")
        }
        let current = try kind.currentRevision(path.real, reading: session.reading)
        if let revision, revision == current {
            session.noChange("\(path.shown) is at revision \(current)")
            try call.push(["revision": .string(current), "conflicts": .table(LuaTable())])
            return 1
        }
        let outcome = try session.perform(VcsUpdate(kind_: kind, path: path, fromRevision: current, revision: revision))
        let conflicts = outcome.result?["conflicts"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !conflicts.isEmpty { session.output.log("warn", "conflicts in \(path.shown): " + conflicts.joined(separator: ", ")) }
        try call.push(["revision": JsonModule.luaValue(outcome.result?["revision"] ?? .null),
                       "conflicts": .table(LuaTable(array: conflicts.map { .string($0) }))])
        return 1
    }

    // MARK: vcs.status

    static var statusDoc: APIFunction {
        APIFunction(.read, "path: string  the working copy",
            returns: ["vcs.Status"],
            doc: "What the working copy is.",
            classes: [APIClass("vcs.Status", "kind: \"svn\"|\"git\"", "revision: string", "conflicts: string[]  files in conflict")])
    }

    static func status(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try session.paths.real(try call.string(1))
        guard let kind = VcsKind.detect(path, exists: { session.view.info($0) != nil }) else {
            throw LuaHostFailure("vcs.status: \(try call.string(1)) is not a working copy")
        }
        try call.push(["kind": .string(kind.rawValue), "revision": .string(try kind.currentRevision(path, reading: session.reading)),
                       "conflicts": .table(LuaTable(array: try kind.conflicts(path, reading: session.reading).map { .string($0) }))])
        return 1
    }

    package static func revisionOption(_ options: LuaTable, _ call: LuaCall) throws -> String? {
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

    package static func kindOption(_ options: LuaTable, _ call: LuaCall, default fallback: VcsKind) throws -> VcsKind {
        guard let name = options["kind"].stringValue else { return fallback }
        guard let kind = VcsKind(rawValue: name) else { throw call.argumentError(3, "kind must be \"svn\" or \"git\"") }
        return kind
    }
}
