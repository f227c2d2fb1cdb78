// The changes file effects and their undo make to one entry of a directory opened by a walk
// from the root (RootedPaths.withParent): only *at(2) calls that never follow a symlink.

import RunbookSupport

package enum FileAt {
    /// The suffix of the file written beside an entry and renamed over it.
    package static let temporarySuffix = ".runbook-tmp"

    /// chmod of the entry itself. A symlink is refused, never followed: Linux has no mode for
    /// links (fchmodat answers EOPNOTSUPP), and its target is not the run's to change.
    package static func changeMode(_ directory: Int32, _ name: String, _ mode: UInt32, shown: String) throws {
        guard fchmodat(directory, name, mode_t(mode), AT_SYMLINK_NOFOLLOW) != 0 else { return }
        let code = errno
        var info = stat()
        if fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFLNK {
            throw PathError(path: shown, problem: "is a symlink: runbook does not change the mode of what it points to")
        }
        throw SystemError("chmod", shown, code: code)
    }

    /// Writes `bytes` beside the entry and renames the new file over it: a reader never sees
    /// half a file. The temporary name is created exclusively and without following a link:
    /// whatever was there (a killed run's leftover, or a link someone planted) is removed
    /// first, never written through. The owner of a regular file it replaces is kept.
    package static func replaceFile(_ directory: Int32, _ name: String, bytes: [UInt8], mode: UInt32, shown: String) throws {
        let temporary = name + temporarySuffix
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var descriptor = openat(directory, temporary, flags, mode_t(mode))
        if descriptor < 0 && errno == EEXIST {
            unlinkat(directory, temporary, 0)
            descriptor = openat(directory, temporary, flags, mode_t(mode))
        }
        guard descriptor >= 0 else { throw SystemError("write", shown + temporarySuffix) }
        do {
            try Posix.writeAll(descriptor, bytes, path: shown)
            fchmod(descriptor, mode_t(mode))
            var old = stat()
            if fstatat(directory, name, &old, AT_SYMLINK_NOFOLLOW) == 0, old.st_mode & S_IFMT == S_IFREG {
                _ = fchown(descriptor, old.st_uid, old.st_gid)
            }
            close(descriptor)
        } catch {
            close(descriptor)
            unlinkat(directory, temporary, 0)
            throw error
        }
        if renameat(directory, temporary, directory, name) != 0 {
            let error = SystemError("write", shown)
            unlinkat(directory, temporary, 0)
            throw error
        }
    }

    /// Points a symlink elsewhere atomically (a new link beside it, renamed over it).
    package static func replaceLink(_ directory: Int32, _ name: String, target: String, shown: String) throws {
        let temporary = name + temporarySuffix
        unlinkat(directory, temporary, 0)
        if symlinkat(target, directory, temporary) != 0 { throw SystemError("symlink", shown) }
        if renameat(directory, temporary, directory, name) != 0 {
            let error = SystemError("relink", shown)
            unlinkat(directory, temporary, 0)
            throw error
        }
    }

    /// Removes what a killed write or relink may have left beside the entry: a file or link
    /// (never a directory, which no write makes).
    package static func removeLeftover(_ directory: Int32, _ name: String) {
        let temporary = name + temporarySuffix
        var info = stat()
        guard fstatat(directory, temporary, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT != S_IFDIR else { return }
        unlinkat(directory, temporary, 0)
    }

    /// Runs `body` on the entry at `real` if it is still there (an undo step finds it gone: nothing to do).
    package static func withEntry(_ real: String, in paths: RootedPaths, _ body: (_ directory: Int32, _ name: String) throws -> Void) throws {
        try paths.withExistingParent(of: real) { directory, name in
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            try body(directory, name)
        }
    }

    /// rename(2) between two entries, each reached by its own walk.
    package static func rename(_ from: String, to: String, in paths: RootedPaths, shown: String) throws {
        try paths.withParent(of: from) { fromDirectory, fromName in
            try paths.withParent(of: to) { toDirectory, toName in
                if renameat(fromDirectory, fromName, toDirectory, toName) != 0 { throw SystemError("rename", shown) }
            }
        }
    }
}
