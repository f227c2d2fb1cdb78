// custom-rewrites on a demo world: rules stored PHP-serialized in installs.custom_rewrites
// and served by nginx; a rule nginx refuses changes nothing; --clear; undo.

@testable import RunbookEngine
import Foundation
import RunbookTestKit
import Testing

@Suite(.serialized) struct CustomRewritesTests {
    @Test func rulesAreStoredServedRefusedWhenBrokenAndCleared() throws {
        let world = try DemoWorld.withStore(["--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"])
        let root = world.root
        let served = root + "/usr/local/etc/nginx/installs.conf"
        try Files.write(root + "/rules", "# old catalog links\nrewrite ^/catalog/(.*)$ /shop/$1 permanent;\n\nrewrite ^/old$ /new redirect\n")
        try Files.write(root + "/bad-rules", "rewrite ^/x( /y;\n")
        let db = try world.admin()
        defer { db.close() }
        func column() throws -> String? { try db.query("SELECT custom_rewrites FROM internal.installs WHERE id = 1").first?[0].string }

        try expectUndoRestores(world) {
            let set = try world.planAndRun(["custom-rewrites", "--install", "shop.example.com", "--file", "/rules"])
            #expect(set.exitCode == 0, "\(set)")
            let runID = try #require(DemoWorld.runID(set))
            #expect(try column() == #"a:2:{i:0;s:43:"rewrite ^/catalog/(.*)$ /shop/$1 permanent;";i:1;s:28:"rewrite ^/old$ /new redirect";}"#)
            let config = Files.read(served) ?? ""
            #expect(config.contains("    # installs.custom_rewrites\n    rewrite ^/catalog/(.*)$ /shop/$1 permanent;\n    rewrite ^/old$ /new redirect;\n"),
                    "\(config)")
            #expect((Files.read(world.directory + "/nginx/error.log") ?? "").contains("[emerg]") == false)

            let shown = try world.runbook(["run", "custom-rewrites", "--install", "shopexam1"])
            #expect(shown.stdout.contains("install 1 (shopexam1): 2 rules\n    rewrite ^/catalog/(.*)$ /shop/$1 permanent;"), "\(shown)")

            // nginx refuses the rule: the run fails with nginx's message and changes nothing.
            let good = try world.state()
            let broken = try world.runbook(["run", "custom-rewrites", "--install", "1", "--file", "/bad-rules"])
            #expect(broken.exitCode == 1, "\(broken)")
            #expect(broken.stderr.contains(#"pcre2_compile() failed: missing closing parenthesis in "^/x(""#), "\(broken)")
            let afterBroken = try world.state()
            #expect(good.differences(from: afterBroken).isEmpty, "\(good.differences(from: afterBroken).joined(separator: "\n"))")

            // --clear, then undo of the first run's rules.
            let cleared = try world.runbook(["run", "custom-rewrites", "--install", "1", "--clear", "--json"])
            #expect(cleared.exitCode == 0, "\(cleared)")
            #expect(try column() == nil)
            #expect(!(Files.read(served) ?? "").contains("custom_rewrites"))
            let undoClear = try world.runbook(["undo", try #require(DemoWorld.runID(cleared))])
            #expect(undoClear.exitCode == 0, "\(undoClear)")
            #expect(try column()?.hasPrefix("a:2:") == true)
            return runID
        }

        // Bad input: one line, nothing touched.
        for (arguments, problem) in [(["--install", "nosuch"], "no install nosuch"),
                                     (["--install", "1", "--file", "/rules", "--clear"], "give --file or --clear, not both")] {
            let refused = try world.runbook(["run", "custom-rewrites"] + arguments)
            #expect(refused.exitCode == 1 && refused.stderr.contains(problem), "\(refused)")
        }
    }
}
