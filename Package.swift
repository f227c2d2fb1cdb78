// swift-tools-version:6.0
// runbook: named operational runbooks (Lua 5.4) with typed arguments, dry-run,
// step logging, crash-safe undo and cleanup hooks.
import PackageDescription

// Start-up time (W0 in docs/performance.md), Linux only: FreeBSD's toolchain is left as
// it is. The Swift runtime is linked into the executable instead of loaded from a dozen
// shared libraries at every start (-static-stdlib; the three libraries after it are the
// ones FoundationEssentials, used by ArgumentParser, needs but the toolchain's static link
// list leaves out). lld, because GNU gold prints a warning for glibc's mktemp inside the
// static Foundation. `-z pack-relative-relocs` keeps the executable position-independent
// but stores its ~40,000 relative relocations as a compact DT_RELR table (glibc 2.36+, as
// in Debian 12): the loader reads 8 KB instead of 1 MB at every start (W0: ~1 ms).
let staticSwiftRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-use-ld=lld", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims",
                  "-Xlinker", "-lswiftSynchronization", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                 .when(platforms: [.linux])),
]

// The MariaDB client headers (Debian, FreeBSD) for the targets that see the C API. CMariaDB
// does not name its pkg-config entry: that would link libmariadb into every binary, and
// runbook loads it on the first connection instead (Sources/MariaDBLoader/MariaDBLoader.c).
let mariaDBHeaders = ["/usr/include/mariadb", "/usr/local/include/mariadb"]
let mariaDBCFlags: [CSetting] = [.unsafeFlags(mariaDBHeaders.map { "-I" + $0 })]
let mariaDBSwiftFlags: [SwiftSetting] = [.unsafeFlags(mariaDBHeaders.flatMap { ["-Xcc", "-I" + $0] })]

// Release builds leave out the run-time exclusivity checks (a begin/end-access call around
// every access to a class's stored property: ~3% of W4's instructions, docs/performance.md).
// Debug builds, which the tests run, keep them, so a violation still shows in the tests.
let releaseSpeed: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "runbook",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "runbook", targets: ["runbook"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries, each with a shim header that re-declares the macros Swift cannot import.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"]), .brew(["lua"])]
        ),
        .systemLibrary(
            name: "CMariaDB",
            providers: [.apt(["libmariadb-dev"])]
        ),
        // A safe, runbook-agnostic Lua 5.4 bridge: state, conversions, sandbox, budget.
        .target(name: "LuaBridge", dependencies: ["CLua"], swiftSettings: releaseSpeed),
        // A small MySQL/MariaDB client: prepared statements, transactions, typed errors.
        // libmariadb is loaded on the first connection, not at start-up (MariaDBLoader.c).
        .target(name: "MariaDBLoader", dependencies: ["CMariaDB"], cSettings: mariaDBCFlags),
        .target(name: "MySQLClient", dependencies: ["CMariaDB", "MariaDBLoader"], swiftSettings: mariaDBSwiftFlags + releaseSpeed),
        // System calls Swift's Glibc module does not import (default ACLs, openat helpers).
        .target(name: "CSystem"),
        // The runbook engine, in layers: each target depends only on those above it in this
        // list, so a dependency loop does not compile (docs/architecture.md draws them).
        // Paths, processes, JSON, redaction, signals, templates: what any layer may use.
        .target(name: "RunbookSupport", dependencies: ["CSystem", "LuaBridge"], swiftSettings: releaseSpeed),
        // What operators and authors write: runbook declarations, arguments, the config file.
        .target(name: "RunbookConfig", dependencies: ["RunbookSupport", "LuaBridge"], swiftSettings: releaseSpeed),
        // Effects as values, their undo actions, the plan state (overlay), database effects.
        .target(name: "RunbookCore", dependencies: ["RunbookConfig", "RunbookSupport", "MySQLClient", "LuaBridge", "CSystem"],
                swiftSettings: mariaDBSwiftFlags + releaseSpeed),
        // The journal: one writer, one reader, run records and statuses.
        .target(name: "RunbookJournal", dependencies: ["RunbookCore", "RunbookSupport"], swiftSettings: releaseSpeed),
        // One run: the session, executors, undo, locks, output, the queue worker.
        .target(name: "RunbookRun", dependencies: ["RunbookJournal", "RunbookCore", "RunbookConfig", "RunbookSupport", "LuaBridge", "MySQLClient"],
                swiftSettings: mariaDBSwiftFlags + releaseSpeed),
        // The Lua API: one file per module, registering its primitives.
        .target(name: "RunbookModules", dependencies: ["RunbookRun", "RunbookJournal", "RunbookCore", "RunbookConfig", "RunbookSupport", "LuaBridge", "MySQLClient"],
                swiftSettings: mariaDBSwiftFlags + releaseSpeed),
        // The engine: runs and undoes runbooks, checks and documents them.
        .target(name: "RunbookEngine", dependencies: ["RunbookModules", "RunbookRun", "RunbookJournal", "RunbookCore", "RunbookConfig", "RunbookSupport", "LuaBridge", "MySQLClient"],
                swiftSettings: mariaDBSwiftFlags + releaseSpeed),
        .target(
            name: "RunbookCLI",
            dependencies: [
                "RunbookEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: mariaDBSwiftFlags
        ),
        .executableTarget(name: "runbook", dependencies: ["RunbookCLI"], swiftSettings: mariaDBSwiftFlags,
                          linkerSettings: staticSwiftRuntime),
        // The test kit: sandboxes, worlds, servers and expectations the test targets share.
        // Only test targets depend on it; it is set-up, not tests.
        .target(name: "RunbookTestKit", dependencies: ["RunbookEngine", "RunbookModules", "RunbookRun", "RunbookJournal", "RunbookCore",
                                                  "RunbookConfig", "RunbookSupport", "RunbookCLI", "LuaBridge", "MySQLClient"], path: "Tests/RunbookTestKit",
                swiftSettings: mariaDBSwiftFlags),
        .testTarget(name: "LuaBridgeTests", dependencies: ["LuaBridge"]),
        .testTarget(name: "MySQLClientTests", dependencies: ["MySQLClient"], swiftSettings: mariaDBSwiftFlags),
        // Fixtures/ holds data files the tests read by path (#filePath), not sources.
        .testTarget(name: "RunbookEngineTests", dependencies: ["RunbookEngine", "RunbookModules", "RunbookRun", "RunbookJournal",
                                                             "RunbookCore", "RunbookConfig", "RunbookSupport", "RunbookCLI",
                                                             "RunbookTestKit"], exclude: ["Fixtures"],
                    swiftSettings: mariaDBSwiftFlags),
        // Benchmarks (bench/run): a C baseline and the workload runner.
        .target(name: "CBenchSupport", dependencies: ["CLua"], path: "bench/Sources/CBenchSupport"),
        .executableTarget(
            name: "runbook-bench",
            dependencies: ["LuaBridge", "CBenchSupport", "CLua"],
            path: "bench/Sources/runbook-bench"
        ),
        // W0's baseline: the smallest Swift program, linked like `runbook`.
        .executableTarget(name: "bench-hello", path: "bench/Sources/bench-hello", linkerSettings: staticSwiftRuntime),
        // W1/W2's baselines: the same mkdir/symlink/unlink system calls, from C.
        .executableTarget(name: "bench-fs", path: "bench/Sources/bench-fs"),
        // W4's baseline: the same INSERTs through libmariadb's prepared statements, from C.
        .executableTarget(name: "bench-db", dependencies: ["CMariaDB"], path: "bench/Sources/bench-db",
                          cSettings: mariaDBCFlags, linkerSettings: [.linkedLibrary("mariadb")]),
    ]
)
