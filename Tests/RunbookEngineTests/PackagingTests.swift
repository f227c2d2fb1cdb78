// runbook installs like a tool (issue 21): scripts/install puts the program, its runbooks,
// stdlib, man page, completions, example config and state folder where each belongs, and
// the installed program finds its runbooks from any directory; scripts/package builds a
// .deb that dpkg installs into a fresh root, and a FreeBSD pkg manifest and plist that
// match the staged files. Packaged from the debug build (the same code as the release).

@testable import RunbookEngine
import RunbookConfig
import RunbookSupport
import RunbookTestKit
import Testing

@Suite(.serialized) struct PackagingTests {
    static let project = String(#filePath).components(separatedBy: "/Tests/")[0]

    /// Runs `argv` in `directory` (through sh: `cd DIR && exec ...`) without RUNBOOK_HOME.
    static func run(_ argv: [String], in directory: String, _ box: Sandbox) throws -> ChildResult {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", directory] + argv,
                                     environment: box.environment([:]), stdoutPath: box.base + "/out/p.stdout",
                                     stderrPath: box.base + "/out/p.stderr")
        return child.wait(timeout: 300)
    }

    @Test("scripts/install: every piece where it belongs, and the installed program works from any directory")
    func installPutsEverythingInPlace() throws {
        let box = try Sandbox()
        let stage = box.base + "/stage"
        let installed = try Self.run([Self.project + "/scripts/install", "--prefix", "/usr/local", "--destdir", stage,
                                      "--binary", try RunbookBinary.require()], in: Self.project, box)
        #expect(installed.exitCode == 0, "\(installed)")
        let prefix = stage + "/usr/local"
        for path in ["/bin/runbook", "/share/runbook/runbooks/install.lua", "/share/runbook/stdlib/nginx.lua", "/share/man/man1/runbook.1",
                     "/share/bash-completion/completions/runbook", "/share/zsh/site-functions/_runbook",
                     "/share/fish/vendor_completions.d/runbook.fish", "/etc/runbook/config.toml.example"] {
            #expect(Files.exists(prefix + path), "\(path) is installed")
        }
        #expect(Posix.lstatInfo(stage + "/var/lib/runbook")?.mode == 0o700, "the state folder is private")
        #expect(Files.read(prefix + "/share/man/man1/runbook.1")?.hasPrefix(".TH RUNBOOK 1") == true)
        // The example config is valid TOML (every line a comment) and names the real places.
        let example = try #require(Files.read(prefix + "/etc/runbook/config.toml.example"))
        _ = try TOMLReader.parse(example, file: "config.toml.example")
        #expect(example.contains("/var/lib/runbook") && example.contains("/usr/local/etc/runbook"))

        // From another directory, with no RUNBOOK_HOME: its own runbooks are found.
        try Files.mkdir(box.base + "/elsewhere")
        let list = try Self.run([prefix + "/bin/runbook", "--state-dir", box.state, "list"], in: box.base + "/elsewhere", box)
        #expect(list.exitCode == 0 && list.stdout.contains("install ") && list.stdout.contains("failover-db"), "\(list)")
        let describe = try Self.run([prefix + "/bin/runbook", "--state-dir", box.state, "describe", "install"], in: "/", box)
        #expect(describe.exitCode == 0 && describe.stdout.contains(prefix + "/share/runbook/runbooks/install.lua"), "\(describe)")

        // `runbook new` then the scaffold's own advice, in a fresh directory: ./runbooks is found.
        let fresh = box.base + "/work"
        try Files.mkdir(fresh)
        let made = try Self.run([prefix + "/bin/runbook", "--state-dir", box.state, "new", "hello"], in: fresh, box)
        #expect(made.exitCode == 0, "\(made)")
        let checked = try Self.run([prefix + "/bin/runbook", "--state-dir", box.state, "check", "hello"], in: fresh, box)
        #expect(checked.exitCode == 0 && checked.stdout.contains("hello"), "\(checked)")
        let listed = try Self.run([prefix + "/bin/runbook", "--state-dir", box.state, "list"], in: fresh, box)
        #expect(listed.stdout.contains("hello "), "\(listed)")
    }

    @Test("scripts/package deb: the libraries runbook loads are its dependencies; dpkg installs it into a fresh root")
    func debianPackageInstalls() throws {
        let box = try Sandbox()
        let built = try Self.run([Self.project + "/scripts/package", "deb", "--binary", try RunbookBinary.require(),
                                  "--output", box.base + "/packages"], in: Self.project, box)
        #expect(built.exitCode == 0, "\(built)")
        let package = try #require(built.stdoutLines.last { $0.hasSuffix(".deb") })
        let info = try ProcessRunner.run(["dpkg-deb", "--field", package, "Depends"])
        #expect(info.outputText.contains("liblua5.4-0") && info.outputText.contains("libmariadb3"), "Depends: \(info.outputText)")
        let contents = try ProcessRunner.run(["dpkg-deb", "--contents", package]).outputText
        #expect(contents.contains("./usr/bin/runbook") && contents.contains("./usr/share/runbook/runbooks/install.lua")
                && contents.contains("./etc/runbook/config.toml.example"), "\(contents)")
        #expect(!contents.contains(box.base), "no path of the build machine in the package")

        // A fresh root with an empty dpkg database.
        let root = box.base + "/root"
        for directory in ["/var/lib/dpkg/info", "/var/lib/dpkg/updates"] { try Files.mkdir(root + directory) }
        try Files.write(root + "/var/lib/dpkg/status", "")
        let installed = try ProcessRunner.run(["dpkg", "--root=" + root, "--force-depends", "--force-script-chrootless", "-i", package])
        #expect(installed.status == 0, "\(installed.outputText)\(installed.errorText)")
        let status = try #require(Files.read(root + "/var/lib/dpkg/status"))
        #expect(status.contains("Package: runbook") && status.contains("Status: install ok installed"), "\(status)")
        let list = try Self.run([root + "/usr/bin/runbook", "--state-dir", box.state, "list"], in: "/", box)
        #expect(list.exitCode == 0 && list.stdout.contains("install "), "\(list)")
    }

    @Test("scripts/package freebsd: a pkg manifest and a plist that lists exactly the staged files")
    func freebsdManifestMatchesTheStage() throws {
        let box = try Sandbox()
        let built = try Self.run([Self.project + "/scripts/package", "freebsd", "--binary", try RunbookBinary.require(),
                                  "--output", box.base + "/packages"], in: Self.project, box)
        #expect(built.exitCode == 0, "\(built)")
        let target = box.base + "/packages/freebsd"
        let manifest = try JSON.parse(try #require(Files.read(target + "/+MANIFEST")))
        #expect(manifest["name"]?.stringValue == "runbook" && manifest["prefix"]?.stringValue == "/usr/local")
        #expect(manifest["version"]?.stringValue == RunbookVersion.current)
        #expect(manifest["deps"]?["lua54"] != nil && manifest["deps"]?["mariadb-connector-c"] != nil, "\(manifest)")
        let plist = try #require(Files.read(target + "/plist")).split(separator: "\n").map(String.init)
        let files = plist.filter { !$0.hasPrefix("@") }
        let staged = Files.allFiles(target + "/stage/usr/local").map { String($0.dropFirst((target + "/stage/usr/local/").count)) }
        #expect(Set(files) == Set(staged), "the plist lists the staged files exactly")
        #expect(files.contains("bin/runbook") && files.contains("etc/runbook/config.toml.example") && files.contains("share/runbook/runbooks/install.lua"))
        #expect(plist.contains("@dir /var/db/runbook"), "FreeBSD's state folder")
        #expect(Posix.lstatInfo(target + "/stage/var/db/runbook")?.mode == 0o700)
    }
}
