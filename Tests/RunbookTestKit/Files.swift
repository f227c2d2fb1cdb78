// Small file helpers for building a test's tree.

import RunbookEngine
import RunbookSupport
import Testing

package enum Files {
    package static func write(_ path: String, _ text: String, mode: UInt32 = 0o644) throws {
        try Posix.writeFile(path, Array(text.utf8), mode: mode)
        chmod(path, mode_t(mode))
    }

    package static func mkdir(_ path: String, mode: UInt32 = 0o755) throws {
        try Posix.makeDirectories(path, mode: mode)
        chmod(path, mode_t(mode))
    }

    package static func symlink(_ target: String, _ path: String) throws {
        if Glibc.symlink(target, path) != 0 { throw SystemError("symlink", path) }
    }

    package static func read(_ path: String) -> String? { try? Posix.readText(path) }

    package static func exists(_ path: String) -> Bool { Posix.lstatInfo(path) != nil }

    /// The main config of a private nginx on 127.0.0.1: its pid, error log and temporary
    /// folders under `folder`, `http` inside its http block. Workers run as root when asked
    /// (the sandbox folders are private: mkdtemp, 0700).
    package static func nginxConfig(_ folder: String, http: String, connections: Int = 32, workersAsRoot: Bool = false) -> String {
        (workersAsRoot ? "user root root;\n" : "") + """
            worker_processes 1;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log;
            events { worker_connections \(connections); }
            http {
              access_log off;
              client_body_temp_path \(folder)/tmp-body; proxy_temp_path \(folder)/tmp-proxy;
              fastcgi_temp_path \(folder)/tmp-fcgi; uwsgi_temp_path \(folder)/tmp-uwsgi; scgi_temp_path \(folder)/tmp-scgi;
            \(http)
            }

            """
    }

    /// Every file below `directory` (recursively), as full paths.
    package static func allFiles(_ directory: String) -> [String] {
        guard let info = Posix.lstatInfo(directory) else { return [] }
        if info.kind != .directory { return [directory] }
        return ((try? Posix.list(directory)) ?? []).flatMap { allFiles(directory + "/" + $0) }
    }
}
