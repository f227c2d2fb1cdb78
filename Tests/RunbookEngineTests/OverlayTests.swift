// The dry-run's view of the filesystem (Effects/Overlay.swift), in process: planned changes
// laid over a real tree are what later reads in the same run see, symlinks among the
// parents resolve as the kernel would, and the real tree is never touched.

import RunbookCore
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Overlay: the plan's view of the filesystem")
struct OverlayTests {
    /// A sandbox with the shared seed tree, and an overlay over it.
    private func seeded() throws -> (Sandbox, Overlay, String) {
        let sandbox = try Sandbox()
        let dir = sandbox.tree + "/site"
        try Fixtures.seedTree(dir)
        return (sandbox, Overlay(), dir)
    }

    private func text(_ overlay: Overlay, _ path: String) throws -> String { String(decoding: try overlay.read(path), as: UTF8.self) }

    @Test("planned writes and directories are read back; the real tree stays as it was")
    func plannedWritesAreSeenButNotMade() throws {
        let (sandbox, overlay, dir) = try seeded()
        try expectUnchanged(sandbox, "after planning") { () throws in
            overlay.makeDirectory(dir + "/release", mode: 0o750)
            overlay.write(dir + "/release/app.ini", bytes: Array("[app]\n".utf8), mode: 0o640)
            overlay.write(dir + "/existing.txt", bytes: Array("replaced\n".utf8), mode: 0o644)

            #expect(try text(overlay, dir + "/release/app.ini") == "[app]\n")
            #expect(overlay.info(dir + "/release/app.ini")?.mode == 0o640)
            #expect(overlay.info(dir + "/release")?.kind == .directory)
            #expect(overlay.info(dir + "/release")?.mode == 0o750)
            #expect(try text(overlay, dir + "/existing.txt") == "replaced\n")
            #expect(try overlay.list(dir).contains("release"), "a listing shows the planned directory beside the real entries")
            #expect(try overlay.list(dir).contains("untouched"))
        }
        #expect(Files.read(dir + "/existing.txt") == "original content\n")
        #expect(!Files.exists(dir + "/release"))
    }

    @Test("a planned removal hides the entry and everything below it, also from its parent's listing")
    func removalHidesTheSubtree() throws {
        let (sandbox, overlay, dir) = try seeded()
        try expectUnchanged(sandbox, "after planning a removal") { () throws in
            overlay.remove(dir + "/doomed_dir")
            #expect(overlay.info(dir + "/doomed_dir") == nil)
            #expect(overlay.info(dir + "/doomed_dir/b/c.txt") == nil)
            #expect(throws: (any Error).self) { try overlay.read(dir + "/doomed_dir/a.txt") }
            #expect(try !overlay.list(dir).contains("doomed_dir"))
            // Made again after the removal, it is there (empty).
            overlay.makeDirectory(dir + "/doomed_dir", mode: 0o755)
            #expect(overlay.info(dir + "/doomed_dir")?.kind == .directory)
            #expect(try overlay.list(dir + "/doomed_dir").isEmpty, "the old children stay removed")
        }
    }

    @Test("a planned rename moves the real entry: the new path reads the old content, the old one is gone")
    func renameMovesRealEntries() throws {
        let (sandbox, overlay, dir) = try seeded()
        try expectUnchanged(sandbox, "after planning renames") { () throws in
            overlay.rename(dir + "/movable.txt", to: dir + "/moved.txt")
            #expect(overlay.info(dir + "/movable.txt") == nil)
            #expect(try text(overlay, dir + "/moved.txt") == "moving\n")
            // A real directory renamed: its real children are read through the new name.
            overlay.rename(dir + "/shared", to: dir + "/common")
            #expect(try text(overlay, dir + "/common/lib/VERSION") == "0.9\n")
            #expect(overlay.info(dir + "/shared/lib/VERSION") == nil)
            // chmod after rename keeps the content and changes only the mode.
            overlay.setAttributes(dir + "/moved.txt", mode: 0o600)
            #expect(overlay.info(dir + "/moved.txt")?.mode == 0o600)
            #expect(try text(overlay, dir + "/moved.txt") == "moving\n")
        }
    }

    @Test("a write through a planned symlink lands where the link points, as the kernel would put it")
    func writesFollowPlannedLinksAmongTheParents() throws {
        let (sandbox, overlay, dir) = try seeded()
        try expectUnchanged(sandbox, "after planning through links") { () throws in
            overlay.makeDirectory(dir + "/release", mode: 0o755)
            overlay.symlink(dir + "/current", target: dir + "/release")
            overlay.write(dir + "/current/VERSION", bytes: Array("2.0\n".utf8), mode: 0o644)
            #expect(try text(overlay, dir + "/release/VERSION") == "2.0\n")
            #expect(overlay.readLink(dir + "/current") == dir + "/release")
            #expect(overlay.info(dir + "/current")?.kind == .symlink, "info does not follow the last component (lstat)")
            // Repointing a real link: reads through it follow the new target.
            overlay.symlink(dir + "/oldlink", target: dir + "/release")
            #expect(try text(overlay, dir + "/oldlink/VERSION") == "2.0\n")
            #expect(try overlay.list(dir + "/oldlink") == ["VERSION"])
        }
    }

    @Test("attributes planned on a real file change its mode in the plan, not on disk")
    func attributesOnRealEntries() throws {
        let (sandbox, overlay, dir) = try seeded()
        try expectUnchanged(sandbox, "after planning a chmod") { () throws in
            overlay.setAttributes(dir + "/script.sh", mode: 0o755)
            #expect(overlay.info(dir + "/script.sh")?.mode == 0o755)
            #expect(try text(overlay, dir + "/script.sh") == "#!/bin/sh\necho hi\n")
        }
        #expect(Posix.lstatInfo(dir + "/script.sh")?.mode == 0o644)
    }
}
