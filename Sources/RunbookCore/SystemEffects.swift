// Effects on the system beyond files and rows: commands, bind mounts and service reloads
// (addresses: AddressEffects.swift). Each renders its action through the platform adapter
// as an argv.

import RunbookSupport

private func argvJSON(_ argv: [String]) -> JSON { .array(argv.map { .string($0) }) }

@discardableResult
func runChecked(_ argv: [String], timeout: Double? = 120) throws -> ProcessResult {
    try ProcessRunner.check(argv, timeout: timeout)
}

extension EffectOutcome {
    /// What a command (cmd.run, remote.run) gives the runbook: its status and output. A
    /// command that failed throws, shown as `shown`.
    static func finishedCommand(_ result: ProcessResult, shown: [String]) throws -> EffectOutcome {
        guard result.succeeded else { throw ProcessFailure(argv: shown, result: result, problem: "failed") }
        return EffectOutcome(result: .object([("status", .int(Int64(result.status))), ("stdout", .string(result.outputText)),
                                              ("stderr", .string(result.errorText))]))
    }

    /// The same in a plan: it succeeds, with its output known after apply.
    static var plannedCommand: EffectOutcome {
        EffectOutcome(result: .object([("status", .int(0)), ("stdout", .string(SymbolicValue.text("output"))), ("stderr", .string(""))]))
    }
}

/// `cmd.run`: the explicit escape hatch. Irreversible unless it declares its undo argv.
package struct RunCommandEffect: Effect {
    package let argv: [String]
    package let undoArgv: [String]?
    package let timeout: Double?
    package var kind: String { "cmd.run" }
    package var sign: ChangeSign { undoArgv == nil ? .irreversible : .change }
    package var summary: String { "run " + argv.map(ShellWords.quote).joined(separator: " ") }
    package var identity: JSON { .object([("argv", argvJSON(argv))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        undoArgv.map { [RunCommandUndo(argv: $0)] }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try .finishedCommand(try ProcessRunner.run(argv, timeout: timeout), shown: argv)
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome { .plannedCommand }

    package init(argv: [String], undoArgv: [String]?, timeout: Double?) {
        self.argv = argv
        self.undoArgv = undoArgv
        self.timeout = timeout
    }
}

package struct BindMount: Effect {
    package let source: EffectPath
    package let target: EffectPath
    package var kind: String { "mount.bind" }
    package var sign: ChangeSign { .create }
    package var summary: String { "bind-mount \(source.shown) on \(target.shown)" }
    package var identity: JSON { .object([("source", .string(source.shown)), ("target", .string(target.shown))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [UnmountUndo(target: target.real, source: source.real)]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try BindMount.mount(source.real, on: target.real, world)
        return EffectOutcome()
    }

    /// Both directories are opened by the walk (a link a customer planted is refused) and
    /// mounted as opened (PlatformAdapter.bindMount(sourceDescriptor:targetDescriptor:)).
    package static func mount(_ source: String, on target: String, _ world: World) throws {
        let opened = try world.paths.openExisting(source, directory: true)
        defer { close(opened) }
        let shown = world.paths.virtual(target)
        let mountPoint = try world.paths.withParent(of: target) { directory, name -> Int32 in
            let descriptor = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                let code = errno
                if code == ELOOP || code == ENOTDIR || code == EMLINK {
                    throw PathError(path: shown, problem: "is not a directory (a symlink is never a mount point)")
                }
                throw SystemError("mount", shown, code: code)
            }
            return descriptor
        }
        defer { close(mountPoint) }
        try runChecked(world.platform.bindMount(sourceDescriptor: opened, targetDescriptor: mountPoint)
            ?? world.platform.bindMount(source: source, target: target))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedMounts[target.real] = source.real
        return EffectOutcome()
    }

    package init(source: EffectPath, target: EffectPath) {
        self.source = source
        self.target = target
    }
}

package struct Unmount: Effect {
    package let target: EffectPath
    /// The mounted source, so undo can mount it again (nil: cannot be undone).
    package let source: String?
    package var kind: String { "mount.unbind" }
    package var sign: ChangeSign { source == nil ? .irreversible : .remove }
    package var summary: String { "unmount \(target.shown)" }
    package var identity: JSON { .object([("target", .string(target.shown))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        source.map { [BindMountUndo(source: $0, target: target.real)] }
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try Unmount.unmount(target.real, world)
        return EffectOutcome()
    }

    /// umount(8) takes a path (an open mount point cannot be unmounted: it is busy), so the
    /// way to it is walked first: a link a customer planted on it is refused, not followed
    /// to some other mount. (What is left is the moment between this and umount(8), in
    /// which a customer could at most unmount another mount, never write anywhere.)
    package static func unmount(_ target: String, _ world: World) throws {
        let shown = world.paths.virtual(target)
        try world.paths.withParent(of: target) { directory, name in
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw SystemError("umount", shown) }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw PathError(path: shown, problem: "is not a directory (a symlink is never a mount point)")
            }
        }
        try runChecked(world.platform.unmount(target: target))
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedMounts[target.real] = Overlay.unmounted
        return EffectOutcome()
    }

    package init(target: EffectPath, source: String?) {
        self.target = target
        self.source = source
    }
}

/// A service reload, run once per service at the end of a step after its config test
/// passed. Undo reloads again, after every other undo step restored the files.
package struct ReloadService: Effect {
    package let service: String
    package let argv: [String]
    package let testArgv: [String]?
    package var kind: String { "service.reload" }
    package var sign: ChangeSign { .change }
    // "after its config test", not "its config test passed": the same summary is printed in a
    // dry-run plan, where the test has not run (the planned files are not on disk yet).
    package var summary: String { "reload \(service)" + (testArgv == nil ? "" : " (after its config test)") }
    package var identity: JSON { .object([("service", .string(service))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [ReloadServiceUndo(service: service, argv: argv, test: testArgv)]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try runChecked(argv, timeout: 60)
        return EffectOutcome()
    }

    package init(service: String, argv: [String], testArgv: [String]?) {
        self.service = service
        self.argv = argv
        self.testArgv = testArgv
    }
}

// MARK: - Undo

private func strings(_ json: JSON?) -> [String] { json?.arrayValue?.compactMap(\.stringValue) ?? [] }

/// Runs the command a runbook gave as the undo of a command (cmd.run, rsync, remote.run).
package struct RunCommandUndo: UndoAction {
    package static let op = "cmd.run"
    package let argv: [String]

    package var description: String { "run " + argv.joined(separator: " ") }

    package func run(in world: World) throws { try runChecked(argv) }
}

extension RunCommandUndo {
    package init(args: JSON) throws { argv = strings(args["argv"]) }

    package var args: [(String, JSON)] { [("argv", argvJSON(argv))] }
}

/// Mounts `source` on `target` again, unless something is mounted there.
package struct BindMountUndo: UndoAction {
    package static let op = "mount.bind"
    package let source: String
    package let target: String

    package var description: String { "mount \(source) on \(target) again" }

    package func run(in world: World) throws {
        if MountTable.current(platform: world.platform).contains(where: { $0.target == target }) { return }
        try BindMount.mount(source, on: target, world)
    }
}

extension BindMountUndo {
    package init(args: JSON) throws {
        source = try args.undoString("source", of: Self.op)
        target = try args.undoString("target", of: Self.op)
    }

    package var args: [(String, JSON)] { [("source", .string(source)), ("target", .string(target))] }
}

/// Unmounts what the run mounted, if it is still mounted.
package struct UnmountUndo: UndoAction {
    package static let op = "mount.unmount"
    package let target: String
    /// Journaled for the record only: the target is what is unmounted.
    package let source: String

    package var description: String { "unmount \(target)" }

    package func run(in world: World) throws {
        guard MountTable.current(platform: world.platform).contains(where: { $0.target == target }) else { return }
        try Unmount.unmount(target, world)
    }
}

extension UnmountUndo {
    package init(args: JSON) throws {
        target = try args.undoString("target", of: Self.op)
        source = args["source"]?.stringValue ?? ""
    }

    package var args: [(String, JSON)] { [("target", .string(target)), ("source", .string(source))] }
}

/// Reloads a service once the files it reads are restored: last, once per service, and only
/// if the restored configuration passes its test (never load a broken one).
package struct ReloadServiceUndo: UndoAction {
    package static let op = "service.reload"
    package var runsLast: Bool { true }
    package let service: String
    package let argv: [String]
    /// The configuration test, when the platform has one.
    package let test: [String]?

    package var description: String { "reload \(service) with the restored configuration" }

    package func run(in world: World) throws {
        if let test, !test.isEmpty { try runChecked(test, timeout: 60) }
        try runChecked(argv, timeout: 60)
    }
}

extension ReloadServiceUndo {
    package init(args: JSON) throws {
        service = args["service"]?.stringValue ?? ""
        argv = strings(args["argv"])
        test = args["test"]?.arrayValue == nil ? nil : strings(args["test"])
    }

    package var args: [(String, JSON)] { [("service", .string(service)), ("argv", argvJSON(argv)), ("test", test.map(argvJSON) ?? .null)] }
}

/// Reads of the network state (real in a dry-run too).
package enum NetworkState {
    /// The interface's addresses, read by `run` (here, or on another host).
    package static func addresses(_ interface: String, platform: PlatformAdapter, reading run: ProgramReader = ProcessRunner.reading) -> [String] {
        guard let result = try? run(platform.listAddresses(interface: interface), 10), result.succeeded else { return [] }
        return platform.parseAddresses(result.outputText)
    }

    /// One echo request, sent by `run` (here, or from another host).
    package static func answersPing(_ address: String, platform: PlatformAdapter, reading run: ProgramReader = ProcessRunner.reading) -> Bool {
        (try? run(platform.ping(address: address), 5))?.succeeded ?? false
    }
}

/// Shows an argv the way a shell user would type it (for plans and logs only: commands
/// are never run through a shell).
package enum ShellWords {
    package static func quote(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
                    UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "@"), UInt8(ascii: "+")].contains(byte)
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingAll("'", with: "'\\''") + "'"
    }
}
