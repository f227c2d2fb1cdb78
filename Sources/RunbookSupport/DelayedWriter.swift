// Bytes for one file that may wait a moment before they are written: console lines of
// effects when stdout is a file or a pipe, and journal outcomes. Many small lines and
// records then go out in one write(2) — on a virtual machine a system call costs as much
// as the rest of a db.exec — and a helper
// thread writes whatever has waited `delay` seconds, so nothing waits longer than that
// however long the runbook then computes, queries or sleeps.

import CSystem

package final class DelayedWriter: @unchecked Sendable {
    package let descriptor: Int32
    package let path: String
    /// How long bytes may wait, in seconds.
    package let delay: Double
    /// Written at once when this much waits.
    package static let limit = 16384

    // Everything below is guarded by `mutex`; the helper thread exists once bytes have waited.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let pending = ByteBuffer(capacity: 4096)
    /// When the oldest waiting byte arrived (monotonic seconds).
    private var since = 0.0
    private var helper: pthread_t?
    /// The helper waits for bytes with no deadline: the next held bytes must wake it. Else
    /// it wakes at its deadline by itself and no wake-up (a futex call) is needed.
    private var helperIdle = false
    private var closing = false

    package init(descriptor: Int32, path: String, delay: Double = 0.2) {
        self.descriptor = descriptor
        self.path = path
        self.delay = delay
        pthread_mutex_init(mutex, nil)
        // Deadlines on the monotonic clock: a wall-clock step must not hold bytes back.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        close()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Keeps `bytes` to be written within `delay` seconds (or with the next `write`, `flush`).
    package func hold(_ bytes: UnsafeBufferPointer<UInt8>) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // Closed: nothing would write it later.
        if closing { return writeAll(bytes) }
        if pending.isEmpty {
            since = Clock.monotonic()
            if helper == nil { startHelper() } else if helperIdle { pthread_cond_signal(condition) }
        }
        pending.append(bytes)
        if pending.count >= DelayedWriter.limit { writePending() }
    }

    /// Writes what waits and then `bytes`, in order, in one write(2) when something waited;
    /// throws when they did not all reach the file (what waited is then lost with them).
    package func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if pending.isEmpty {
            try Posix.writeAll(descriptor, bytes, path: path)
        } else {
            pending.append(bytes)
            defer { pending.removeAll() }
            try Posix.writeAll(descriptor, pending.bytes, path: path)
        }
    }

    /// Writes what waits, now.
    package func flush() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        writePending()
    }

    /// Stops the helper and writes what waits; later bytes are written at once.
    package func close() {
        pthread_mutex_lock(mutex)
        closing = true
        pthread_cond_signal(condition)
        let running = helper
        helper = nil
        pthread_mutex_unlock(mutex)
        if let running { pthread_join(running, nil) }
        flush()
    }

    // MARK: Under the mutex

    private func writePending() {
        guard !pending.isEmpty else { return }
        writeAll(pending.bytes)
        pending.removeAll()
    }

    private func writeAll(_ bytes: UnsafeBufferPointer<UInt8>) {
        // A file that cannot be written (a closed pipe, a full disk) is not the run's
        // failure here: the journal's sync reports its own.
        _ = try? Posix.writeAll(descriptor, bytes, path: path)
    }

    private func startHelper() {
        // The helper never takes a signal: SIGINT and SIGTERM must reach the thread that
        // runs the runbook (SignalTrap), and interrupt what it waits for.
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&thread, nil, { context in
            let writer = Unmanaged<DelayedWriter>.fromOpaque(context!).takeRetainedValue()
            writer.writeWhenDue()
            return nil
        }, context) == 0 else {
            // No thread (resources exhausted): bytes wait for the next write or flush instead.
            Unmanaged<DelayedWriter>.fromOpaque(context).release()
            return
        }
        helper = thread
    }

    /// The helper: sleeps until bytes wait, then until they are due, and writes them.
    private func writeWhenDue() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !closing {
            if pending.isEmpty {
                helperIdle = true
                pthread_cond_wait(condition, mutex)
                helperIdle = false
                continue
            }
            let due = since + delay
            if Clock.monotonic() >= due {
                writePending()
                continue
            }
            var deadline = timespec(tv_sec: Int(due.rounded(.down)), tv_nsec: Int((due - due.rounded(.down)) * 1e9))
            pthread_cond_timedwait(condition, mutex, &deadline)
        }
    }
}
