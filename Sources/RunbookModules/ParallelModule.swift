// `parallel(items, fn [, {limit = N}])`: fn(item) for every item, branches overlapping where
// they wait — on another host's agent, a program, a connection — one system thread per
// running branch, taking turns at the Lua state and the engine (ParallelGate.swift), so
// every effect is journaled and planned exactly as without `parallel`, in the order the
// branches reached it.

import LuaBridge
import RunbookRun
import RunbookSupport

package enum ParallelModule: LuaModule {
    package static var primitives: [LuaPrimitive] { [
        // parallel(items, fn [, {limit = N}]) -> { fn(items[1]), fn(items[2]), ... }
        LuaPrimitive("parallel", doc: parallelDoc, parallel),
    ] }

    // MARK: parallel

    static var parallelDoc: APIFunction {
        APIFunction(.run, "items: any[]  strings, numbers or tables of them", "fn: fun(item: any): any  one branch's work",
            "options?: parallel.Options",
            returns: ["any[]  what each branch returned (its first value), in the order of `items`"],
            doc: """
            Runs `fn(item)` for each item, up to `limit` branches at once (default: all, at most
            64: a failover pings every floating address of a dispatcher at once). Branches overlap where they wait: requests to another host's agent (`on`), programs
            (`cmd.run`, `net.ping`, `rsync`, config tests) and `http.get`; the rest of the engine runs
            one branch at a time, so effects are journaled, planned and undone as anywhere else, in
            the order the branches made them (undo reverses that order). Console lines of a branch
            start with `[ITEM]`; `--json` events carry `"branch"`. When a branch fails, no new branch
            starts, each running one stops at its next call (the effect it is in completes), and
            `parallel` raises the first failure, naming its item. A dry-run, and a run held to a
            reviewed plan (`--plan-file`), run the branches one after another in the order of
            `items`, so the plan is the same every time. `step` cannot be called inside a branch;
            `parallel` cannot be nested.
            """,
            example: """
            parallel({ "d1", "d2" }, function(host)
              on(host, function()
                fs.write("/usr/local/etc/nginx/installs.conf", conf)
                service.reload("nginx", { config = "/usr/local/etc/nginx/nginx.conf" })
              end)
            end)
            local alive = parallel(addresses, function(ip) return net.ping(ip) end)
            """,
            classes: [APIClass("parallel.Options", "limit?: integer  branches at once (1 to 64)")])
    }

    static func parallel(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let items = try call.table(1)
        guard items.fields.isEmpty else { throw call.argumentError(1, "items must be an array") }
        let function = try call.function(2)
        let limit = try call.optionalTable(3)?["limit"].integerValue.map(Int.init) ?? 64
        guard (1...64).contains(limit) else { throw call.argumentError(3, "limit must be between 1 and 64, got \(limit)") }
        guard let state = session.lua else { return 0 }
        guard ParallelGate.current == nil else { throw LuaHostFailure("parallel cannot be nested: call it outside the branches of another") }
        let labels = items.array.enumerated().map { index, item in item.stringValue ?? item.integerValue.map(String.init) ?? String(index + 1) }
        let oneByOne = session.isDryRun || session.reviewed != nil
        var results = [LuaValue](repeating: .nil, count: items.array.count)
        let failure = try BranchRunner(session: session, state: state, function: function, items: items.array, labels: labels)
            .run(limit: oneByOne ? 1 : min(limit, max(1, items.array.count)), into: &results)
        if let failure { throw failure }
        try call.push(.table(LuaTable(array: results)))
        return 1
    }
}

/// The branches of one `parallel` call and the threads that run them.
private final class BranchRunner: @unchecked Sendable {
    let session: RunSession
    let state: LuaState
    let function: LuaRef
    let items: [LuaValue]
    let labels: [String]
    let threads: [LuaThread]
    /// The next item to start; read and advanced only with the gate held.
    var next = 0
    var results: [LuaValue]
    var failure: (any Error)?

    init(session: RunSession, state: LuaState, function: LuaRef, items: [LuaValue], labels: [String]) throws {
        self.session = session
        self.state = state
        self.function = function
        self.items = items
        self.labels = labels
        threads = items.map { _ in state.newThread() }
        results = [LuaValue](repeating: .nil, count: items.count)
    }

    /// Runs every branch on `limit` threads; the first failure (its item named), if any.
    func run(limit: Int, into output: inout [LuaValue]) throws -> (any Error)? {
        let caller = session.branchContext
        let callerExecution = state.executionState
        let gate = ParallelGate(
            save: { [self] in (session.branchContext, state.executionState) as Any },
            restore: { [self] saved in
                guard let (context, execution) = saved as? (RunSession.BranchContext, LuaState.ExecutionState) else { return }
                session.branchContext = context
                state.executionState = execution
            })
        ParallelGate.current = gate
        defer {
            ParallelGate.current = nil
            session.failedBranch = nil
            session.branchContext = caller
        }
        // This thread holds the gate from here until it waits for the workers.
        gate.enter((caller, callerExecution) as Any)
        var workers: [KeptThreads.Job] = []
        for _ in 0..<limit {
            do { workers.append(try KeptThreads.shared.start { [self] in work(gate, caller: caller, execution: callerExecution) }) } catch {
                if workers.isEmpty { _ = gate.leave(); throw error }
                break
            }
        }
        let saved = gate.leave()
        for worker in workers { worker.wait() }
        gate.enter(saved)
        _ = gate.leave()
        output = results
        return failure
    }

    /// One worker: takes the next branch while none has failed.
    private func work(_ gate: ParallelGate, caller: RunSession.BranchContext, execution: LuaState.ExecutionState) {
        gate.enter((caller, execution) as Any)
        while failure == nil, next < items.count {
            let index = next
            next += 1
            var context = caller
            context.label = labels[index]
            session.branchContext = context
            do {
                results[index] = try state.call(function, [items[index]], on: threads[index]).first ?? .nil
            } catch {
                if failure == nil {
                    failure = LuaHostFailure("parallel: the branch for \(labels[index]) failed: \(error)")
                    session.failedBranch = labels[index]
                }
            }
        }
        _ = gate.leave()
    }
}
