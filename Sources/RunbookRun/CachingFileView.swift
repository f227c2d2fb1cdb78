// The file system as the run's primitives see it (the real one, or the dry-run overlay),
// remembering what the run itself has learned about directories so that a loop of fs.mkdir
// and fs.symlink looks each directory up once. What it remembers stays true because the
// session tells it about every effect (`note`) and forgets it all when something outside
// the run's effects (an undo) may have changed the tree (`forgetAll`).
// docs/performance.md says which workload this serves.

import RunbookCore
import RunbookSupport

package final class CachingFileView: FileSystemView {
    /// An existing directory a new one is made in, and whether mkdir(2) there gives a new
    /// directory exactly the mode it asks for.
    package struct ExistingDirectory {
        package let info: FileInfo
        /// False when the directory is setgid (its bit passes down) or has a default ACL
        /// (which decides instead of the umask).
        package let givesExactModes: Bool
    }

    private let view: FileSystemView
    private let paths: RootedPaths

    /// The directory fs.mkdir last made or found, while no effect that could remove it has run.
    private var knownDirectory: String?
    /// The existing parent fs.mkdir last looked up, under the same rule.
    private var knownParent: (path: String, directory: ExistingDirectory)?
    /// The directory the run has just created, and the names it has made in it since:
    /// nothing else is there but what another process may add meanwhile, and that makes
    /// mkdir(2) or symlink(2) fail with EEXIST, not be replaced.
    private var freshDirectory: String?
    private var freshEntries: [String] = []
    /// A few names (a site's links and files) are checked by a linear search; past this many
    /// the directory is no longer "fresh" and its names are looked up again, so a loop that
    /// fills it with thousands does not turn quadratic.
    private static let freshEntryLimit = 32

    package init(view: FileSystemView, paths: RootedPaths) {
        self.view = view
        self.paths = paths
    }

    // MARK: Plain reads

    package func info(_ path: String) -> FileInfo? { view.info(path) }
    package func read(_ path: String) throws -> [UInt8] { try view.read(path) }
    package func list(_ path: String) throws -> [String] { try view.list(path) }
    package func readLink(_ path: String) -> String? { view.readLink(path) }

    // MARK: Reads that use what the run knows

    /// What is at `real`, for a primitive about to create it with a call that fails if
    /// something appeared there meanwhile (mkdir(2), symlink(2)): a name the run knows is
    /// free in a directory it has just created is not looked up.
    package func infoBeforeCreating(_ real: String) -> FileInfo? {
        if let freshDirectory, PathName.isEntry(real, of: freshDirectory), !freshEntries.contains(real) { return nil }
        return view.info(real)
    }

    /// True when the directory `real` would be made in exists (a site's folder, then its
    /// links: the folder fs.mkdir just made or found is not looked up again).
    package func parentIsDirectory(_ real: String) -> Bool {
        knownDirectory.map { PathName.isEntry(real, of: $0) } == true || view.info(PathName.parent(real))?.kind == .directory
    }

    /// The directory at `real` that new directories would be made in, or nil when nothing
    /// is there.
    package func existingDirectory(_ real: String) -> ExistingDirectory? {
        if let knownParent, knownParent.path == real { return knownParent.directory }
        guard let info = view.info(real) else { return nil }
        let directory = ExistingDirectory(info: info,
                                          givesExactModes: info.kind == .directory && info.mode & 0o2000 == 0 && !Posix.hasDefaultACL(real))
        knownParent = (real, directory)
        return directory
    }

    // MARK: What the run tells it

    /// fs.mkdir found a directory at `real`.
    package func foundDirectory(_ real: String) {
        knownDirectory = real
    }

    /// fs.mkdir has created the directory `real` (and any missing parents) in this run.
    package func madeDirectory(_ real: String) {
        knownDirectory = real
        freshDirectory = real
        freshEntries.removeAll(keepingCapacity: true)
    }

    /// Keeps what it knows true across the run's own effects: a file, link or directory
    /// made in the fresh directory is remembered; any other effect forgets it all.
    package func note(_ effect: any Effect) {
        guard let made = effect.newEntry else { return forgetAll() }
        guard freshDirectory != nil else { return }
        if freshEntries.count >= Self.freshEntryLimit { freshDirectory = nil } else { freshEntries.append(made) }
    }

    /// Forgets what it knows of directories: something outside the run's effects (an undo)
    /// may have removed or filled them.
    package func forgetAll() {
        paths.forgetOpenedDirectories()
        knownDirectory = nil
        knownParent = nil
        freshDirectory = nil
    }
}
