// Secrets across hosts for the fleet's runbooks (issue 20): a paid install (the rsync
// daemon's password, the engine's database password, the store's generated password), the
// store put on the cloud, its shared code updated, a new certificate with its key; then all
// undone. Every process command line and environment on the machine (every lab host's
// processes are the machine's) is sampled all along; afterwards every file of every lab host
// is searched: each secret is only in the files whose job is to hold it.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing
@testable import RunbookEngine

@Suite("secrets across hosts: the fleet's runbooks", .serialized)
struct LabFleetSecretsTests {
    @Test("install, add-install to the cloud, update-shared-code, change-ssl and their undo: no secret in any command line, environment or stray file of any host")
    func noSecretLeavesItsPlace() throws {
        try SharedLab.use { lab in
            let secret = { (name: String) throws -> String in
                try #require(Files.read(lab.directory + "/secrets/" + name)?.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let rsyncRoot = try secret("rsync_root"), rsyncWWW = try secret("rsync_www"), mysql = try secret("mysql_lab")
            let certs = "/tmp/lab-fleet-certs-\(getpid())"
            try Files.mkdir(certs)
            defer { try? FileManager.default.removeItem(atPath: certs) }
            _ = try system(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", certs + "/shop.key", "-out", certs + "/shop.pem", "-days", "30",
                            "-subj", "/CN=shop.example.com", "-addext", "subjectAltName=DNS:shop.example.com"])
            // The key's body (its base64 line), as it would show if it leaked.
            let key = try #require(Files.read(certs + "/shop.key")?.split(separator: "\n").dropFirst().first.map(String.init))

            // Every 20 ms (a whole read of the table costs a core's worth at 5 ms on 2 cores;
            // every rsync, ssh and agent lives longer than that).
            let sampling = ProcessSampler(needles: [rsyncRoot, rsyncWWW, mysql, key], environments: true, interval: 20_000)
            sampling.start()
            var runs: [String] = []
            var outputs: [String] = []
            defer { for id in runs.reversed() { _ = try? lab.runbookOnD1(["undo", id], timeout: 300) } }
            for words in [["run", "install", "--email", "demo@example.com", "--hostname", "shop.example.com", "--plan", "paid"],
                          ["run", "cloud-manager", "--action", "add-install", "--id", "shopexam1", "--hostname", "tmp-cloud.make-a-store.com"],
                          ["run", "update-shared-code", "--group", "2"],
                          ["run", "change-ssl", "--site", "shop.example.com", "--ssl-pem", certs + "/shop.pem", "--ssl-key", certs + "/shop.key"]] {
                let run = try lab.runbookOnD1(words + ["--yes", "--json"], timeout: 300)
                #expect(run.exitCode == 0, "\(words[1]): \(run)")
                runs.append(try #require(DemoWorld.runID(run)))
                outputs += [run.stdout, run.stderr]
            }
            let config = Files.read(try lab.files("d1") + "/usr/home/shopexam1/heavymetal/config.php") ?? ""
            let store = try #require(config.split(separator: "\n").first { $0.contains("db_pass") }?.split(separator: "'").dropFirst(3).first.map(String.init))
            for id in runs.reversed() {
                let undo = try lab.runbookOnD1(["undo", id], timeout: 300)
                #expect(undo.exitCode == 0, "undo \(id): \(undo)")
                outputs += [undo.stdout, undo.stderr]
            }
            runs = []
            let hitsInProcesses = sampling.stop()

            #expect(sampling.rounds > 20, "the process table was sampled all along: \(sampling.rounds) rounds")
            #expect(hitsInProcesses.isEmpty, "command lines or environments holding a secret: \(hitsInProcesses)")
            for (name, value) in [("rsync root", rsyncRoot), ("rsync www", rsyncWWW), ("database", mysql), ("store", store), ("SSL key", key)] {
                #expect(!outputs.contains { $0.contains(value) }, "the \(name) password is in no output")
            }
            // The files whose job is to hold a secret; nothing else may.
            let hosts = ["d1", "d2", "cloud-db1", "master", "tmp-cloud", "client"]
            let rsyncFiles = Set(hosts.flatMap { ["hosts/\($0)/usr/local/etc/rsyncd_root.pwd", "hosts/\($0)/usr/local/etc/rsyncd_www.pwd",
                                                 "hosts/\($0)/usr/local/etc/rsyncd.secrets"] } + ["secrets/rsync_root", "secrets/rsync_www"])
            let databaseFiles = Set(hosts.map { "hosts/\($0)/etc/runbook/db.pw" } + ["secrets/mysql_lab"])
            // (snapshot/HOST/... is the lab's own copy of each host's folders, for its reset.)
            func own(_ hit: String) -> String { hit.hasPrefix("snapshot/") ? "hosts/" + hit.dropFirst("snapshot/".count) : hit }
            for hit in LabSecretsTests.files(under: lab.directory, holding: rsyncRoot) + LabSecretsTests.files(under: lab.directory, holding: rsyncWWW) {
                #expect(rsyncFiles.contains(own(hit)), "an rsync password in \(hit)")
            }
            for hit in LabSecretsTests.files(under: lab.directory, holding: mysql) {
                #expect(databaseFiles.contains(own(hit)), "the database password in \(hit)")
            }
            // The store and its certificate are gone with the undo, and with them every copy.
            #expect(LabSecretsTests.files(under: lab.directory, holding: store).isEmpty, "the store's password stays nowhere")
            #expect(LabSecretsTests.files(under: lab.directory, holding: key).isEmpty, "the SSL key stays nowhere")
        }
    }
}
