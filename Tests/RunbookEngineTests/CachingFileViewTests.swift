// The caching file view fs reads through: what it remembers about the directories the run
// made stays true across the run's effects, is dropped by any other effect, and never hides
// a file from the reads that decide whether to replace something (fs.write, fs.stat).

import Foundation
import RunbookCore
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("CachingFileView: what the run knows of its directories")
struct CachingFileViewTests {
    /// A view on a real tree under a sandbox's root, and the real path of `/d` there.
    private func makeView(_ sandbox: Sandbox) throws -> (CachingFileView, RootedPaths, String) {
        let paths = try RootedPaths(root: sandbox.tree)
        let directory = try paths.real("/d")
        try Files.mkdir(directory)
        return (CachingFileView(view: LiveFileSystem(paths: paths), paths: paths), paths, directory)
    }

    @Test("a name in the directory the run just made is taken as free for mkdir and symlink, never for a plain read")
    func freshNamesAreFreeOnlyForCreating() throws {
        let sandbox = try Sandbox()
        let (files, _, directory) = try makeView(sandbox)
        files.madeDirectory(directory)
        // Another process puts a file there meanwhile: mkdir(2) or symlink(2) would fail on
        // it with EEXIST, so creating may skip the look-up; a read must still see it.
        try Files.write(directory + "/planted", "theirs")
        #expect(files.infoBeforeCreating(directory + "/planted") == nil)
        #expect(files.info(directory + "/planted")?.kind == .file)
        #expect(try files.read(directory + "/planted") == Array("theirs".utf8))
    }

    @Test("a name the run has made since is looked up again")
    func namesTheRunMadeAreLookedUp() throws {
        let sandbox = try Sandbox()
        let (files, _, directory) = try makeView(sandbox)
        files.madeDirectory(directory)
        try Files.symlink("/elsewhere", directory + "/current")
        files.note(MakeSymlink(path: EffectPath(shown: "/d/current", real: directory + "/current"), target: "/elsewhere",
                               realTarget: "/elsewhere", replacing: false))
        #expect(files.infoBeforeCreating(directory + "/current")?.kind == .symlink)
    }

    @Test("an effect that makes no new entry forgets the fresh directory and the known one")
    func otherEffectsForgetEverything() throws {
        let sandbox = try Sandbox()
        let (files, _, directory) = try makeView(sandbox)
        files.madeDirectory(directory)
        try Files.write(directory + "/config.php", "x")
        files.note(ChangeMode(path: EffectPath(shown: "/d", real: directory), mode: 0o700, oldMode: 0o755))
        #expect(files.infoBeforeCreating(directory + "/config.php")?.kind == .file)
        // The directory itself is looked up again: gone now, so nothing can be made in it.
        try Posix.removeTree(directory)
        #expect(!files.parentIsDirectory(directory + "/link"))
    }

    @Test("an undo outside the run's effects makes it forget the directories it knew")
    func forgetAllAfterAnUndo() throws {
        let sandbox = try Sandbox()
        let (files, _, directory) = try makeView(sandbox)
        files.madeDirectory(directory)
        #expect(files.parentIsDirectory(directory + "/link"))
        try Posix.removeTree(directory)
        #expect(files.parentIsDirectory(directory + "/link"), "until told, it trusts what the run's own effects left")
        files.forgetAll()
        #expect(!files.parentIsDirectory(directory + "/link"))
    }

    @Test("past 32 names made in it, a fresh directory's names are looked up on disk again")
    func manyNamesEndFreshness() throws {
        let sandbox = try Sandbox()
        let (files, _, directory) = try makeView(sandbox)
        files.madeDirectory(directory)
        for index in 0..<33 {
            let real = directory + "/site\(index)"
            files.note(MakeDirectory(path: EffectPath(shown: "/d/site\(index)", real: real), mode: 0o755))
        }
        try Files.write(directory + "/planted", "theirs")
        #expect(files.infoBeforeCreating(directory + "/planted")?.kind == .file)
    }

    @Test("an existing directory says whether mkdir(2) in it gives a new directory its mode exactly")
    func exactModesUnderPlainAndSetgidParents() throws {
        let sandbox = try Sandbox()
        let (files, paths, directory) = try makeView(sandbox)
        let shared = try paths.real("/shared")
        try Files.mkdir(shared)
        #expect(chmod(shared, 0o2775) == 0)
        #expect(files.existingDirectory(directory)?.givesExactModes == true)
        #expect(files.existingDirectory(shared)?.givesExactModes == false)
        #expect(files.existingDirectory(try paths.real("/missing")) == nil)
    }
}
