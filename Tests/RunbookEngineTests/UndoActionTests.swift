// Undo actions are types: each reads back from the journal as it was written and is
// described in plans and logs as before; the journal's writer and reader agree on the
// records of effects and their undo.

@testable import RunbookEngine
@testable import RunbookCore
import RunbookJournal
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("Undo actions and the journal's records")
struct UndoActionTests {
    /// One step of every kind, with how `undo --dry-run` and the log describe it (the words
    /// of the binary before undo actions were types).
    static let samples: [(action: any UndoAction, description: String)] = [
        (RemoveDirectoryUndo(path: "/srv/a"), "remove directory /srv/a"),
        (RemoveEntryUndo(path: "/srv/f", size: 12), "remove /srv/f"),
        (RemoveEntryUndo(path: "/srv/l", target: "/srv/t"), "remove /srv/l"),
        (RestoreBackupUndo(path: "/srv/f", backup: "3"), "restore /srv/f from backup"),
        (RenameBackUndo(from: "/srv/new", to: "/srv/old"), "rename /srv/new back to /srv/old"),
        (ChangeModeBackUndo(path: "/srv/f", mode: 0o644), "chmod /srv/f back"),
        (ChangeOwnerBackUndo(path: "/srv/f", uid: 1001, gid: 1001), "chown /srv/f back"),
        (RelinkBackUndo(links: [("/h/a", "/r2/a", "/r1/a"), ("/h/b", "/r2/b", "/r1/b")]), "point 2 symlinks back at their old targets"),
        (ExecuteSQLUndo(connection: "main", sql: "UPDATE t SET n = ?", params: [.int(1), .null]), "run UPDATE t SET n = ?"),
        (DeleteInsertedRowUndo(connection: "main", table: "sites", row: [("hostname", .string("x"))]), "delete the inserted row from sites"),
        (RewindAutoIncrementUndo(connection: "main", table: "sites", id: 7),
         "set the AUTO_INCREMENT of sites back to 7 if no id was taken since"),
        (ReinsertDeletedRowUndo(connection: "main", table: "sites", row: [("id", .int(3)), ("hostname", .string("y"))]),
         "insert the deleted row back into sites"),
        (DropDatabaseUndo(connection: "admin", database: "shop_1"), "drop database shop_1 (created by the run)"),
        (DropUserUndo(connection: "admin", user: "shop", host: "localhost"), "drop user 'shop'@'localhost' (created by the run)"),
        (RunCommandUndo(argv: ["rm", "-f", "/run/maint"]), "run rm -f /run/maint"),
        (BindMountUndo(source: "/srv/shared", target: "/home/u/shared"), "mount /srv/shared on /home/u/shared again"),
        (UnmountUndo(target: "/home/u/shared", source: "/srv/shared"), "unmount /home/u/shared"),
        (AddAddressUndo(interface: "eth0", address: "10.0.0.9"), "add 10.0.0.9 to eth0 again"),
        (RemoveAddressUndo(interface: "eth0", address: "10.0.0.9"), "remove 10.0.0.9 from eth0"),
        (ReloadServiceUndo(service: "nginx", argv: ["nginx", "-s", "reload"], test: ["nginx", "-t"]),
         "reload nginx with the restored configuration"),
        (RsyncRestoreUndo(destination: "/usr/home/shop", backupDirectory: "/var/lib/runbook/agent/20261204-120000-abcdef/rsync/3",
                          createdFiles: ["lib/new.php", "home.php"], createdDirectories: ["lib"]),
         "put back /usr/home/shop as before the sync (remove 3 new entries, restore the replaced ones)"),
        (ReloadServiceUndo(service: "php-fpm", argv: ["service", "php-fpm", "reload"], test: nil),
         "reload php-fpm with the restored configuration"),
        (RestoreCrontabUndo(user: "shop", content: "", expected: "* * * * * true\n"), "put the crontab of shop back"),
        (RemoveCheckoutUndo(path: "/srv/code"), "remove the checkout /srv/code"),
        (UpdateCheckoutBackUndo(path: "/srv/code", kind: "svn", revision: "41"), "update /srv/code back to revision 41"),
        (UndoOnHost(host: "d2", run: "20261204-120000-abcdef", step: RemoveCheckoutUndo(path: "/srv/code").json),
         "on d2: remove the checkout /srv/code"),
    ]

    @Test("every kind of undo step reads back from the journal as it was written, and is described as before")
    func everyKindRoundTrips() throws {
        #expect(Set(Self.samples.map(\.action.op)) == Set(UndoActions.all.map { $0.op }), "a sample for every registered kind")
        #expect(Set(UndoActions.all.map { $0.op }).count == UndoActions.all.count, "no two kinds share a name")
        for (action, description) in Self.samples {
            // Through the journal's text, as `runbook undo` reads it.
            let bytes = ByteBuffer()
            action.write(into: bytes)
            #expect(bytes.string == action.json.serialized)
            let read = try #require(UndoActions.decode(try JSON.parse(bytes.string)), "\(action.op)")
            #expect(type(of: read) == type(of: action), "\(action.op)")
            #expect(read.json == action.json, "\(action.op)")
            #expect(read.description == description)
            #expect(action.description == description)
        }
        let reload = ReloadServiceUndo(service: "nginx", argv: ["nginx", "-s", "reload"], test: nil)
        #expect(reload.runsLast && !RemoveEntryUndo(path: "/tmp/x").runsLast,
                "only a reload waits for the rest of the undo")
        #expect(UndoOnHost(host: "d2", run: "20261204-000000-abcdef", step: reload.json).runsLast,
                "and a reload on another host too")
    }

    @Test("the args of older journals: fields left out read as the binary before read them")
    func olderArgs() throws {
        // A journal line of the binary before this change (journal-v1 holds more).
        let line = #"{"op":"fs.unlink","args":{"path":"/tmp/x/current","target":"/tmp/x/release"}}"#
        let read = try #require(UndoActions.decode(try JSON.parse(line)) as? RemoveEntryUndo)
        #expect(read.path == "/tmp/x/current" && read.target == "/tmp/x/release" && read.size == nil)
        #expect(read.json.serialized == line, "written back byte for byte")
        let reload = try #require(UndoActions.decode(try JSON.parse(
            #"{"op":"service.reload","args":{"service":"nginx","argv":["nginx","-s","reload"],"test":null}}"#)) as? ReloadServiceUndo)
        #expect(reload.test == nil)
    }

    @Test("a step this binary cannot read fails when it runs, naming why; a record that is no step is left out")
    func unreadableSteps() throws {
        let unknown = try #require(UndoActions.decode(try JSON.parse(#"{"op":"fs.teleport","args":{"path":"/a"}}"#)) as? UnreadableUndo)
        #expect(unknown.problem.description == "unknown undo operation 'fs.teleport'")
        #expect(unknown.description == "fs.teleport /a")
        let lacking = try #require(UndoActions.decode(try JSON.parse(#"{"op":"fs.rename","args":{"from":"/a"}}"#)) as? UnreadableUndo)
        #expect(lacking.problem.description == "undo step fs.rename lacks 'to'")
        #expect(lacking.changedPaths == ["/a"], "what the walk keeps open under it is still forgotten")
        let noMode = try #require(UndoActions.decode(try JSON.parse(#"{"op":"fs.chmod","args":{"path":"/a"}}"#)) as? UnreadableUndo)
        #expect(noMode.problem.description == "fs.chmod undo lacks a mode")
        #expect(UndoActions.decode(try JSON.parse(#"{"args":{}}"#)) == nil)
    }

    @Test("the writer's intent, applied and undone records are what undo reads back; a secret withholds the undo")
    func writerAndReaderAgree() throws {
        let directory = try Sandbox()
        let path = directory.base + "/journal.jsonl"
        let redactor = Redactor()
        redactor.add("s3cret-value")
        let journal = try JournalWriter(path: path, durable: false, redactor: redactor)
        func record(_ seq: Int, _ summary: String) -> EffectRecord {
            EffectRecord(seq: seq, step: "one", kind: "fs.write", sign: .create, summary: summary, identity: .object([]), result: nil)
        }
        try journal.intent(record(1, "write a"), undo: [RemoveEntryUndo(path: "/a", size: 3)], sync: false)
        journal.applied(seq: 1, result: nil, undo: nil, holdBack: true)
        try journal.intent(record(2, "insert b"), undo: [DeleteInsertedRowUndo(connection: "c", table: "t", row: [])], sync: false)
        journal.applied(seq: 2, result: .int(9), undo: [ExecuteSQLUndo(connection: "c", sql: "DELETE", params: [.int(9)])], holdBack: false)
        try journal.intent(record(3, "write c"), undo: [RestoreBackupUndo(path: "/c", backup: "1")], sync: false)
        journal.undone(seq: 3)
        try journal.intent(record(4, "set password"), undo: [ExecuteSQLUndo(connection: "c", sql: "SET x = 's3cret-value'", params: [])], sync: false)
        try journal.intent(record(5, "started, never finished"), undo: [RemoveDirectoryUndo(path: "/e")], sync: false)
        journal.sync()

        let entries = try UndoProcess.entries(fromJournalAt: path)
        #expect(entries.map(\.seq) == [1, 2, 4, 5], "the undone effect is left out")
        #expect(entries[0].undo?.map(\.description) == ["remove /a"] && !entries[0].uncertain)
        #expect(entries[1].undo?.map(\.description) == ["run DELETE"], "the undo applying taught replaces the intent's")
        #expect(entries[2].undo == nil && entries[2].noUndoReason == JournalWriter.undoWithheld, "a secret is never written down")
        #expect(entries[3].uncertain, "an intent without an outcome may or may not have happened")
        #expect(!(try Posix.readText(path)).contains("s3cret-value"))
        let kinds = try JournalReader.records(path).compactMap(\.recordKind)
        #expect(kinds == [.intent, .applied, .intent, .applied, .intent, .undone, .intent, .intent])
        #expect(try JournalReader.records(path, types: [.undone]).count == 1)
    }
}
