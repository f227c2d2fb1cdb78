// SIGINT and SIGTERM held back (blocked, left pending) for a stretch of code that must
// not be cut in two, such as a run's start: its folder, record and journal are written
// whole before a signal is acted on. Blocked from the calling thread, and so in every
// thread it starts meanwhile (the console's writer); released, a pending signal is
// delivered at once, to whatever handler is then installed.

package struct StopSignals {
    private var previous = sigset_t()
    private var held = false

    package static func hold() -> StopSignals {
        var signals = StopSignals()
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGINT)
        sigaddset(&blocked, SIGTERM)
        signals.held = pthread_sigmask(SIG_BLOCK, &blocked, &signals.previous) == 0
        return signals
    }

    package mutating func release() {
        guard held else { return }
        held = false
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
