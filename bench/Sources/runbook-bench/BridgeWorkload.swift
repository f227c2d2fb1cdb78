// W3 bridge: what one call from Lua into a Swift host function costs, next to a call of
// a Lua function and of a plain C function, on the same sandboxed state, with the same
// loop, in the same process.

import CBenchSupport
import CLua
import LuaBridge

enum BridgeWorkload {
    /// The Swift bridge may cost at most this many times the plain C function.
    static let target = 3.0

    struct Case {
        var label: String
        /// The function the loop calls: a field of the global `bench` table, or nil for the
        /// empty loop.
        var field: String?
        /// Whether the row is the one judged against the target.
        var judged = false
    }

    static let cases: [Case] = [
        Case(label: "Swift host function", field: "swift_noop", judged: true),
        Case(label: "Lua function", field: "lua_noop"),
        Case(label: "C function", field: "c_noop"),
        Case(label: "empty loop (reference)", field: nil),
    ]

    static func run(_ options: BenchOptions) throws -> Outcome {
        let iterations = options.iterations ?? (options.quick ? 200_000 : 1_000_000)
        let repetitions = options.repetitions ?? 7

        // The state a runbook gets: sandboxed, strict globals, the count hook every
        // RB_HOOK_STEP instructions. All cases share it, so all pay the same hook.
        let state = try LuaState()
        state.register("swift_noop", in: "bench") { _ in 0 }
        try state.run("bench.lua_noop = function() end", chunkName: "=bench")
        registerCFunction(on: state, field: "c_noop")

        let chunks = try cases.map { item -> LuaRef in
            let body = item.field == nil ? "" : "f()"
            let source = """
                local n = ...
                local f = bench.\(item.field ?? "c_noop")
                for i = 1, n do \(body) end
                """
            return try state.load(source, chunkName: "=w3-\(item.field ?? "empty")")
        }

        // Warm up (caches, branch predictors, the first-call paths), then interleave the
        // cases in every round so drift (frequency scaling, neighbours) hits all alike.
        for chunk in chunks { try state.call(chunk, [.integer(Int64(max(iterations / 10, 1)))]) }
        var samples = Array(repeating: Samples(), count: cases.count)
        for _ in 0..<repetitions {
            for (index, chunk) in chunks.enumerated() {
                let start = monotonicNanoseconds()
                try state.call(chunk, [.integer(Int64(iterations))])
                let end = monotonicNanoseconds()
                samples[index].values.append(Double(end - start) / Double(iterations))
            }
        }
        state.close()

        return report(samples, iterations: iterations, repetitions: repetitions)
    }

    /// `bench.<field> = rb_bench_noop`, pushed with lua_pushcfunction: no bridge at all.
    static func registerCFunction(on state: LuaState, field: String) {
        let L = state.L
        rb_pushglobaltable(L)
        lua_getfield(L, -1, "bench")
        rb_bench_push_noop(L)
        lua_setfield(L, -2, field)
        rb_pop(L, 2)
    }

    static func report(_ samples: [Samples], iterations: Int, repetitions: Int) -> Outcome {
        let medians = samples.map(\.median)
        guard let cIndex = cases.firstIndex(where: { $0.field == "c_noop" }),
              let swiftIndex = cases.firstIndex(where: { $0.judged }) else { return .regressed }
        let cost = medians[cIndex]
        let ratio = medians[swiftIndex] / cost
        let outcome = Outcome(value: ratio, target: target)

        print("W3 bridge: `for i = 1, N do f() end`, N = \(iterations), median of \(repetitions) runs")
        print("  one sandboxed LuaState (count hook every 1000 instructions), shared by all rows")
        print("")
        let header = pad("workload", 24) + padLeft("calls/s", 10) + padLeft("ns/call", 10)
            + padLeft("vs C", 8) + padLeft("spread", 9) + "  " + pad("target", 9) + "result"
        print(header)
        print(String(repeating: "-", count: header.count + 12))
        for (index, item) in cases.enumerated() {
            let nanoseconds = medians[index]
            let target = item.judged ? "<= " + fixed(Self.target, 1) + "x" : "-"
            let result = item.judged ? outcome.label : "-"
            print(pad(item.label, 24) + padLeft(rate(1e9 / nanoseconds), 10) + padLeft(fixed(nanoseconds, 2), 10)
                + padLeft(fixed(nanoseconds / cost, 2) + "x", 8)
                + padLeft(fixed(samples[index].spread * 100, 1) + "%", 9) + "  " + pad(target, 9) + result)
        }
        if let loopIndex = cases.firstIndex(where: { $0.field == nil }) {
            let loop = medians[loopIndex]
            let extra = medians[swiftIndex] - cost
            let marginal = (medians[swiftIndex] - loop) / (cost - loop)
            print("")
            print("Swift bridge over a C call: +\(fixed(extra, 2)) ns/call; "
                + "call cost without the loop: \(fixed(marginal, 2))x the C call")
        }
        switch outcome {
        case .met: break
        case .missedWithinTolerance:
            print("W3: the Swift bridge is \(fixed(ratio, 2))x the C call, over the \(fixed(target, 1))x target "
                + "(within the 50% tolerance: exit status 0)")
        case .regressed:
            print("W3: the Swift bridge is \(fixed(ratio, 2))x the C call, more than 50% over the "
                + "\(fixed(target, 1))x target: exit status 1")
        }
        return outcome
    }
}
