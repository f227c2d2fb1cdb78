// Effects as the agent on another host receives them: an effect's kind and its fields as
// JSON, decoded there into the same value, which is then prepared, applied and undone with
// that host's own files, backups and tools. An effect that is not listed here cannot run
// on another host yet, and a runbook that asks for it there gets one line saying so.

import RunbookSupport

/// An effect that can be sent to another host.
package protocol WireEffect: Effect {
    /// The effect's fields, enough to build it again.
    var wireFields: [(String, JSON)] { get }
    init(wireFields fields: JSON) throws
    /// The command lines it will run there: checked here for the run's secrets, which
    /// that host's agent does not know.
    var commandLines: [[String]] { get }
}

extension WireEffect {
    package var commandLines: [[String]] { [] }
}

package enum EffectWire {
    /// The effect type another host can apply for `kind`, or nil.
    package static func type(ofKind kind: String) -> (any WireEffect.Type)? {
        switch kind {
        case "fs.mkdir": MakeDirectory.self
        case "fs.write": WriteFile.self
        case "fs.symlink": MakeSymlink.self
        case "fs.remove": RemovePath.self
        case "fs.rename": RenamePath.self
        case "fs.chmod": ChangeMode.self
        // fs.chown's ids were resolved on that host (fs.chown inside `on`).
        case "fs.chown": ChangeOwner.self
        case "fs.relink_tree": RelinkTree.self
        case "mount.bind": BindMount.self
        case "mount.unbind": Unmount.self
        case "cmd.run": RunCommandEffect.self
        case "service.reload": ReloadService.self
        case "cron.edit": CrontabEdit.self
        case "net.add_ip", "net.remove_ip": AddressChange.self
        case "vcs.checkout": VcsCheckout.self
        case "vcs.update": VcsUpdate.self
        // rsync between that host's paths and daemons (RsyncModule refuses HOST:path there).
        case "rsync": RsyncEffect.self
        default: nil
        }
    }

    /// `{"kind": ..., "fields": {...}}`, or nil for an effect that cannot be sent.
    package static func encode(_ effect: any Effect) -> JSON? {
        guard let wire = effect as? any WireEffect, type(ofKind: effect.kind) != nil else { return nil }
        return .object([("kind", .string(effect.kind)), ("fields", .object(wire.wireFields))])
    }

    package static func decode(_ json: JSON) throws -> any Effect {
        guard let kind = json["kind"]?.stringValue, let type = type(ofKind: kind) else {
            throw WireError("an effect of kind '\(json["kind"]?.stringValue ?? "?")' cannot be applied here")
        }
        return try type.init(wireFields: json["fields"] ?? .object([]))
    }
}

/// A message from the other side that does not say what it must.
package struct WireError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

extension JSON {
    package func wireString(_ key: String) throws -> String {
        guard let value = self[key]?.stringValue else { throw WireError("the field '\(key)' is missing") }
        return value
    }

    package func wireInt(_ key: String) throws -> Int64 {
        guard let value = self[key]?.intValue else { throw WireError("the field '\(key)' is missing") }
        return value
    }

    package func wireStrings(_ key: String) throws -> [String] {
        guard let values = self[key]?.arrayValue else { throw WireError("the field '\(key)' is missing") }
        return try values.map { value in
            guard let text = value.stringValue else { throw WireError("the field '\(key)' holds a \(value)") }
            return text
        }
    }

    /// A number of seconds, or nil when absent.
    package func wireSeconds(_ key: String) -> Double? {
        switch self[key] {
        case .int(let value)?: Double(value)
        case .double(let value)?: value
        default: nil
        }
    }

    package func wirePath(_ key: String) throws -> EffectPath {
        guard let path = self[key] else { throw WireError("the field '\(key)' is missing") }
        return EffectPath(shown: try path.wireString("shown"), real: try path.wireString("real"))
    }
}

extension EffectPath {
    var wire: JSON { .object([("shown", .string(shown)), ("real", .string(real))]) }
}

extension MakeDirectory: WireEffect {
    package var wireFields: [(String, JSON)] { [("path", path.wire), ("mode", .int(Int64(mode))), ("needs_chmod", .bool(needsChmod))] }
    package init(wireFields f: JSON) throws {
        self.init(path: try f.wirePath("path"), mode: UInt32(truncatingIfNeeded: try f.wireInt("mode")),
                  needsChmod: f["needs_chmod"]?.boolValue ?? true)
    }
}

extension WriteFile: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("path", path.wire), ("bytes", .string(Base64.encode(bytes))), ("mode", .int(Int64(mode))),
         ("replacing", .bool(replacing)), ("secret", .bool(secret))]
    }
    package init(wireFields f: JSON) throws {
        guard let bytes = Base64.decode(try f.wireString("bytes")) else { throw WireError("the field 'bytes' is not base64") }
        self.init(path: try f.wirePath("path"), bytes: bytes, mode: UInt32(truncatingIfNeeded: try f.wireInt("mode")),
                  replacing: f["replacing"]?.boolValue ?? false, secret: f["secret"]?.boolValue ?? false)
    }
}

extension MakeSymlink: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("path", path.wire), ("target", .string(target)), ("real_target", .string(realTarget)), ("replacing", .bool(replacing))]
    }
    package init(wireFields f: JSON) throws {
        self.init(path: try f.wirePath("path"), target: try f.wireString("target"), realTarget: try f.wireString("real_target"),
                  replacing: f["replacing"]?.boolValue ?? false)
    }
}

extension RemovePath: WireEffect {
    package var wireFields: [(String, JSON)] { [("path", path.wire), ("directory", .bool(isDirectory))] }
    package init(wireFields f: JSON) throws {
        self.init(path: try f.wirePath("path"), isDirectory: f["directory"]?.boolValue ?? false)
    }
}

extension RenamePath: WireEffect {
    package var wireFields: [(String, JSON)] { [("from", from.wire), ("to", to.wire), ("replacing", .bool(replacing))] }
    package init(wireFields f: JSON) throws {
        self.init(from: try f.wirePath("from"), to: try f.wirePath("to"), replacing: f["replacing"]?.boolValue ?? false)
    }
}

extension ChangeMode: WireEffect {
    package var wireFields: [(String, JSON)] { [("path", path.wire), ("mode", .int(Int64(mode))), ("old_mode", .int(Int64(oldMode)))] }
    package init(wireFields f: JSON) throws {
        self.init(path: try f.wirePath("path"), mode: UInt32(truncatingIfNeeded: try f.wireInt("mode")),
                  oldMode: UInt32(truncatingIfNeeded: try f.wireInt("old_mode")))
    }
}

private func wireArgv(_ argv: [String]) -> JSON { .array(argv.map { .string($0) }) }

extension RunCommandEffect: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("argv", wireArgv(argv)), ("undo", undoArgv.map(wireArgv) ?? .null), ("timeout", timeout.map { .double($0) } ?? .null)]
    }
    package init(wireFields f: JSON) throws {
        self.init(argv: try f.wireStrings("argv"), undoArgv: f["undo"]?.arrayValue == nil ? nil : try f.wireStrings("undo"),
                  timeout: f.wireSeconds("timeout"))
    }
    package var commandLines: [[String]] { [argv] + (undoArgv.map { [$0] } ?? []) }
}

extension ReloadService: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("service", .string(service)), ("argv", wireArgv(argv)), ("test", testArgv.map(wireArgv) ?? .null)]
    }
    package init(wireFields f: JSON) throws {
        self.init(service: try f.wireString("service"), argv: try f.wireStrings("argv"),
                  testArgv: f["test"]?.arrayValue == nil ? nil : try f.wireStrings("test"))
    }
    package var commandLines: [[String]] { [argv] + (testArgv.map { [$0] } ?? []) }
}

extension CrontabEdit: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("user", .string(user)), ("before", .string(before)), ("after", .string(after)), ("change", .string(change))]
    }
    package init(wireFields f: JSON) throws {
        self.init(user: try f.wireString("user"), before: try f.wireString("before"), after: try f.wireString("after"),
                  change: try f.wireString("change"))
    }
}

extension AddressChange: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("adds", .bool(adds)), ("interface", .string(interface)), ("address", .string(address))]
    }
    package init(wireFields f: JSON) throws {
        guard let adds = f["adds"]?.boolValue else { throw WireError("the field 'adds' is missing") }
        self.init(adds: adds, interface: try f.wireString("interface"), address: try f.wireString("address"))
    }
}

extension VcsKind {
    init(wire f: JSON) throws {
        guard let kind = VcsKind(rawValue: try f.wireString("vcs")) else { throw WireError("the field 'vcs' names no version control") }
        self = kind
    }
}

extension VcsCheckout: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("vcs", .string(kind_.rawValue)), ("url", .string(url)), ("path", path.wire), ("revision", revision.map { .string($0) } ?? .null)]
    }
    package init(wireFields f: JSON) throws {
        self.init(kind_: try VcsKind(wire: f), url: try f.wireString("url"), path: try f.wirePath("path"),
                  revision: f["revision"]?.stringValue)
    }
    package var commandLines: [[String]] { [kind_.checkout(url: url, path: path.real, revision: revision)] }
}

extension VcsUpdate: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("vcs", .string(kind_.rawValue)), ("path", path.wire), ("from_revision", .string(fromRevision)),
         ("revision", revision.map { .string($0) } ?? .null)]
    }
    package init(wireFields f: JSON) throws {
        self.init(kind_: try VcsKind(wire: f), path: try f.wirePath("path"), fromRevision: try f.wireString("from_revision"),
                  revision: f["revision"]?.stringValue)
    }
}

extension RsyncEffect: WireEffect {
    /// The password crosses the agent's channel (never a command line there either).
    package var wireFields: [(String, JSON)] {
        [("argv", wireArgv(argv)), ("source", .string(source)), ("destination", .string(destination)), ("delete", .bool(delete)),
         ("password", password.map { .string($0) } ?? .null), ("undo", undoArgv.map(wireArgv) ?? .null), ("remote", .bool(remote)),
         ("local_paths", wireArgv(localPaths))]
    }
    package init(wireFields f: JSON) throws {
        self.init(argv: try f.wireStrings("argv"), source: try f.wireString("source"), destination: try f.wireString("destination"),
                  delete: f["delete"]?.boolValue ?? false, password: f["password"]?.stringValue,
                  undoArgv: f["undo"]?.arrayValue == nil ? nil : try f.wireStrings("undo"), remote: f["remote"]?.boolValue ?? false,
                  localPaths: try f.wireStrings("local_paths"))
    }
    package var commandLines: [[String]] { [argv] + (undoArgv.map { [$0] } ?? []) }
}

extension ChangeOwner: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("path", path.wire), ("owner", .string(owner)), ("uid", .int(Int64(uid))), ("gid", .int(Int64(gid))),
         ("old_uid", .int(Int64(old.uid))), ("old_gid", .int(Int64(old.gid)))]
    }
    package init(wireFields f: JSON) throws {
        func id(_ key: String) throws -> UInt32 { UInt32(truncatingIfNeeded: try f.wireInt(key)) }
        self.init(path: try f.wirePath("path"), owner: try f.wireString("owner"), uid: try id("uid"), gid: try id("gid"),
                  old: (try id("old_uid"), try id("old_gid")))
    }
}

extension RelinkTree: WireEffect {
    package var wireFields: [(String, JSON)] {
        [("directory", directory.wire), ("from", .string(fromPrefix)), ("to", .string(toPrefix)),
         ("links", .array(links.map { .array([.string($0.path), .string($0.oldTarget), .string($0.newTarget)]) }))]
    }
    package init(wireFields f: JSON) throws {
        let links = try (f["links"]?.arrayValue ?? []).map { entry -> Link in
            guard let parts = entry.arrayValue?.compactMap(\.stringValue), parts.count == 3 else { throw WireError("a link of fs.relink_tree is not [path, old, new]") }
            return Link(path: parts[0], oldTarget: parts[1], newTarget: parts[2])
        }
        self.init(directory: try f.wirePath("directory"), fromPrefix: try f.wireString("from"), toPrefix: try f.wireString("to"), links: links)
    }
}

extension BindMount: WireEffect {
    package var wireFields: [(String, JSON)] { [("source", source.wire), ("target", target.wire)] }
    package init(wireFields f: JSON) throws {
        self.init(source: try f.wirePath("source"), target: try f.wirePath("target"))
    }
}

extension Unmount: WireEffect {
    package var wireFields: [(String, JSON)] { [("target", target.wire), ("source", source.map { .string($0) } ?? .null)] }
    package init(wireFields f: JSON) throws {
        self.init(target: try f.wirePath("target"), source: f["source"]?.stringValue)
    }
}
