// How tests spell invocations and source text: the --yes a script passes, shell and Lua
// quoting.

import Testing
import RunbookEngine

/// `arguments` as a script passes them: a real run (`run` without --dry-run, --yes or
/// --plan-file) gets --yes, as cron lines and the queue worker pass it; off a terminal a
/// real run without it is refused (exit 2). Everything else is left as given. The flag
/// goes right after `run`, before any `--` that ends the options.
package func scripted(_ arguments: [String]) -> [String] {
    var index = 0
    // Engine options (`--config FILE`, ...) may come before the subcommand.
    while index + 1 < arguments.count, arguments[index].hasPrefix("--") { index += 2 }
    guard index < arguments.count, arguments[index] == "run" else { return arguments }
    let rest = arguments[(index + 1)...].prefix { $0 != "--" }
    if rest.contains("--dry-run") || rest.contains("--yes") || rest.contains("--plan-file") { return arguments }
    return Array(arguments[...index]) + ["--yes"] + arguments[(index + 1)...]
}

package func shellQuoted(_ word: String) -> String { "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }

/// A Lua long-bracket literal holding `text` exactly.
package func luaQuoted(_ text: String) -> String {
    var level = 0
    while text.contains("]" + String(repeating: "=", count: level) + "]") { level += 1 }
    let equals = String(repeating: "=", count: level)
    // A long bracket drops a first newline; none of the inputs start with one.
    return "[\(equals)[\(text)]\(equals)]"
}
