// One `runbook undo` of a run at a time: an exclusive flock on `undo.lock` in the run's
// folder, held until the undo ends (the kernel drops it if the process dies). Two undos
// started together would otherwise both read the journal and both reverse its effects.

final class UndoLock {
    private let descriptor: Int32

    /// Takes the lock of the run folder `folder`, or throws `LockHeld` naming the holder.
    init(folder: String, runID: String) throws {
        let path = folder + "/undo.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw SystemError("open lock", path) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            // The holder writes its line just after taking the lock: read what is there.
            let holder = (try? Posix.readText(path))?.trimmed ?? ""
            close(descriptor)
            throw LockHeld(name: "undo of run \(runID)", holder: holder.isEmpty ? "another undo (just starting)" : holder)
        }
        let who = "pid \(getpid()) (\(Posix.userName)@\(Posix.hostName), since \(Clock.iso8601(Clock.wall())))"
        ftruncate(descriptor, 0)
        _ = try? Posix.writeAll(descriptor, Array(who.utf8), path: path)
        self.descriptor = descriptor
    }

    deinit {
        // Emptied first: a reader that finds the file never names a holder that is gone.
        ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
