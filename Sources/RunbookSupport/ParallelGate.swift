// `parallel` runs its branches on threads of their own, but one at a time runs Lua and the
// engine: the branch holding the gate. A branch opens the gate only while it waits — for
// another host's agent, a program, a connection (`Blocking.wait`) — so branches overlap
// exactly where they would otherwise sit idle, and everything else (the Lua state, the
// journal, the plan) is touched by one thread at a time, as without `parallel`. What each
// branch has of its own (the Lua thread running, the host `on` names, its label) is put
// back by `restore` when it takes the gate again.

public final class ParallelGate: @unchecked Sendable {
    /// The gate of the `parallel` call running now, if any.
    nonisolated(unsafe) package static var current: ParallelGate?

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let save: () -> Any
    private let restore: (Any) -> Void
    /// The thread holding the gate (written only by it, with the gate held).
    private var holder: pthread_t?

    /// `save` captures the context of the thread leaving; `restore` puts one back.
    package init(save: @escaping () -> Any, restore: @escaping (Any) -> Void) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        self.save = save
        self.restore = restore
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Takes the gate and puts `context` back.
    package func enter(_ context: Any) {
        pthread_mutex_lock(mutex)
        holder = pthread_self()
        restore(context)
    }

    /// True on the thread holding the gate: another thread (one the engine keeps for
    /// itself) waits without touching it.
    package var isHeldHere: Bool { holder.map { pthread_equal($0, pthread_self()) != 0 } ?? false }

    /// Keeps this thread's context and lets another thread in.
    package func leave() -> Any {
        let context = save()
        holder = nil
        pthread_mutex_unlock(mutex)
        return context
    }
}

public enum Blocking {
    /// Runs a call that waits (poll on a program, an agent, a socket) with the gate open for
    /// the other branches of a `parallel` call; without one, just runs it.
    package static func wait<T>(_ body: () throws -> T) rethrows -> T {
        guard let gate = ParallelGate.current, gate.isHeldHere else { return try body() }
        let context = gate.leave()
        defer { gate.enter(context) }
        return try body()
    }
}
