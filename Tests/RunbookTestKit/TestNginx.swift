// A private nginx with its own main config, pid file, logs and temp paths.

import RunbookEngine
import RunbookSupport
import Testing

/// A private nginx: its own main config including the generated installs.conf, pid file,
/// logs and temp paths in a temporary folder. Stopped when this goes away.
package final class TestNginx {
    package let directory: String
    package let main: String
    package let installs: String
    package let port: Int
    private var running = false

    package init(directory: String, port: Int) throws {
        self.directory = directory
        self.port = port
        main = directory + "/nginx.conf"
        installs = directory + "/installs.conf"
        try Files.mkdir(directory)
        try Files.write(directory + "/fastcgi_params", "fastcgi_param QUERY_STRING $query_string;\n")
        try Files.write(main, Files.nginxConfig(directory, http: "  include \(installs);", connections: 64, workersAsRoot: true))
    }

    package func start() throws {
        try system(["nginx", "-c", main])
        running = true
    }

    deinit {
        if running { _ = try? ProcessRunner.run(["nginx", "-c", main, "-s", "stop"]) }
    }
}
