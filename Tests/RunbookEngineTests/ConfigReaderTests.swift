// The config file reader (Config/EngineConfig.swift), in process: every setting is read
// with relative paths taken from the file's folder, and a bad file is refused with one line
// that names the file and the setting.

import RunbookConfig
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Config reader")
struct ConfigReaderTests {
    /// Reads `toml` as the config file of a fresh sandbox.
    private func read(_ toml: String) throws -> (EngineConfig, Sandbox) {
        let sandbox = try Sandbox()
        try Files.write(sandbox.config, toml)
        var config = EngineConfig(stateDir: sandbox.state)
        try config.read(file: sandbox.config)
        return (config, sandbox)
    }

    /// The one-line message reading `toml` fails with.
    private func refusal(_ toml: String) throws -> String {
        let sandbox = try Sandbox()
        try Files.write(sandbox.config, toml)
        var config = EngineConfig(stateDir: sandbox.state)
        do {
            try config.read(file: sandbox.config)
        } catch let error as RunbookError {
            #expect(error.exitStatus == .usage, "\(error)")
            return error.description.replacingAll(sandbox.config, with: "CONFIG")
        }
        Issue.record("the config was accepted:\n\(toml)")
        return ""
    }

    @Test("every setting is read; relative paths are taken from the config file's folder")
    func readsEverySetting() throws {
        let (config, sandbox) = try read("""
            root = "tree"
            state_dir = "/var/tmp/rb-state"
            runbooks = ["books", "/opt/runbooks"]
            stdlib = ["lib"]
            durable = true
            lock_database = "internal"
            sendmail = "/usr/sbin/sendmail"
            platform = "freebsd"

            [settings.nginx]
            http_port = 8080

            [databases.internal]
            socket = "/run/mysqld/mysqld.sock"
            user = "runbook"
            database = "internal"

            [hosts.dispatch2]
            address = "127.0.0.2"
            user = "deploy"
            port = 2222
            runbook = "/usr/local/bin/runbook"
            """)
        #expect(config.root == sandbox.base + "/tree")
        #expect(config.stateDir == "/var/tmp/rb-state")
        #expect(config.runbookDirs == [sandbox.base + "/books", "/opt/runbooks"])
        #expect(config.stdlibDirs == [sandbox.base + "/lib"])
        #expect(config.durable)
        #expect(config.lockDatabase == "internal")
        #expect(config.sendmail == "/usr/sbin/sendmail")
        #expect(config.platform == .freebsd)
        #expect(config.settings["nginx"]?["http_port"]?.intValue == 8080)
        let database = try #require(config.databases["internal"])
        #expect(database.socket == "/run/mysqld/mysqld.sock" && database.user == "runbook" && database.database == "internal")
        let host = try #require(config.hosts["dispatch2"])
        #expect(host.address == "127.0.0.2" && host.user == "deploy" && host.port == 2222)
        #expect(host.runbookCommand == ["/usr/local/bin/runbook"])
        #expect(config.sourcePath == sandbox.config)
    }

    @Test("an empty file keeps every default")
    func emptyFileKeepsDefaults() throws {
        let (config, sandbox) = try read("# nothing set\n")
        #expect(config.root == "/")
        #expect(config.stateDir == sandbox.state)
        #expect(config.databases.isEmpty && config.hosts.isEmpty && !config.durable)
    }

    @Test("a bad file is refused in one line naming the file and the setting")
    func badFilesAreRefused() throws {
        #expect(try refusal("sate_dir = \"/x\"\n") == "CONFIG: unknown setting 'sate_dir' (did you mean 'state_dir'?)")
        #expect(try refusal("durable = \"yes\"\n") == "CONFIG: 'durable' must be true or false")
        #expect(try refusal("runbooks = \"books\"\n") == "CONFIG: 'runbooks' must be an array of strings")
        #expect(try refusal("platform = \"windows\"\n") == "CONFIG: 'platform' must be \"linux\" or \"freebsd\"")
        #expect(try refusal("lock_database = \"locks\"\n") == "CONFIG: lock_database 'locks' is not a [databases.locks] entry")
        #expect(try refusal("[hosts.d2]\nuser = \"deploy\"\n") == "CONFIG: [hosts.d2] needs an 'address'")
        let syntax = try refusal("root = \n")
        #expect(syntax.hasPrefix("config: ") && syntax.contains("CONFIG"), "\(syntax)")
        for message in [syntax] { #expect(!message.contains("\n"), "one line: \(message)") }
    }

    @Test("a config file that cannot be read is refused, naming it")
    func unreadableFile() throws {
        let sandbox = try Sandbox()
        var config = EngineConfig(stateDir: sandbox.state)
        #expect {
            try config.read(file: sandbox.base + "/missing.toml")
        } throws: { error in
            "\(error)".hasPrefix("cannot read the config file") && "\(error)".contains("missing.toml")
        }
    }
}
