// Sample worlds and runbooks several test files share: a seeded tree, a seeded schema,
// and runbooks that change every kind of file and row.

import RunbookEngine

package enum Fixtures {
    // MARK: The starting tree

    /// A small site tree with something for every primitive to change: a file to
    /// overwrite, a symlink to repoint, files and a whole directory to remove, files to
    /// rename (one onto an existing file), a script to chmod, and files nobody touches.
    package static func seedTree(_ dir: String) throws {
        try Files.mkdir(dir)
        try Files.write(dir + "/existing.txt", "original content\n")
        try Files.write(dir + "/script.sh", "#!/bin/sh\necho hi\n", mode: 0o644)
        try Files.write(dir + "/doomed.txt", "remove me\n", mode: 0o600)
        try Files.mkdir(dir + "/doomed_dir/b", mode: 0o750)
        try Files.write(dir + "/doomed_dir/a.txt", "a\n")
        try Files.write(dir + "/doomed_dir/b/c.txt", "c\n", mode: 0o640)
        try Files.symlink("a.txt", dir + "/doomed_dir/rel-link")
        try Files.write(dir + "/movable.txt", "moving\n")
        try Files.write(dir + "/incoming.txt", "the new target\n")
        try Files.write(dir + "/target.txt", "the old target\n", mode: 0o600)
        try Files.mkdir(dir + "/shared/lib")
        try Files.write(dir + "/shared/lib/VERSION", "0.9\n")
        try Files.symlink(dir + "/shared", dir + "/oldlink")
        try Files.mkdir(dir + "/untouched", mode: 0o700)
        try Files.write(dir + "/untouched/keep.txt", "keep\n", mode: 0o400)
    }

    // MARK: The starting database

    package static let schema = """
        CREATE TABLE sites (
          id INT AUTO_INCREMENT PRIMARY KEY,
          hostname VARCHAR(255) NOT NULL UNIQUE,
          plan VARCHAR(16) NOT NULL,
          note TEXT NULL
        );
        CREATE TABLE site_ips (
          id INT AUTO_INCREMENT PRIMARY KEY,
          site_id INT NOT NULL,
          ip VARCHAR(64) NOT NULL
        );
        CREATE TABLE counters (
          name VARCHAR(32) PRIMARY KEY,
          n INT NOT NULL
        );
        CREATE TABLE audit (
          id INT AUTO_INCREMENT PRIMARY KEY,
          note VARCHAR(255) NOT NULL
        );
        INSERT INTO sites (hostname, plan, note) VALUES
          ('old.example.com', 'free', 'the first shop'),
          ('gone.example.com', 'paid', NULL),
          ('other.example.com', 'free', 'nobody touches this');
        INSERT INTO site_ips (site_id, ip) VALUES (1, '10.0.0.1'), (2, '10.0.0.2');
        INSERT INTO counters (name, n) VALUES ('installs', 41), ('updates', 7);
        INSERT INTO audit (note) VALUES ('seeded');
        """

    package static func seedDatabase(_ database: TestDatabase) throws { try database.run(schema) }

    // MARK: Runbooks

    /// Changes every kind of file and row, in three steps. Every effect can be undone
    /// unless `irreversible` adds a raw statement without an undo. `failAtEnd` adds a
    /// fourth step that fails after everything was applied.
    package static func changeEverything(irreversible: Bool = false, onFailure: String = "keep", failAtEnd: Bool = false) -> String {
        """
        return runbook {
          summary = "Changes every kind of file and row",
          params = { dir = { type = "path", required = true, doc = "the tree to change" } },
          on_failure = "\(onFailure)",
          run = function(args)
            local d = args.dir
            step("Lay out the new release", function()
              fs.mkdir(d .. "/release/conf")
              fs.write(d .. "/release/conf/app.ini", "[app]\\nname = shop\\n", { mode = "0640" })
              fs.symlink(d .. "/release", d .. "/current")
            end)
            step("Rework the old files", function()
              fs.write(d .. "/existing.txt", "replaced content\\n")
              fs.symlink(d .. "/release", d .. "/oldlink")
              fs.chmod(d .. "/script.sh", "0755")
              fs.rename(d .. "/movable.txt", d .. "/moved.txt")
              fs.rename(d .. "/incoming.txt", d .. "/target.txt")
              fs.remove(d .. "/doomed.txt")
              fs.remove(d .. "/doomed_dir")
            end)
            step("Record it in the database", function()
              local id = db.insert("test", "sites", { hostname = "new.example.com", plan = "free" })
              db.insert("test", "site_ips", { site_id = id, ip = "10.0.0.9" })
              db.update("test", "sites", { plan = "paid", note = "upgraded" }, { hostname = "old.example.com" })
              db.delete("test", "sites", { hostname = "gone.example.com" })
              db.exec("test", "UPDATE counters SET n = n + 1 WHERE name = ?", { "installs" },
                      { undo = { "UPDATE counters SET n = n - 1 WHERE name = ?", { "installs" } } })
              \(irreversible ? "db.exec(\"test\", \"INSERT INTO audit (note) VALUES (?)\", { \"changed everything\" })" : "")
            end)
            \(failAtEnd ? "step(\"Verify\", function() error(\"verification failed on purpose\") end)" : "")
          end,
        }
        """
    }

    /// The number of effects `changeEverything` applies on the seeded world.
    package static func changeEverythingEffectCount(irreversible: Bool = false) -> Int { irreversible ? 17 : 16 }

    /// Writes a marker and makes a directory whose path holds the secret argument `token`:
    /// a plan or a question that shows the path must show it masked, and applying must still
    /// match the real path.
    package static let secretive = """
        return runbook { summary = "writes a marker",
          params = { dir = { type = "path", required = true }, token = { type = "string", secret = true } },
          run = function(args)
            fs.write(args.dir .. "/marker", "token set\\n")
            fs.mkdir(args.dir .. "/cache-" .. args.token)  -- an identity (a path) that holds the secret
          end }
        """
}
