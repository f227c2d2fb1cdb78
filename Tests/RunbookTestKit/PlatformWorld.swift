// A sandbox with the platform's two databases (schema/internal.sql, schema/master.sql),
// the shops the nginx tests seed in it, and what a run printed.

import Testing
import RunbookEngine

/// A sandbox with the platform's two databases: `internal` (the sandbox's own database,
/// loaded with schema/internal.sql) and `master` (a second database on the same server,
/// schema/master.sql), the repository's stdlib/ and runbooks/, and optional [settings].
package final class PlatformWorld {
    package let box: Sandbox
    package let master: TestDatabase
    package var internalDB: TestDatabase { box.database! }

    package init(settings: String = "") throws {
        box = try Sandbox(database: true)
        master = try TestDatabase(label: "master")
        try internalDB.run(try Repo.schemaSQL("internal.sql"))
        try master.run(try Repo.schemaSQL("master.sql"))
        try writeConfig(settings: settings)
    }

    package func writeConfig(settings: String) throws {
        let socket = internalDB.socket
        try Files.write(box.config, """
            # written by the stdlib tests
            stdlib = ["\(Repo.stdlib)"]
            runbooks = ["\(Repo.runbooks)"]

            \(settings)

            [databases.internal]
            socket = "\(socket)"
            user = "root"
            database = "\(internalDB.name)"

            [databases.master]
            socket = "\(socket)"
            user = "root"
            database = "\(master.name)"

            """)
    }

    /// The rows of a query as "col=value ..." lines, for comparisons.
    package static func rows(_ db: TestDatabase, _ sql: String) throws -> [String] {
        try db.query(sql).map { row in
            zip(row.columns, row.values).map { column, value in
                let text: String
                switch value {
                case .null: text = "NULL"
                case .int(let n): text = String(n)
                case .uint(let n): text = String(n)
                case .double(let d): text = String(d)
                case .string(let s): text = s
                case .bytes(let b): text = String(decoding: b, as: UTF8.self)
                }
                return "\(column)=\(text)"
            }.joined(separator: " ")
        }
    }
}

/// The lines a run printed with "RESULT ...", from the console or from --json log events.
package func resultLines(_ result: ChildResult) -> [String] {
    let logged = result.events("log").compactMap { $0["message"]?.stringValue }
    let lines = logged.isEmpty ? result.stdoutLines : logged
    return lines.compactMap { line in
        guard let range = line.range(of: "RESULT ") else { return nil }
        return String(line[range.upperBound...])
    }
}

extension PlatformWorld {
    /// The world of the end-to-end test: d1, d2 and a cloud handler (at weight 5 for
    /// install 1), a paid install with SSL and a custom rewrite on 127.0.0.2, a free install on
    /// 127.0.0.3, their html folders and a self-signed certificate.
    package func seedShops(port: Int) throws {
        let tree = box.tree
        try internalDB.run("""
            INSERT INTO handlers (id, hostname, private_ip, kind, weight) VALUES
              (1, 'dispatch1.make-a-store.com', '127.0.0.11', 'dispatcher', 1),
              (2, 'dispatch2.make-a-store.com', '127.0.0.12', 'dispatcher', 1),
              (3, 'tmp-cloud.make-a-store.com', '127.0.0.13', 'cloud', 1);
            INSERT INTO shared_code_groups (id, dir, free, revision, `limit`, handler_id) VALUES
              (1, '/home/shared_codes/code_share_paid_1', 0, '4711', 50, 1),
              (2, '/home/shared_codes/code_share_free_1', 1, '4711', 50, 2);
            INSERT INTO installs (id, email, db_name, db_user, fs_name, home_dir, shared_code_group_id, master_handler_id, free, license, dynamic_ips, custom_rewrites) VALUES
              (1, 'tea@make-a-store.com', 'teacoll', 'teacoll', 'teacoll', '\(tree)/usr/home/teacoll', 1, 1, 0, 'paid', 1,
               'a:1:{i:0;s:25:"rewrite ^/old$ /new.html;";}'),
              (2, 'bob@example.com', 'bobshop', 'bobshop', 'bobshop', '\(tree)/usr/home/bobshop', 2, 2, 1, 'free', 0, NULL);
            INSERT INTO install_sites (id, install_id, hostname, secure_hostname, ssl_pem, ssl_key) VALUES
              (1, 1, 'shop.teacollection.com', 'secure.teacollection.com', '\(tree)/usr/home/teacoll/certs/shop.pem', '\(tree)/usr/home/teacoll/certs/shop.key'),
              (2, 2, 'bobshop.example.com', NULL, NULL, NULL);
            INSERT INTO install_site_ips (install_site_id, ip, handler_id) VALUES (1, '127.0.0.2', 1), (2, '127.0.0.3', 2);
            INSERT INTO install_handlers (install_id, handler_id, weight) VALUES (1, 3, 5);
            """)
        try Files.mkdir(tree + "/usr/home/teacoll/html")
        try Files.mkdir(tree + "/usr/home/teacoll/certs")
        try Files.write(tree + "/usr/home/teacoll/html/index.html", "tea collection\n")
        try Files.write(tree + "/usr/home/teacoll/html/new.html", "the new page\n")
        try Files.mkdir(tree + "/usr/home/bobshop/html")
        try Files.write(tree + "/usr/home/bobshop/html/index.html", "bob's shop\n")
        try system(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=secure.teacollection.com",
                    "-keyout", tree + "/usr/home/teacoll/certs/shop.key", "-out", tree + "/usr/home/teacoll/certs/shop.pem"])
    }

    package static func nginxSettings(_ web: String, port: Int) -> String {
        """
        [settings.nginx]
        http_port = \(port)
        https_port = \(port + 1)
        php_port = \(port + 2)
        default_server = false
        fastcgi_params = "\(web)/fastcgi_params"
        """
    }
}

/// The log messages of a --json run.
package func resultLog(_ result: ChildResult) -> [String] {
    result.events("log").compactMap { $0["message"]?.stringValue }
}
