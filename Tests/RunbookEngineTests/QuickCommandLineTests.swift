// The quick reader of `run`/`undo` command lines (start-up time) must mean exactly what
// ArgumentParser means: every invocation it accepts parses to the same values there, and
// everything unusual is left to ArgumentParser.

import ArgumentParser
import XCTest
@testable import RunbookCLI

final class QuickCommandLineTests: XCTestCase {
    /// What ArgumentParser makes of `arguments`, in the quick reader's terms (nil: an error,
    /// help, or another command).
    private func argumentParser(_ arguments: [String]) -> QuickInvocation? {
        guard let command = try? RunbookCommand.parseAsRoot(RunbookCommand.normalize(arguments)) else { return nil }
        if let run = command as? RunCommand {
            return QuickInvocation(
                command: .run(name: run.name, words: run.arguments, dryRun: run.dryRun, json: run.json, yes: run.yes,
                              durable: run.durable, lockTimeout: run.lockTimeout, savePlan: run.savePlan,
                              planFile: run.planFile),
                configPath: run.options.config, runbookDirs: run.options.runbooks, stateDir: run.options.stateDir,
                root: run.options.root)
        }
        if let undo = command as? UndoCommand {
            return QuickInvocation(command: .undo(runID: undo.runID, dryRun: undo.dryRun, json: undo.json),
                                   configPath: undo.options.config, runbookDirs: undo.options.runbooks,
                                   stateDir: undo.options.stateDir, root: undo.options.root)
        }
        return nil
    }

    func testAcceptedInvocationsMeanWhatArgumentParserMeans() {
        let accepted: [[String]] = [
            ["run", "noop"],
            ["run", "noop", "--runbooks", "/tmp/rb", "--state-dir", "/tmp/state"],
            ["--state-dir", "/tmp/state", "run", "noop", "--dry-run"],
            ["--runbooks", "/a", "--runbooks", "/b", "run", "install", "--runbooks", "/c"],
            ["run", "install", "--email", "a@b.c", "--hostname", "shop.example.com", "--plan", "paid", "--dry-run"],
            ["run", "--json", "install", "--email", "a@b.c"],
            ["run", "install", "--email", "a@b.c", "extra", "--flag", "--dry-run", "more"],
            ["run", "install", "--dry-run", "--json", "--yes", "--durable", "--lock-timeout", "2.5"],
            ["run", "tree", "--dir", "/t", "--count", "1000", "--codebase", "/c/lib", "--root", "/sandbox",
             "--config", "/etc/x.toml"],
            ["run", "site", "--ssl", "--no-cache", "--tier", "paid"],
            ["run", "site", "--lock-timeout", "0"],
            ["run", "install", "--plan", "paid", "--dry-run", "--save-plan", "/tmp/p.json"],
            ["run", "install", "--plan", "paid", "--plan-file", "/tmp/p.json", "--yes"],
            ["run", "site", "--state-dir", ""],
            ["run", "site", "--name", "value with spaces", "--other", ""],
            ["undo", "20261125-042824-a3f9c0"],
            ["undo", "20261125-042824-a3f9c0", "--dry-run", "--json", "--state-dir", "/s"],
            ["--state-dir", "/s", "undo", "20261125-042824-a3f9c0"],
        ]
        for arguments in accepted {
            let quick = QuickCommandLine.parse(RunbookCommand.normalize(arguments))
            XCTAssertNotNil(quick, "the quick reader should take \(arguments)")
            XCTAssertEqual(quick, argumentParser(arguments), "\(arguments)")
        }
    }

    func testUnusualInvocationsAreLeftToArgumentParser() {
        let declined: [[String]] = [
            ["run", "noop", "--color", "never"], ["run", "noop", "--quiet"], ["run", "noop", "--verbose"],
            ["undo", "20261125-042824-a3f9c0", "--force"], ["undo", "20261125-042824-a3f9c0", "--quiet"],
            [], ["run"], ["undo"], ["list"], ["history", "--json"], ["describe", "install"], ["check", "x.lua"],
            ["run", "--help"], ["run", "-h"], ["run", "install", "--help"], ["run", "install", "help"],
            ["run", "install", "--version"], ["--version"], ["help", "run"],
            ["run", "install", "--state-dir"], ["run", "install", "--state-dir=/s"],
            ["run", "install", "--lock-timeout", "soon"], ["run", "install", "--lock-timeout", "-1"],
            ["run", "install", "--root", "/a", "--root", "/b"], ["run", "install", "--dry-run", "--dry-run"],
            ["run", "install", "--hostname", "-bad-"], ["run", "install", "-x"], ["run", "install", "--"],
            ["run", "install", "--email=a@b.c"], ["run", "--email", "a@b.c", "install"], ["run", "install", "--generate-completion-script", "bash"],
            ["undo", "a", "b"], ["undo", "a", "--yes"], ["undo", "a", "--lock-timeout", "1"], ["undo", "a", "--name"],
        ]
        for arguments in declined {
            XCTAssertNil(QuickCommandLine.parse(RunbookCommand.normalize(arguments)), "\(arguments) is ArgumentParser's")
        }
    }
}
