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

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        undoArgv.map { [RunCommandUndo(argv: $0)] }
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

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [UnmountUndo(target: target.real, source: source.real)]
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

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        source.map { [BindMountUndo(source: $0, target: target.real)] }
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

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [RemoveAddressUndo(interface: interface, address: address)]
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

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [AddAddressUndo(interface: interface, address: address)]
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

    func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        [ReloadServiceUndo(service: service, argv: argv, test: testArgv)]
    }

    func apply(_ world: World) throws -> EffectOutcome {
        try runChecked(argv, timeout: 60)
        return EffectOutcome()
    }
}

// MARK: - Undo

private func strings(_ json: JSON?) -> [String] { json?.arrayValue?.compactMap(\.stringValue) ?? [] }

/// Runs the command a runbook gave as the undo of a command (cmd.run, rsync, remote.run).
struct RunCommandUndo: UndoAction {
    static let op = "cmd.run"
    let argv: [String]

    init(argv: [String]) { self.argv = argv }
    init(args: JSON) throws { argv = strings(args["argv"]) }
    var args: [(String, JSON)] { [("argv", argvJSON(argv))] }
    var description: String { "run " + argv.joined(separator: " ") }

    func run(in world: World) throws { try runChecked(argv) }
}

/// Mounts `source` on `target` again, unless something is mounted there.
struct BindMountUndo: UndoAction {
    static let op = "mount.bind"
    let source: String
    let target: String

    init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    init(args: JSON) throws {
        source = try args.undoString("source", of: Self.op)
        target = try args.undoString("target", of: Self.op)
    }

    var args: [(String, JSON)] { [("source", .string(source)), ("target", .string(target))] }
    var description: String { "mount \(source) on \(target) again" }

    func run(in world: World) throws {
        if MountTable.current(platform: world.platform).contains(where: { $0.target == target }) { return }
        try BindMount.mount(source, on: target, world)
    }
}

/// Unmounts what the run mounted, if it is still mounted.
struct UnmountUndo: UndoAction {
    static let op = "mount.unmount"
    let target: String
    let source: String

    init(target: String, source: String) {
        self.target = target
        self.source = source
    }

    /// The source is journaled for the record only: the target is what is unmounted.
    init(args: JSON) throws {
        target = try args.undoString("target", of: Self.op)
        source = args["source"]?.stringValue ?? ""
    }

    var args: [(String, JSON)] { [("target", .string(target)), ("source", .string(source))] }
    var description: String { "unmount \(target)" }

    func run(in world: World) throws {
        guard MountTable.current(platform: world.platform).contains(where: { $0.target == target }) else { return }
        try Unmount.unmount(target, world)
    }
}

/// Adds an address the run removed, unless it is there.
struct AddAddressUndo: UndoAction {
    static let op = "net.add_ip"
    let interface: String
    let address: String

    init(interface: String, address: String) {
        self.interface = interface
        self.address = address
    }

    init(args: JSON) throws {
        interface = try args.undoString("interface", of: Self.op)
        address = try args.undoString("address", of: Self.op)
    }

    var args: [(String, JSON)] { [("interface", .string(interface)), ("address", .string(address))] }
    var description: String { "add \(address) to \(interface) again" }

    func run(in world: World) throws {
        if NetworkState.addresses(interface, platform: world.platform).contains(address) { return }
        try runChecked(world.platform.addAddress(interface: interface, address: address))
    }
}

/// Removes an address the run added, if it is there.
struct RemoveAddressUndo: UndoAction {
    static let op = "net.remove_ip"
    let interface: String
    let address: String

    init(interface: String, address: String) {
        self.interface = interface
        self.address = address
    }

    init(args: JSON) throws {
        interface = try args.undoString("interface", of: Self.op)
        address = try args.undoString("address", of: Self.op)
    }

    var args: [(String, JSON)] { [("interface", .string(interface)), ("address", .string(address))] }
    var description: String { "remove \(address) from \(interface)" }

    func run(in world: World) throws {
        guard NetworkState.addresses(interface, platform: world.platform).contains(address) else { return }
        try runChecked(world.platform.removeAddress(interface: interface, address: address))
    }
}

/// Reloads a service once the files it reads are restored: last, once per service, and only
/// if the restored configuration passes its test (never load a broken one).
struct ReloadServiceUndo: UndoAction {
    static let op = "service.reload"
    static let runsLast = true
    let service: String
    let argv: [String]
    /// The configuration test, when the platform has one.
    let test: [String]?

    init(service: String, argv: [String], test: [String]?) {
        self.service = service
        self.argv = argv
        self.test = test
    }

    init(args: JSON) throws {
        service = args["service"]?.stringValue ?? ""
        argv = strings(args["argv"])
        test = args["test"]?.arrayValue == nil ? nil : strings(args["test"])
    }

    var args: [(String, JSON)] { [("service", .string(service)), ("argv", argvJSON(argv)), ("test", test.map(argvJSON) ?? .null)] }
    var description: String { "reload \(service) with the restored configuration" }

    func run(in world: World) throws {
        if let test, !test.isEmpty { try runChecked(test, timeout: 60) }
        try runChecked(argv, timeout: 60)
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
