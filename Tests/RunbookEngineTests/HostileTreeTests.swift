// A customer owns their home: every link in it may have been planted to make root write,
// read, chmod or remove something outside it. Each case plants what the attack campaign
// planted (issue 15), as the customer (uid 1001 owns the links and directories), runs the
// primitive for real and undoes it, and checks the file outside is untouched.

@testable import RunbookEngine
import RunbookCore
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Hostile customer trees")
struct HostileTreeTests {
    static let customer: uid_t = 1001

    /// A sandbox with a customer's home in its tree and a victim file outside the tree.
    final class World {
        let sandbox: Sandbox
        var home: String { sandbox.tree + "/usr/home/shop" }
        var outside: String { sandbox.base + "/outside" }
        var victim: String { outside + "/victim" }

        init() throws {
            sandbox = try Sandbox()
            try Files.mkdir(home)
            _ = lchown(home, HostileTreeTests.customer, HostileTreeTests.customer)
            try Files.mkdir(outside)
            try Files.write(victim, "victim\n", mode: 0o644)
        }

        /// A link planted by the customer (owned by uid 1001).
        func plant(_ target: String, at path: String) throws {
            try Files.symlink(target, path)
            _ = lchown(path, HostileTreeTests.customer, HostileTreeTests.customer)
        }

        var victimUntouched: Bool {
            Files.read(victim) == "victim\n" && Posix.lstatInfo(victim)?.mode == 0o644 && Posix.lstatInfo(victim)?.uid == 0
        }

        /// Runs a one-step runbook whose body is `body` (Lua), under --root unless `confined` is false.
        func run(_ body: String, confined: Bool = true, name: String = "attack") throws -> ChildResult {
            try sandbox.addRunbook(name, """
                return runbook {
                  summary = "What a runbook does in a customer's home",
                  run = function()
                    local home = "\(confined ? "/usr/home/shop" : home)"
                    step("Act", function()
                      \(body)
                    end)
                  end,
                }
                """)
            return try sandbox.runbook((confined ? ["--root", sandbox.tree] : []) + ["run", name])
        }

        /// `runbook undo` of the newest run; the test stops when there is none.
        func undoLastRun() throws -> ChildResult {
            try sandbox.runbook(["undo", try #require(sandbox.runIDs().last, "the run is in the journal")])
        }

        /// A source folder with a file, to be bind-mounted into the FTP tree.
        func makeMountSource() throws {
            try Files.mkdir(home + "/source")
            try Files.write(home + "/source/shop.css", "body {}\n")
        }

        /// Nothing is mounted outside the home, and the source's file did not land there.
        func expectNothingMountedOutside(sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(DemoWorld.mounts(under: outside).isEmpty, "mounted over the link's target: \(DemoWorld.mounts(under: outside))",
                    sourceLocation: sourceLocation)
            #expect(!Files.exists(outside + "/etc/shop.css"), sourceLocation: sourceLocation)
        }
    }

    @Test("fs.write over a planted PATH.runbook-tmp link writes the file, never the link's target; undo leaves no temporary")
    func plantedTemporaryLink() throws {
        for confined in [true, false] {
            let world = try World()
            try world.plant(world.victim, at: world.home + "/config.php.runbook-tmp")
            let result = try world.run(#"fs.write(home .. "/config.php", "<?php $db = 'x';\n")"#, confined: confined)
            #expect(result.exitCode == 0, "\(result)")
            #expect(world.victimUntouched, "the victim outside the tree was overwritten (confined: \(confined))")
            #expect(Files.read(world.home + "/config.php") == "<?php $db = 'x';\n")
            let undo = try world.undoLastRun()
            #expect(undo.exitCode == 0, "\(undo)")
            #expect(!Files.exists(world.home + "/config.php"))
            #expect(!Files.exists(world.home + "/config.php.runbook-tmp"))
            #expect(world.victimUntouched)
        }
    }

    @Test("fs.chmod of a planted link is refused with one line; the link's target keeps its mode")
    func chmodOfALink() throws {
        for confined in [true, false] {
            let world = try World()
            try world.plant(world.victim, at: world.home + "/config.php")
            let result = try world.run(#"fs.chmod(home .. "/config.php", "0600")"#, confined: confined)
            #expect(result.exitCode == 1, "\(result)")
            #expect(result.stderr.contains("is a symlink"), "\(result)")
            #expect(world.victimUntouched, "chmod followed the link (confined: \(confined))")
        }
    }

    @Test("a link planted in the middle of a path is never followed: write, mkdir, chmod, chown, remove, read, list")
    func plantedDirectoryLink() throws {
        let actions = [
            #"fs.write(home .. "/d/sub/x", "x")"#,
            #"fs.mkdir(home .. "/d/sub/new")"#,
            #"fs.chmod(home .. "/d/sub/x", "0777")"#,
            #"fs.chown(home .. "/d/sub/x", "1001:1001")"#,
            #"fs.remove(home .. "/d/sub/x")"#,
            #"log.info(fs.read(home .. "/d/sub/x"))"#,
            #"log.info(#fs.list(home .. "/d/sub"))"#,
            #"log.info(tostring(fs.exists(home .. "/d/sub/x")))"#,
        ]
        for confined in [true, false] {
            for action in actions {
                let world = try World()
                try Files.mkdir(world.outside + "/sub")
                try Files.write(world.outside + "/sub/x", "outside\n", mode: 0o644)
                let before = TreeFingerprint(world.outside)
                // The customer's own directory link: `d -> ../../../outside` (or absolute).
                try world.plant(confined ? "../../../../outside" : world.outside, at: world.home + "/d")
                let result = try world.run(action, confined: confined)
                #expect(result.exitCode == 1, "\(action) (confined: \(confined)) went through the link\n\(result)")
                #expect(result.stderr.contains("/d'") || result.stderr.contains("/d "), "the error names the link: \(result)")
                #expect(!result.stdout.contains("outside"), "\(action) read outside the tree\n\(result)")
                expectSameTree(before, TreeFingerprint(world.outside), "\(action) (confined: \(confined))")
            }
        }
    }

    @Test("a directory removed and replaced by a link during the run is not followed by later primitives")
    func directorySwappedForALinkMidRun() throws {
        let world = try World()
        let before = TreeFingerprint(world.outside)
        let result = try world.run("""
            fs.mkdir(home .. "/d/sub")
            fs.remove(home .. "/d")
            -- the customer swaps a link in (over FTP; here a command of the run, as uid 1001)
            cmd.run({ "ln", "-s", "\(world.outside)", "\(world.home)/d" }, { read_only = true })
            cmd.run({ "chown", "-h", "1001:1001", "\(world.home)/d" }, { read_only = true })
            fs.write(home .. "/d/sub/x", "x")
            """, confined: false)
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stderr.contains("is a symlink owned by uid 1001"), "\(result)")
        expectSameTree(before, TreeFingerprint(world.outside), "the write under the swapped link")
    }

    @Test("fs.read and fs.list of a planted link out of the tree are refused; a FIFO is refused, not waited on")
    func readsStayInTheTree() throws {
        let world = try World()
        try world.plant("/etc/shadow", at: world.home + "/secret")
        try world.plant(world.outside, at: world.home + "/out")
        #expect(mkfifo(world.home + "/pipe", 0o644) == 0)
        for confined in [true, false] {
            for action in [#"log.info(fs.read(home .. "/secret"))"#, #"log.info(table.concat(fs.list(home .. "/out"), ","))"#,
                           #"log.info(fs.read(home .. "/pipe"))"#] {
                let result = try world.run(action, confined: confined)
                #expect(result.exitCode == 1 && result.signal == nil, "\(action) (confined: \(confined))\n\(result)")
                #expect(!result.stdout.contains("root:") && !result.stdout.contains("victim"), "\(action) leaked\n\(result)")
            }
        }
    }

    @Test("undo does not follow links swapped in after the run: files outside the tree stay as they were")
    func undoAfterASwap() throws {
        let world = try World()
        try Files.mkdir(world.outside + "/dir")
        try Files.write(world.outside + "/dir/new.txt", "outside\n", mode: 0o644)
        try Files.write(world.outside + "/dir/old.txt", "outside old\n", mode: 0o644)
        try Files.mkdir(world.home + "/dir")
        try Files.write(world.home + "/dir/old.txt", "old\n", mode: 0o640)
        let result = try world.run("""
            fs.write(home .. "/dir/new.txt", "new")
            fs.write(home .. "/dir/old.txt", "changed")
            fs.chmod(home .. "/dir/old.txt", "0600")
            """, confined: false)
        #expect(result.exitCode == 0, "\(result)")
        // After the run the customer replaces the directory with a link out of the tree.
        try Posix.removeTree(world.home + "/dir")
        try world.plant(world.outside + "/dir", at: world.home + "/dir")
        let before = TreeFingerprint(world.outside)
        let undo = try world.undoLastRun()
        #expect(undo.exitCode == 1, "the undo cannot reach the run's files and says so\n\(undo)")
        #expect(undo.stderr.contains("is a symlink owned by uid 1001") || undo.stdout.contains("is a symlink owned by uid 1001"), "\(undo)")
        expectSameTree(before, TreeFingerprint(world.outside), "undo through a swapped link")
    }

    @Test("a link the platform made (root's, in root's directory) is followed inside the root: /home -> /usr/home")
    func trustedLinksAreFollowed() throws {
        let world = try World()
        try Files.symlink("usr/home", world.sandbox.tree + "/home")
        let result = try world.run("""
            fs.write("/home/shop/index.php", "<?php echo 1;\\n")
            log.info("read: " .. fs.read("/home/shop/index.php"))
            log.info("root: " .. tostring(fs.exists("/")) .. " " .. fs.stat("/").type)
            """)
        #expect(result.exitCode == 0, "\(result)")
        #expect(Files.read(world.home + "/index.php") == "<?php echo 1;\n")
        #expect(result.stdout.contains("read: <?php echo 1;"), "\(result)")
        #expect(result.stdout.contains("root: true directory"), "\(result)")
    }

    @Test("a root-owned link that leaves the root is refused under --root")
    func trustedLinkOutOfTheRoot() throws {
        let world = try World()
        try Files.symlink("../../outside", world.sandbox.tree + "/d")
        let result = try world.run(#"fs.write("/d/victim", "x")"#)
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stderr.contains("escapes the root"), "\(result)")
        #expect(world.victimUntouched)
    }

    @Test("a tree with planted links and FIFOs is removed and restored exactly, nothing outside touched")
    func removeAndRestoreAHostileTree() throws {
        let world = try World()
        let store = world.home + "/store"
        try Files.mkdir(store + "/cache")
        try Files.write(store + "/cache/a.html", "a\n", mode: 0o600)
        #expect(mkfifo(store + "/cache/pipe", 0o620) == 0)
        try world.plant(world.victim, at: store + "/cache/victim-link")
        try world.plant(world.outside, at: store + "/outside-link")
        for path in [store, store + "/cache", store + "/cache/a.html", store + "/cache/pipe"] {
            _ = lchown(path, HostileTreeTests.customer, HostileTreeTests.customer)
        }
        let tree = TreeFingerprint(world.home)
        let outside = TreeFingerprint(world.outside)
        let result = try world.run(#"fs.remove(home .. "/store")"#)
        #expect(result.exitCode == 0, "\(result)")
        #expect(!Files.exists(store))
        expectSameTree(outside, TreeFingerprint(world.outside), "removing the tree")
        let undo = try world.undoLastRun()
        #expect(undo.exitCode == 0, "\(undo)")
        expectSameTree(tree, TreeFingerprint(world.home), "the restored tree")
        expectSameTree(outside, TreeFingerprint(world.outside), "undo")
    }

    @Test("a leftover PATH.runbook-tmp of a killed write is gone after undo")
    func leftoverTemporaryIsRemovedByUndo() throws {
        let world = try World()
        let result = try world.run(#"fs.write(home .. "/big.bin", string.rep("x", 4096))"#)
        #expect(result.exitCode == 0, "\(result)")
        // What a SIGKILL in the middle of the write leaves beside the file.
        try Files.write(world.home + "/big.bin.runbook-tmp", "half")
        let undo = try world.undoLastRun()
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(((try? Posix.list(world.home)) ?? ["?"]).isEmpty, "\((try? Posix.list(world.home)) ?? [])")
    }

    @Test("a mount point swapped for a link after the check is never mounted over: the bind mount lands where the walk opened")
    func mountPointSwappedForALink() throws {
        let world = try World()
        try world.makeMountSource()
        try Files.mkdir(world.outside + "/etc")
        let result = try world.run("""
            fs.mkdir(home .. "/ftp/images")
            -- the customer swaps the mount point for a link out of the home, after the checks
            cmd.run({ "mv", "\(world.home)/ftp/images", "\(world.home)/ftp/images.aside" }, { read_only = true })
            cmd.run({ "ln", "-s", "\(world.outside)/etc", "\(world.home)/ftp/images" }, { read_only = true })
            cmd.run({ "chown", "-h", "1001:1001", "\(world.home)/ftp/images" }, { read_only = true })
            mount.bind(home .. "/source", home .. "/ftp/images")
            """, confined: false)
        defer { _ = try? ProcessRunner.run(["umount", world.outside + "/etc"]); _ = try? ProcessRunner.run(["umount", world.home + "/ftp/images"]) }
        #expect(result.exitCode == 1, "\(result)")
        world.expectNothingMountedOutside()
    }

    @Test("undo of an unmount does not mount over a link swapped in for the mount point after the run")
    func undoOfAnUnmountAfterASwap() throws {
        let world = try World()
        try world.makeMountSource()
        try Files.mkdir(world.home + "/ftp/images")
        try Files.mkdir(world.outside + "/etc")
        _ = try ProcessRunner.check(["mount", "--bind", world.home + "/source", world.home + "/ftp/images"])
        defer {
            _ = try? ProcessRunner.run(["umount", world.outside + "/etc"])
            _ = try? ProcessRunner.run(["umount", world.home + "/ftp/images"])
        }
        let result = try world.run(#"mount.unbind(home .. "/ftp/images")"#, confined: false)
        #expect(result.exitCode == 0, "\(result)")
        // After the run the customer replaces the mount point with a link out of the home.
        #expect(rename(world.home + "/ftp/images", world.home + "/ftp/images.aside") == 0)
        try world.plant(world.outside + "/etc", at: world.home + "/ftp/images")
        let undo = try world.undoLastRun()
        #expect(undo.exitCode == 1, "the undo cannot mount there and says so\n\(undo)")
        world.expectNothingMountedOutside()
    }

    @Test("mount.bind mounts the directories the walk opened, and undo unmounts them")
    func bindMountThroughTheWalk() throws {
        let world = try World()
        try world.makeMountSource()
        try Files.mkdir(world.home + "/ftp/images")
        let result = try world.run(#"mount.bind(home .. "/source", home .. "/ftp/images")"#)
        defer { _ = try? ProcessRunner.run(["umount", world.home + "/ftp/images"]) }
        #expect(result.exitCode == 0, "\(result)")
        let mounted = DemoWorld.mounts(under: world.home)
        #expect(mounted.count == 1 && mounted[0].hasSuffix(" -> " + world.home + "/ftp/images"), "\(mounted)")
        #expect(Files.read(world.home + "/ftp/images/shop.css") == "body {}\n")
        let undo = try world.undoLastRun()
        #expect(undo.exitCode == 0, "\(undo)")
        #expect(DemoWorld.mounts(under: world.home).isEmpty)
    }

    @Test("fs.mkdir with a trailing slash: the same in a dry-run and a real run")
    func trailingSlash() throws {
        let world = try World()
        try world.sandbox.addRunbook("mk", """
            return runbook {
              summary = "mkdir with a trailing slash",
              run = function()
                step("Make", function() log.info("made: " .. tostring(fs.mkdir("/usr/home/shop/x/"))) end)
              end,
            }
            """)
        let planned = try world.sandbox.runbook(["--root", world.sandbox.tree, "run", "mk", "--dry-run"])
        let applied = try world.sandbox.runbook(["--root", world.sandbox.tree, "run", "mk"])
        #expect(planned.exitCode == 0 && applied.exitCode == 0, "\(planned)\n\(applied)")
        #expect(planned.stdout.contains("made: true") && applied.stdout.contains("made: true"), "\(planned)\n\(applied)")
        #expect(Posix.lstatInfo(world.home + "/x")?.kind == .directory)
    }
}
