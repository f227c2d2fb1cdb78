// The table the whole-process workloads (W0, W1, W2) print: one row per measurement —
// figure, the baseline it is compared with, the ratio, spread, target and PASS/FAIL.

struct TableRow {
    var label: String
    var figure: String
    var baseline = "-"
    var ratio = "-"
    var spread = "-"
    var target = "-"
    var result = "-"
}

func printTable(_ rows: [TableRow]) {
    let headers = TableRow(label: "measurement", figure: "figure", baseline: "baseline", ratio: "ratio", spread: "spread",
                           target: "target", result: "result")
    let columns: [(TableRow) -> String] = [\.label, \.figure, \.baseline, \.ratio, \.spread, \.target, \.result]
    let rightAligned = [false, true, false, true, true, false, false]
    let widths = columns.map { column in ([headers] + rows).map { column($0).count }.max() ?? 0 }
    func line(_ row: TableRow) -> String {
        var text = ""
        for (index, column) in columns.enumerated() {
            let cell = column(row)
            if index > 0 { text += "  " }
            let last = index == columns.count - 1
            text += rightAligned[index] ? padLeft(cell, widths[index]) : (last ? cell : pad(cell, widths[index]))
        }
        return text
    }
    let header = line(headers)
    print(header)
    print(String(repeating: "-", count: header.count + 4))
    rows.forEach { print(line($0)) }
}

/// Milliseconds from nanoseconds: "4.12 ms".
func milliseconds(_ nanoseconds: Double) -> String { fixed(nanoseconds / 1e6, 2) + " ms" }

/// Milliseconds, or seconds from 10 s up: "4.12 ms", "12.50 s".
func duration(_ nanoseconds: Double) -> String {
    nanoseconds >= 1e10 ? fixed(nanoseconds / 1e9, 2) + " s" : milliseconds(nanoseconds)
}

/// Mebibytes from bytes: "9.8 MiB".
func mebibytes(_ bytes: Double) -> String { fixed(bytes / 1_048_576, 1) + " MiB" }

/// A sample set's spread as a percentage: "3.1%".
func spreadText(_ samples: Samples) -> String { fixed(samples.spread * 100, 1) + "%" }

extension Outcome {
    /// The worse of two outcomes (a workload with several targets reports its worst).
    func worse(_ other: Outcome) -> Outcome {
        func rank(_ outcome: Outcome) -> Int {
            switch outcome {
            case .met: return 0
            case .missedWithinTolerance: return 1
            case .regressed: return 2
            }
        }
        return rank(other) > rank(self) ? other : self
    }
}

/// A one-line note when a workload missed a target (the README's exit-status rule).
func reportMiss(_ name: String, _ what: String, _ outcome: Outcome) {
    switch outcome {
    case .met: break
    case .missedWithinTolerance: print("\(name): \(what) is over its target (within the 50% tolerance: exit status 0)")
    case .regressed: print("\(name): \(what) is more than 50% over its target: exit status 1")
    }
}
