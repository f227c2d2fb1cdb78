// Effects on the system beyond files and rows: commands, bind mounts, IP addresses and
// service reloads. Each renders its action through the platform adapter as an argv.

private func argvJSON(_ argv: [String]) -> JSON { .array(argv.map { .string($0) }) }

@discardableResult
private func runChecked(_ argv: [String], timeout: Double? = 120) throws -> ProcessResult {
    try ProcessRunner.check(argv, timeout: timeout)
}

/// `cmd.run`: the explicit escape hatch. Irreversible unless it declares its undo argv.
struct RunCommandEffect: Effect {
    let argv: [String]
    let undoArgv: [String]?
    let timeout: Double?
    var kind: String { "cmd.run" }
    var sign: ChangeSign { undoArgv == nil ? .irreversible : .change }
    var summary: String { "run " + argv.map(ShellWords.quote).joined(separator: " ") }
    var identity: JSON { .object([("argv", argvJSON(argv))]) }

    func prepareUndo(_ world: World) throws -> [UndoStep]? {
        undoArgv.map { [UndoStep("cmd.run", [("argv", argvJSON($0))])] }
    }

    func apply(_ world: World) throws -> EffectOutcome {
        let result = try ProcessRunner.run(argv, timeout: timeout)
        guard result.succeeded else { throw ProcessFailure(argv: argv, result: result, problem: "failed") }
        return EffectOutcome(result: .object([("status", .int(Int64(result.status))), ("stdout", .string(result.outputText)),
                                              ("stderr", .string(result.errorText))]))
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        EffectOutcome(result: .object([("status", .int(0)), ("stdout", .string(SymbolicValue.text("output"))),
                                       ("stderr", .string(""))]))
    }
}

struct BindMount: Effect {
    let source: EffectPath
    let target: EffectPath
    var kind: String { "mount.bind" }
    var sign: ChangeSign { .create }
    var summary: String { "bind-mount \(source.shown) on \(target.shown)" }
    var identity: JSON { .object([("source", .string(source.shown)), ("target", .string(target.shown))]) }

    func prepareUndo(_ world: World) throws -> [UndoStep]? {
        [UndoStep("mount.unmount", [("target", .string(target.real)), ("source", .string(source.real))])]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try BindMount.mount(source.real, on: target.real, world)
        return EffectOutcome()
    }

    /// Both directories are opened by the walk (a link a customer planted is refused) and
    /// mounted as opened (PlatformAdapter.bindMount(sourceDescriptor:targetDescriptor:)).
    static func mount(_ source: String, on target: String, _ world: World) throws {
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

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedMounts[target.real] = source.real
        return EffectOutcome()
    }
}

struct Unmount: Effect {
    let target: EffectPath
    /// The mounted source, so undo can mount it again (nil: cannot be undone).
    let source: String?
    var kind: String { "mount.unbind" }
    var sign: ChangeSign { source == nil ? .irreversible : .remove }
    var summary: String { "unmount \(target.shown)" }
    var identity: JSON { .object([("target", .string(target.shown))]) }

    func prepareUndo(_ world: World) throws -> [UndoStep]? {
        source.map { [UndoStep("mount.bind", [("source", .string($0)), ("target", .string(target.real))])] }
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try Unmount.unmount(target.real, world)
        return EffectOutcome()
    }

    /// umount(8) takes a path (an open mount point cannot be unmounted: it is busy), so the
    /// way to it is walked first: a link a customer planted on it is refused, not followed
    /// to some other mount. (What is left is the moment between this and umount(8), in
    /// which a customer could at most unmount another mount, never write anywhere.)
    static func unmount(_ target: String, _ world: World) throws {
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

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedMounts[target.real] = Overlay.unmounted
        return EffectOutcome()
    }
}

struct AddAddress: Effect {
    let interface: String
    let address: String
    var kind: String { "net.add_ip" }
    var sign: ChangeSign { .create }
    var summary: String { "add address \(address) to \(interface)" }
    var identity: JSON { .object([("interface", .string(interface)), ("address", .string(address))]) }

    func prepareUndo(_ world: World) throws -> [UndoStep]? {
        [UndoStep("net.remove_ip", [("interface", .string(interface)), ("address", .string(address))])]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try runChecked(world.platform.addAddress(interface: interface, address: address))
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedAddresses[interface + " " + address] = true
        return EffectOutcome()
    }
}

struct RemoveAddress: Effect {
    let interface: String
    let address: String
    var kind: String { "net.remove_ip" }
    var sign: ChangeSign { .remove }
    var summary: String { "remove address \(address) from \(interface)" }
    var identity: JSON { .object([("interface", .string(interface)), ("address", .string(address))]) }

    func prepareUndo(_ world: World) throws -> [UndoStep]? {
        [UndoStep("net.add_ip", [("interface", .string(interface)), ("address", .string(address))])]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try runChecked(world.platform.removeAddress(interface: interface, address: address))
        return EffectOutcome()
    }

    func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedAddresses[interface + " " + address] = false
        return EffectOutcome()
    }
}

/// A service reload, run once per service at the end of a step after its config test
/// passed. Undo reloads again, after every other undo step restored the files.
struct ReloadService: Effect {
    let service: String
    let argv: [String]
    let testArgv: [String]?
    var kind: String { "service.reload" }
    var sign: ChangeSign { .change }
    // "after its config test", not "its config test passed": the same summary is printed in a
    // dry-run plan, where the test has not run (the planned files are not on disk yet).
    var summary: String { "reload \(service)" + (testArgv == nil ? "" : " (after its config test)") }
    var identity: JSON { .object([("service", .string(service))]) }

    func prepareUndo(_ world: World) throws -> [UndoStep]? {
        [UndoStep("service.reload", [("service", .string(service)), ("argv", argvJSON(argv)),
                                     ("test", testArgv.map(argvJSON) ?? .null)])]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try runChecked(argv, timeout: 60)
        return EffectOutcome()
    }
}

/// Undo operations for system effects. Each checks the current state first.
enum SystemUndo {
    static func strings(_ json: JSON?) -> [String] { json?.arrayValue?.compactMap(\.stringValue) ?? [] }

    static func runCommand(_ step: UndoStep, _ world: World) throws {
        try runChecked(strings(step.args["argv"]))
    }

    static func bind(_ step: UndoStep, _ world: World) throws {
        let source = try step.string("source"), target = try step.string("target")
        if MountTable.current(platform: world.platform).contains(where: { $0.target == target }) { return }
        try BindMount.mount(source, on: target, world)
    }

    static func unmount(_ step: UndoStep, _ world: World) throws {
        let target = try step.string("target")
        guard MountTable.current(platform: world.platform).contains(where: { $0.target == target }) else { return }
        try Unmount.unmount(target, world)
    }

    static func addAddress(_ step: UndoStep, _ world: World) throws {
        let interface = try step.string("interface"), address = try step.string("address")
        if NetworkState.addresses(interface, platform: world.platform).contains(address) { return }
        try runChecked(world.platform.addAddress(interface: interface, address: address))
    }

    static func removeAddress(_ step: UndoStep, _ world: World) throws {
        let interface = try step.string("interface"), address = try step.string("address")
        guard NetworkState.addresses(interface, platform: world.platform).contains(address) else { return }
        try runChecked(world.platform.removeAddress(interface: interface, address: address))
    }

    /// Reloads only if the (restored) configuration passes its test: never load a broken one.
    static func reloadService(_ step: UndoStep, _ world: World) throws {
        let test = strings(step.args["test"])
        if !test.isEmpty { try runChecked(test, timeout: 60) }
        try runChecked(strings(step.args["argv"]), timeout: 60)
    }
}

/// Reads of the network state (real in a dry-run too).
enum NetworkState {
    static func addresses(_ interface: String, platform: PlatformAdapter) -> [String] {
        guard let result = try? ProcessRunner.run(platform.listAddresses(interface: interface), timeout: 10), result.succeeded else {
            return []
        }
        return platform.parseAddresses(result.outputText)
    }

    static func answersPing(_ address: String, platform: PlatformAdapter) -> Bool {
        (try? ProcessRunner.run(platform.ping(address: address), timeout: 5))?.succeeded ?? false
    }
}

/// Shows an argv the way a shell user would type it (for plans and logs only: commands
/// are never run through a shell).
enum ShellWords {
    static func quote(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
                    UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "@"), UInt8(ascii: "+")].contains(byte)
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingAll("'", with: "'\\''") + "'"
    }
}
