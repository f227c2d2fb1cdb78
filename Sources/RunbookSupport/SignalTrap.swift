// SIGINT/SIGTERM during a run: the current effect finishes, then the script is stopped at
// its next instruction and the failure path runs (exit 130).

import LuaBridge

package enum SignalTrap {
    nonisolated(unsafe) private static var target: LuaInterruptHandle?
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    package static func install(_ handle: LuaInterruptHandle) {
        target = handle
        received = 0
        let handler: @convention(c) (Int32) -> Void = { _ in
            SignalTrap.received = 1
            SignalTrap.target?.request()
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A reader of the console going away (SIGPIPE) or a file size limit (SIGXFSZ) must
        // not kill the run between an effect and its record: the write fails instead, and
        // an intent the journal cannot take stops the run before its effect (LiveExecutor).
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    package static var wasReceived: Bool { received != 0 }

    /// While the failure path runs, a second signal is ignored: undo must finish (and, as
    /// in a run, a closed console or a file size limit must not stop it between entries).
    package static func ignoreFurther() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    package static func restore() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        signal(SIGPIPE, SIG_DFL)
        signal(SIGXFSZ, SIG_DFL)
        target = nil
    }
}
