// runbook-bench: named performance workloads of the runbook engine. `bench/run` builds
// this in release mode and runs it; see bench/README.md.
//
// Exit status: 0 every workload met its target or missed it by at most 50%;
// 1 a workload missed its target by more than 50% (a regression);
// 2 bad invocation or a workload could not run.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

let options: BenchOptions
do {
    options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch let error as BenchUsageError {
    printError("runbook-bench: \(error.message)\n\(BenchOptions.usage)")
    exit(2)
}

if options.help {
    print(BenchOptions.usage)
    print("\nworkloads:")
    for workload in Workloads.all { print("  \(pad(workload.name, 12)) \(workload.summary)") }
    exit(0)
}
if options.list {
    for workload in Workloads.all { print("\(workload.name)\t\(workload.summary)") }
    exit(0)
}

let selected: [Workload]
do {
    selected = try Workloads.select(options.workloads, peers: options.venv != nil)
} catch let error as BenchUsageError {
    printError("runbook-bench: \(error.message)")
    exit(2)
}

var status: Int32 = 0
for (index, workload) in selected.enumerated() {
    if index > 0 { print("") }
    do {
        switch try workload.run(options) {
        case .met, .missedWithinTolerance: break
        case .regressed: status = max(status, 1)
        }
    } catch {
        printError("runbook-bench: \(workload.name) could not run: \(error)")
        status = 2
    }
}
// The private MariaDB servers W4 and W5 started (stopped here, after the last workload).
SharedDatabases.stopAll()
exit(status)
