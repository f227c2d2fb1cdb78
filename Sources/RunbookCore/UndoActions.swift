// Every kind of undo step the engine knows, and how a journaled step is read back and run.

import RunbookSupport

public enum UndoActions {
    /// Every kind of undo step, by type: a primitive with a new kind of undo adds its type here.
    package static let all: [any UndoAction.Type] = [
        RemoveDirectoryUndo.self,
        RemoveEntryUndo.self,
        RestoreBackupUndo.self,
        RenameBackUndo.self,
        ChangeModeBackUndo.self,
        ChangeOwnerBackUndo.self,
        RelinkBackUndo.self,
        ExecuteSQLUndo.self,
        DeleteInsertedRowUndo.self,
        RewindAutoIncrementUndo.self,
        ReinsertDeletedRowUndo.self,
        DropDatabaseUndo.self,
        DropUserUndo.self,
        RunCommandUndo.self,
        BindMountUndo.self,
        UnmountUndo.self,
        AddAddressUndo.self,
        RemoveAddressUndo.self,
        ReloadServiceUndo.self,
        RestoreCrontabUndo.self,
        RemoveCheckoutUndo.self,
        UpdateCheckoutBackUndo.self,
        UndoOnHost.self,
        RsyncRestoreUndo.self,
    ]

    private static let byName: [String: any UndoAction.Type] = {
        var byName: [String: any UndoAction.Type] = [:]
        for type in all {
            precondition(byName[type.op] == nil, "two undo actions are named \(type.op)")
            byName[type.op] = type
        }
        return byName
    }()

    /// The step a journal record holds ({"op": ..., "args": ...}); nil when it is not one.
    /// A step this binary cannot read becomes an UnreadableUndo, which fails when it runs.
    public static func decode(_ json: JSON) -> (any UndoAction)? {
        guard let op = json["op"]?.stringValue, let args = json["args"] else { return nil }
        guard let type = byName[op] else {
            return UnreadableUndo(op: op, args: args, problem: UndoError("unknown undo operation '\(op)'"))
        }
        do {
            return try type.init(args: args)
        } catch let error as UndoError {
            return UnreadableUndo(op: op, args: args, problem: error)
        } catch {
            return UnreadableUndo(op: op, args: args, problem: UndoError(String(describing: error)))
        }
    }

    /// Runs one step. A step may remove, rename or restore what the walk keeps open, or change
    /// who may write in it (RootedWalk.swift): what is at or below its paths is opened again.
    public static func run(_ action: any UndoAction, in world: World) throws {
        defer {
            for path in action.changedPaths { world.paths.forgetOpenedDirectories(under: path) }
        }
        try action.run(in: world)
    }
}
