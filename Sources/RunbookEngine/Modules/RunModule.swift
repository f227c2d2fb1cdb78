// The run's own vocabulary: runbook{}, step, cleanup, finally, lock, progress, log, print
// and the read-only `context` table.

import LuaBridge

enum RunModule {
    static func register(into state: LuaState, slot: SessionSlot) {
        // runbook { summary=, doc=, params=, on_failure=, run=, locks= } -> the declaration
        state.register("runbook") { call in
            guard call.argumentCount == 1, !call.isNil(1) else { throw call.argumentError(1, "table expected, got \(call.typeName(1))") }
            _ = try call.table(1)
            call.pushArgument(1)
            return 1
        }

        // step(name, fn): a named group of effects, logged with its duration and status
        state.register("step") { [weak state] call in
            let session = try slot.require(call.name)
            let name = try call.string(1)
            let body = try call.function(2)
            guard let state else { return 0 }
            let token = session.beginStep(name)
            do {
                _ = try state.call(body)
                try session.flushReloads()
            } catch let error as LuaError {
                session.pendingReloads.removeAll()
                session.endStep(token, failure: error.description)
                throw error
            } catch {
                session.pendingReloads.removeAll()
                session.endStep(token, failure: String(describing: error))
                throw error
            }
            session.endStep(token, failure: nil)
            return 0
        }

        // cleanup(fn): runs if the run fails or is interrupted, last registered first
        state.register("cleanup") { call in
            let session = try slot.require(call.name)
            session.cleanupHooks.append(try call.function(1))
            return 0
        }

        // finally(fn): always runs at the end, last registered first
        state.register("finally") { call in
            let session = try slot.require(call.name)
            session.finallyHooks.append(try call.function(1))
            return 0
        }

        // lock(name): held for the rest of the run; waits up to --lock-timeout
        state.register("lock") { call in
            let session = try slot.require(call.name)
            let name = try call.string(1)
            try session.locks?.acquire(name)
            return 0
        }

        // progress(done, total): progress of a long loop inside the current step
        state.register("progress") { call in
            let session = try slot.require(call.name)
            session.output.progress(try call.integer(1), try call.integer(2), step: session.currentStep)
            return 0
        }

        for level in ["debug", "info", "warn", "error"] {
            // log.debug/info/warn/error(...): to the console and the run's log
            state.register(level, in: "log") { call in
                let session = try slot.require(call.name)
                session.output.log(level, message(call))
                return 0
            }
        }

        // print(...): same as log.info
        state.register("print") { call in
            let session = try slot.require(call.name)
            session.output.log("info", message(call))
            return 0
        }
    }

    /// Arguments joined by spaces; scalars shown as Lua's tostring would.
    static func message(_ call: LuaCall) -> String {
        var parts: [String] = []
        if call.argumentCount > 0 {
            for position in 1...call.argumentCount {
                // A table or function is shown by its type, without converting it: a table
                // nested deeper than the conversion allows printed as "nil".
                let type = call.typeName(position)
                if type == "table" || type == "function" {
                    parts.append(type)
                    continue
                }
                switch (try? call.value(position)) ?? .nil {
                case .nil: parts.append("nil")
                case .boolean(let b): parts.append(b ? "true" : "false")
                case .integer(let i): parts.append(String(i))
                case .number(let d): parts.append(String(d))
                case .string(let bytes): parts.append(String(decoding: bytes, as: UTF8.self))
                case .table: parts.append("table")
                case .function: parts.append("function")
                }
            }
        }
        return parts.joined(separator: " ")
    }
}
