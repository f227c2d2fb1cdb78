// An example line of a page in docs/ held against the line the program printed, so the
// page cannot drift from the program (a test that produces the situation checks its page).

import RunbookSupport
import Testing

/// One example line of a docs page, found by words that stay the same in every run.
package enum DocExample {
    /// The one line of docs/PAGE that contains every one of `fixedWords`; the test stops
    /// when none or several do (the page was reworded: the words or the page need fixing).
    package static func line(page: String, containing fixedWords: [String]) throws -> String {
        let path = ProjectDirectory.path + "/docs/" + page
        guard let text = Files.read(path) else { throw TestSetupError("cannot read \(path)") }
        let lines = text.split(separator: "\n").map(String.init).filter { line in fixedWords.allSatisfy { line.contains($0) } }
        guard lines.count == 1 else {
            throw TestSetupError("docs/\(page) has \(lines.count) lines with all of \(fixedWords), not one: \(lines)")
        }
        return lines[0]
    }

    /// The line with what differs between runs replaced: run ids become RUN-A, RUN-B, ... in
    /// order of first appearance (so "undo it first (runbook undo RUN-B)" still says which
    /// run), then every other number becomes N.
    package static func normalized(_ line: String) -> String {
        var ids: [String] = []
        var text = line
        for match in line.matches(of: try! Regex("[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")) {
            let id = String(line[match.range])
            if !ids.contains(id) { ids.append(id) }
        }
        for (index, id) in ids.enumerated() {
            // A placeholder without digits, so the numbers' rule below leaves it alone.
            text = text.replacing(id, with: "RUN-" + String(UnicodeScalar(UInt8(65 + index % 26))))
        }
        return text.replacing(try! Regex("[0-9]+"), with: "N")
    }

    /// The program printed `printed` (one of its lines contains every one of `fixedWords`):
    /// that line is the page's example line, but for run ids and numbers. A test world's
    /// `root` (its --root) is taken out of the printed paths: the page shows a server's own.
    package static func expectShown(_ printed: String, root: String? = nil, page: String, containing fixedWords: [String],
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        let documented = try line(page: page, containing: fixedWords)
        let lines = printed.split(separator: "\n").map { line in root.map { String(line).replacing($0 + "/", with: "/") } ?? String(line) }
        let actual = lines.first { line in fixedWords.allSatisfy { line.contains($0) } }
        #expect(actual.map(normalized) == normalized(documented), """
            docs/\(page) shows a line the program does not print
            page:    \(documented)
            printed: \(actual ?? "(no line with \(fixedWords))")
            """, sourceLocation: sourceLocation)
    }
}
