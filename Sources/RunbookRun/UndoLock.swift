// One `runbook undo` of a run at a time: an exclusive lock on `undo.lock` in the run's
// folder, held until the undo ends (the kernel drops it if the process dies). Two undos
// started together would otherwise both read the journal and both reverse its effects.
// A POSIX record lock (fcntl), not flock: the kernel names the holder's pid to the one it
// refuses, so the refusal never depends on a line the holder may not have written yet.

import RunbookSupport

package final class UndoLock {
    private let descriptor: Int32

    /// Takes the lock of the run folder `folder`, or throws `LockHeld` naming the holder.
    package init(folder: String, runID: String) throws {
        let path = folder + "/undo.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw SystemError("open lock", path) }
        var holder: pid_t = 0
        for _ in 0..<5 {
            var lock = UndoLock.wholeFile(F_WRLCK)
            if fcntl(descriptor, F_SETLK, &lock) == 0 {
                holder = 0
                break
            }
            var probe = UndoLock.wholeFile(F_WRLCK)
            // Released between the two calls: try again.
            if fcntl(descriptor, F_GETLK, &probe) == 0, probe.l_type != Int16(F_UNLCK) { holder = probe.l_pid } else { holder = -1 }
            if holder > 0 { break }
        }
        guard holder == 0 else {
            // The holder's own line adds who and since when, once it has written it.
            let line = (try? Posix.readText(path))?.trimmed ?? ""
            close(descriptor)
            let who = holder > 0 ? "pid \(holder)" : "another undo"
            throw LockHeld(name: "undo of run \(runID)", holder: line.hasPrefix(who + " ") ? line : who)
        }
        let who = "pid \(getpid()) (\(Posix.userName)@\(Posix.hostName), since \(Clock.iso8601(Clock.wall())))"
        ftruncate(descriptor, 0)
        _ = try? Posix.writeAll(descriptor, Array(who.utf8), path: path)
        self.descriptor = descriptor
    }

    deinit {
        ftruncate(descriptor, 0)
        // Closing the file releases the lock.
        close(descriptor)
    }

    private static func wholeFile(_ type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        return lock
    }
}
