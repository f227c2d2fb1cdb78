// The engine's configuration: where runbooks, stdlib and state live, the root, and the
// named database connections. From a TOML file, the environment and the command line.

import RunbookSupport

/// A named database connection (`[databases.NAME]` in the config file).
public struct DatabaseConfig: Sendable {
    public var name: String
    public var socket: String?
    public var host: String?
    public var port: Int
    public var user: String
    /// Read from `password_file` (preferred) or `password`; never printed.
    public var password: String?
    public var database: String?
    public var connectTimeout: Int
    public var readTimeout: Int

    package init(name: String, socket: String? = nil, host: String? = nil, port: Int, user: String, password: String? = nil, database: String? = nil, connectTimeout: Int, readTimeout: Int) {
        self.name = name
        self.socket = socket
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }
}

/// Another host, reached through the system's OpenSSH client (`[hosts.NAME]`).
public struct HostConfig: Sendable {
    public var name: String
    public var address: String
    public var user: String?
    public var port: Int?
    /// Extra `-o Key=Value` options for ssh.
    public var sshOptions: [String]
    public var identityFile: String?
    /// How to start runbook on that host, for remote.runbook (default: `runbook` in PATH;
    /// an array may add engine options, e.g. ["/usr/local/bin/runbook", "--config", "..."]).
    public var runbookCommand: [String]
    /// The entry says how runbook starts there (`runbook = ...`): that host has an agent, so
    /// pushes to it are undone there.
    public var hasAgent: Bool = false
}

/// Command-line and environment overrides, applied over the config file.
public struct EngineOverrides: Sendable {
    public var configPath: String?
    public var runbookDirs: [String] = []
    public var stateDir: String?
    public var root: String?
    public var durable: Bool = false
    public init() {}
}

public struct EngineConfig: Sendable {
    public var root = "/"
    public var stateDir: String
    /// Searched in order: --runbooks dirs, configured dirs, the project's runbooks/.
    public var runbookDirs: [String] = []
    public var stdlibDirs: [String] = []
    public var databases: [String: DatabaseConfig] = [:]
    /// A database whose GET_LOCK also guards named locks, so two hosts exclude each other.
    public var lockDatabase: String?
    public var durable = false
    /// The `[settings]` table, given to runbooks as the global `settings`.
    public var settings: JSON = .object([])
    public var hosts: [String: HostConfig] = [:]
    /// The local mail submission program (`sendmail -t -i`).
    public var sendmail = "sendmail"
    /// Forced platform (otherwise detected).
    public var platform: PlatformKind = .detected
    public var sourcePath: String?

    public init(stateDir: String) { self.stateDir = stateDir }

    /// Resolves the configuration: defaults, then the file, then environment and flags.
    public static func resolve(_ overrides: EngineOverrides) throws -> EngineConfig {
        let home = Posix.environment("HOME") ?? "/root"
        var config = EngineConfig(stateDir: getuid() == 0 ? systemStateDir : home + "/.local/state/runbook")
        let path = overrides.configPath ?? Posix.environment("RUNBOOK_CONFIG") ?? defaultConfigPath()
        if let path {
            try config.read(file: path)
        }
        if let state = Posix.environment("RUNBOOK_STATE_DIR"), !state.isEmpty { config.stateDir = state }
        if let state = overrides.stateDir { config.stateDir = state }
        if let root = overrides.root { config.root = root }
        if overrides.durable { config.durable = true }
        config.runbookDirs = overrides.runbookDirs + config.runbookDirs
        // Then ./runbooks of the current directory (where `runbook new NAME` puts a new one),
        // then the ones installed with the program.
        let local = absolute("runbooks")
        if Posix.lstatInfo(local)?.kind == .directory, !config.runbookDirs.map(absolute).contains(local) {
            config.runbookDirs.append(local)
        }
        if let project = ProjectLocation.find() {
            config.runbookDirs.append(project + "/runbooks")
            config.stdlibDirs.append(project + "/stdlib")
        }
        config.stateDir = absolute(config.stateDir)
        config.runbookDirs = config.runbookDirs.map(absolute)
        return config
    }

    /// Where root's runs are kept: Debian's /var/lib, FreeBSD's /var/db.
    package static var systemStateDir: String {
        #if os(FreeBSD)
        return "/var/db/runbook"
        #else
        return "/var/lib/runbook"
        #endif
    }

    /// The system's config file: /etc/runbook (Debian), /usr/local/etc/runbook (FreeBSD's
    /// ports), or PREFIX/etc/runbook beside an installed program (scripts/install).
    package static func defaultConfigPath() -> String? {
        var candidates = ["/etc/runbook/config.toml", "/usr/local/etc/runbook/config.toml"]
        let bin = PathName.parent(ProjectLocation.executablePath())
        if PathName.base(bin) == "bin" { candidates.append(PathName.parent(bin) + "/etc/runbook/config.toml") }
        return candidates.first { Posix.lstatInfo($0) != nil }
    }

    package static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : PathName.normalize(Posix.currentDirectory + "/" + path) ?? path
    }

    package mutating func read(file path: String) throws {
        let text: String
        do { text = try Posix.readText(path) } catch {
            throw RunbookError.usage("cannot read the config file: \(error)")
        }
        let table: JSON
        do { table = try TOMLReader.parse(text, file: path) } catch {
            throw RunbookError.usage("config: \(error)")
        }
        sourcePath = path
        let directory = PathName.parent(EngineConfig.absolute(path))
        func resolvePath(_ value: String) -> String { value.hasPrefix("/") ? value : directory + "/" + value }
        func fail(_ key: String, _ expected: String) -> RunbookError {
            RunbookError.usage("\(path): '\(key)' must be \(expected)")
        }
        for (key, value) in table.objectValue ?? [] {
            switch key {
            case "root":
                guard let root = value.stringValue else { throw fail(key, "a string") }
                self.root = resolvePath(root)
            case "state_dir":
                guard let state = value.stringValue else { throw fail(key, "a string") }
                stateDir = resolvePath(state)
            case "runbooks", "stdlib":
                guard let items = value.arrayValue?.compactMap(\.stringValue) else { throw fail(key, "an array of strings") }
                if key == "runbooks" { runbookDirs = items.map(resolvePath) } else { stdlibDirs = items.map(resolvePath) }
            case "durable":
                guard let flag = value.boolValue else { throw fail(key, "true or false") }
                durable = flag
            case "lock_database":
                guard let name = value.stringValue else { throw fail(key, "a string") }
                lockDatabase = name
            case "settings": settings = value
            case "sendmail":
                guard let program = value.stringValue else { throw fail(key, "a string") }
                sendmail = program
            case "platform":
                guard let name = value.stringValue, let kind = PlatformKind(rawValue: name) else { throw fail(key, "\"linux\" or \"freebsd\"") }
                platform = kind
            case "hosts":
                guard let hostsTable = value.objectValue else { throw fail(key, "a table of [hosts.NAME] tables") }
                for (name, entry) in hostsTable {
                    try EngineConfig.checkKeys(entry, in: "hosts.\(name)", file: path, known: [
                        "address": "a string", "user": "a string", "port": "an integer", "ssh_options": "an array of strings",
                        "identity_file": "a string", "runbook": "a string or an array of strings",
                    ])
                    guard let address = entry["address"]?.stringValue else {
                        throw RunbookError.usage("\(path): [hosts.\(name)] needs an 'address'")
                    }
                    hosts[name] = HostConfig(
                        name: name, address: address, user: entry["user"]?.stringValue, port: entry["port"]?.intValue.map(Int.init),
                        sshOptions: entry["ssh_options"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                        identityFile: entry["identity_file"]?.stringValue.map(resolvePath),
                        runbookCommand: entry["runbook"]?.arrayValue?.compactMap(\.stringValue)
                            ?? entry["runbook"]?.stringValue.map { [$0] } ?? ["runbook"],
                        hasAgent: entry["runbook"] != nil)
                }
            case "databases":
                guard let databasesTable = value.objectValue else { throw fail(key, "a table of [databases.NAME] tables") }
                for (name, entry) in databasesTable {
                    try EngineConfig.checkKeys(entry, in: "databases.\(name)", file: path, known: [
                        "socket": "a string", "host": "a string", "port": "an integer", "user": "a string", "database": "a string",
                        "connect_timeout": "an integer", "read_timeout": "an integer", "password": "a string", "password_file": "a string",
                    ])
                    databases[name] = try DatabaseConfig(name: name, table: entry, file: path, resolve: resolvePath)
                }
            default:
                let known = ["root", "state_dir", "runbooks", "stdlib", "durable", "lock_database", "settings", "sendmail", "platform",
                             "hosts", "databases"]
                let hint = EngineConfig.closest(to: key, among: known).map { " (did you mean '\($0)'?)" } ?? ""
                throw RunbookError.usage("\(path): unknown setting '\(key)'\(hint)")
            }
        }
        if let lockDatabase, databases[lockDatabase] == nil {
            throw RunbookError.usage("\(path): lock_database '\(lockDatabase)' is not a [databases.\(lockDatabase)] entry")
        }
    }
}

extension EngineConfig {
    /// The known name a misspelt one most likely meant: at most two letters added, removed,
    /// changed or swapped (`pasword` -> `password`).
    package static func closest(to name: String, among known: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { table[i][0] = i }
            for j in 0...b.count { table[0][j] = j }
            for i in stride(from: 1, through: a.count, by: 1) {
                for j in stride(from: 1, through: b.count, by: 1) {
                    table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1) }
                }
            }
            return table[a.count][b.count]
        }
        let scored = known.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// A `[section]` holds only the keys it knows, each of its type: a misspelt key
    /// (`pasword = ...`) is an error naming it, never ignored.
    package static func checkKeys(_ table: JSON, in section: String, file: String, known: KeyValuePairs<String, String>) throws {
        guard let entries = table.objectValue else { throw RunbookError.usage("\(file): [\(section)] must be a table") }
        for (key, value) in entries {
            guard let expected = known.first(where: { $0.key == key })?.value else {
                let hint = closest(to: key, among: known.map(\.key)).map { "did you mean '\($0)'? " } ?? ""
                throw RunbookError.usage("\(file): [\(section)] has an unknown key '\(key)' (\(hint)known: \(known.map(\.key).joined(separator: ", ")))")
            }
            let fits: Bool
            switch value {
            case .string: fits = expected.contains("a string")
            case .int: fits = expected == "an integer"
            case .array(let items): fits = expected.contains("array of strings") && items.allSatisfy { $0.stringValue != nil }
            default: fits = false
            }
            guard fits else { throw RunbookError.usage("\(file): [\(section)] \(key) must be \(expected)") }
        }
    }
}

extension DatabaseConfig {
    package init(name: String, table: JSON, file: String, resolve: (String) -> String) throws {
        func string(_ key: String) -> String? { table[key]?.stringValue }
        self.name = name
        socket = string("socket")
        host = string("host")
        port = Int(table["port"]?.intValue ?? 3306)
        user = string("user") ?? "root"
        database = string("database")
        connectTimeout = Int(table["connect_timeout"]?.intValue ?? 5)
        readTimeout = Int(table["read_timeout"]?.intValue ?? 60)
        password = string("password")
        if let passwordFile = string("password_file") {
            let path = resolve(passwordFile)
            do {
                password = try Posix.readText(path).trimmed.split(separator: "\n").first.map(String.init) ?? ""
            } catch {
                throw RunbookError.usage("\(file): [databases.\(name)] password_file: \(error)")
            }
        }
        guard socket != nil || host != nil else {
            throw RunbookError.usage("\(file): [databases.\(name)] needs a 'socket' or a 'host'")
        }
    }
}

/// Where the project's own runbooks/ and stdlib/ are: RUNBOOK_HOME, or up from the executable.
package enum ProjectLocation {
    package static func find() -> String? {
        if let home = Posix.environment("RUNBOOK_HOME"), !home.isEmpty { return home }
        var directory = PathName.parent(executablePath())
        for _ in 0..<6 {
            if Posix.lstatInfo(directory + "/runbooks")?.kind == .directory, Posix.lstatInfo(directory + "/stdlib") != nil {
                return directory
            }
            // An installed program: PREFIX/bin/runbook with PREFIX/share/runbook.
            if Posix.lstatInfo(directory + "/share/runbook/runbooks")?.kind == .directory { return directory + "/share/runbook" }
            if directory == "/" { break }
            directory = PathName.parent(directory)
        }
        for candidate in ["/usr/local/share/runbook", "/usr/share/runbook"] where Posix.lstatInfo(candidate + "/runbooks") != nil {
            return candidate
        }
        return nil
    }

    package static func executablePath() -> String {
        #if os(Linux)
        if let path = Posix.readLink("/proc/self/exe") { return path }
        #endif
        let first = CommandLine.arguments.first ?? "."
        return EngineConfig.absolute(first)
    }
}
