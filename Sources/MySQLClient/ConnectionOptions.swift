// ConnectionOptions: where and how to connect; prints without the password.

/// Everything needed to open a `Connection`. The character set is always utf8mb4 and
/// automatic reconnect is always off (a silent reconnect would lose the session's
/// transaction and locks), so neither is an option.
public struct ConnectionOptions: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// How to reach the server.
    public enum Endpoint: Hashable, Sendable {
        /// A unix-domain socket path (the local server, e.g. /run/mysqld/mysqld.sock).
        case socket(String)
        /// TCP to a host name or IP address.
        case tcp(host: String, port: UInt16)
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: DBPassword
    /// Default database (schema) for the session; nil for none.
    public var database: String?
    /// Seconds to wait for the connection to be established; 0 means the library default.
    public var connectTimeout: UInt32
    /// Seconds to wait for each read from the server; 0 means no limit.
    public var readTimeout: UInt32
    /// Seconds to wait for each write to the server; 0 means no limit.
    public var writeTimeout: UInt32

    public init(
        endpoint: Endpoint,
        user: String,
        password: DBPassword = "",
        database: String? = nil,
        connectTimeout: UInt32 = 10,
        readTimeout: UInt32 = 30,
        writeTimeout: UInt32 = 30
    ) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
    }

    /// Options for a unix-socket connection.
    public init(
        socket: String,
        user: String,
        password: DBPassword = "",
        database: String? = nil
    ) {
        self.init(endpoint: .socket(socket), user: user, password: password, database: database)
    }

    /// Options for a TCP connection.
    public init(
        host: String,
        port: UInt16 = 3306,
        user: String,
        password: DBPassword = "",
        database: String? = nil
    ) {
        self.init(
            endpoint: .tcp(host: host, port: port), user: user, password: password,
            database: database)
    }

    /// The socket path, when connecting through one.
    public var socket: String? {
        if case .socket(let path) = endpoint { return path }
        return nil
    }

    /// The host name, when connecting over TCP.
    public var host: String? {
        if case .tcp(let host, _) = endpoint { return host }
        return nil
    }

    /// The TCP port, when connecting over TCP.
    public var port: UInt16? {
        if case .tcp(_, let port) = endpoint { return port }
        return nil
    }

    /// e.g. `root@unix:/run/mysqld/mysqld.sock/internal (password: ***)`.
    public var description: String {
        var text = user + "@"
        switch endpoint {
        case .socket(let path): text += "unix:" + path
        case .tcp(let host, let port):
            // IPv6 literals need brackets before the port.
            text += host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
        if let database { text += "/" + database }
        text += password.isEmpty ? " (no password)" : " (password: \(password))"
        return text
    }

    public var debugDescription: String { "ConnectionOptions(\(description))" }
}
