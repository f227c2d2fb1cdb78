// reset-permissions on a demo world: the FTP tree and the folders mounted into it get the
// FTP owner, a missing bind mount of startup_mounts is mounted again, undo puts it all back.

@testable import RunbookEngine
import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct ResetPermissionsTests {
    @Test func ownersAndMountsAreResetAndUndone() throws {
        let world = try DemoWorld.withStore(["--email", "a@example.com", "--hostname", "shop.example.com", "--plan", "free"])
        let home = world.root + "/usr/home/shopexam1"
        let ftp = home + "/heavymetal/tmp/ftp"
        // The customer's complaint: a lost mount (the mount cron is not running here).
        _ = try system(["umount", ftp + "/images"])

        try expectUndoRestores(world) {
            let run = try world.planAndRun(["reset-permissions", "--user", "www_shopexam1", "--owner", "nobody:nogroup"])
            #expect(run.exitCode == 0, "\(run)")
            let nobody = try #require(getpwnam("nobody")?.pointee.pw_uid)
            for path in [ftp, ftp + "/theme", home + "/heavymetal/theme", home + "/heavymetal/theme/default/layout.tpl",
                         home + "/html/mas_assets/theme/default/style.css", home + "/html/images"] {
                #expect(Posix.lstatInfo(path)?.uid == nobody, "\(path) belongs to the FTP owner")
            }
            #expect(Posix.lstatInfo(home + "/heavymetal/config.php")?.uid == 0, "nothing outside the FTP tree changes owner")
            #expect(DemoWorld.mounts(under: ftp).count == 3, "the lost mount is back: \(DemoWorld.mounts(under: ftp))")
            #expect(run.stdout.contains("1 of 3 bind mounts were missing"), "\(run)")

            let runToUndo = try #require(DemoWorld.runID(run))

            return runToUndo
        }

        // A disabled FTP user and an unknown one: one line, nothing touched.
        let db = try world.admin()
        defer { db.close() }
        try expectUnchanged(world, "refused runs") {
            _ = try db.execute("UPDATE internal.installs SET ftp_user = 'www_shopexam1_del'")
            let disabled = try world.runbook(["run", "reset-permissions", "--user", "www_shopexam1"])
            #expect(disabled.exitCode == 1 && disabled.stderr.contains("FTP user www_shopexam1 is disabled"), "\(disabled)")
            let unknown = try world.runbook(["run", "reset-permissions", "--user", "www_nobody9"])
            #expect(unknown.exitCode == 1 && unknown.stderr.contains("no install www_nobody9"), "\(unknown)")
            _ = try db.execute("UPDATE internal.installs SET ftp_user = 'www_shopexam1'")
        }
    }

    /// A customer names files in their FTP tree with terminal escape sequences: the human
    /// output of reset-permissions and `runbook log` show the names escaped, not acted on.
    @Test func hostileFileNamesAreShownEscaped() throws {
        let world = try DemoWorld.withStore(["--email", "a@example.com", "--hostname", "shop.example.com", "--plan", "free"])
        let ftp = world.root + "/usr/home/shopexam1/heavymetal/tmp/ftp"
        let names = [("\u{1B}]0;pwned\u{07}", "\\x1b]0;pwned\\x07"), ("\u{1B}[2J", "\\x1b[2J"), ("x\u{9B}31m", "x\\x9b31m")]
        for (raw, _) in names { try Files.write(ftp + "/" + raw, "customer upload") }

        let run = try world.runbook(["run", "reset-permissions", "--user", "www_shopexam1", "--owner", "nobody:nogroup", "--yes"])
        #expect(run.exitCode == 0, "\(run)")
        let id = try #require(run.runID)
        let log = try world.runbook(["log", id])
        #expect(log.exitCode == 0, "\(log)")
        for (what, result) in [("run", run), ("log", log)] {
            let printed = result.stdout + result.stderr
            let raw = printed.unicodeScalars.first { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7f...0x9f).contains($0.value) }
            #expect(raw == nil, "\(what) printed U+\(String(raw?.value ?? 0, radix: 16)) raw\n\(result)")
            for (_, shown) in names {
                // Paths are shown under the world's root, as the runbook names them.
                #expect(printed.contains("chown /usr/home/shopexam1/heavymetal/tmp/ftp/" + shown), "\(what) names \(shown)\n\(result)")
            }
        }
    }
}
