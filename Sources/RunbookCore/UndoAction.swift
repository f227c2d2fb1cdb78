// How an effect is put back: one type per kind of undo step. The journal stores each step
// as {"op": NAME, "args": {...}} in the effect's intent, so a later process can undo the run
// after a crash; each step checks the world first, so an effect whose intent was journaled
// but whose outcome never was is undone only if it happened.

import RunbookSupport

/// One kind of undo step: its name in the journal, how it is read back from its args, how
/// it runs and how plans and logs describe it. A new kind is one type that conforms, listed
/// in `UndoActions.all`. Its journal args (`init(args:)`, `args`) go in an extension, so that
/// Swift still writes the memberwise init the effects build it with.
public protocol UndoAction: Sendable, CustomStringConvertible {
    /// Its name in the journal ("fs.unlink"). Never renamed: journals of older runs hold it.
    static var op: String { get }
    /// Reads it back from its journaled args; throws an UndoError naming a missing field.
    init(args: JSON) throws
    /// Its args as the journal stores them, in this order.
    var args: [(String, JSON)] { get }
    /// Puts the world back (or finds there is nothing to do).
    func run(in world: World) throws
    /// The real paths it changes (its "path", "from" and "to"): the directories the walk
    /// keeps open at or below them are opened again after it runs (RootedWalk.swift).
    var changedPaths: [String] { get }
    /// Runs once, after every other step of the undo: a reload must see the restored files.
    var runsLast: Bool { get }
    /// The journal name of this step (a step that could not be read keeps the name it had).
    var op: String { get }
}

extension UndoAction {
    public var changedPaths: [String] { [] }
    public var runsLast: Bool { false }
    public var op: String { Self.op }

    public var json: JSON { .object([("op", .string(op)), ("args", .object(args))]) }

    /// Appends `json`'s text without making it first (every effect's intent has one).
    package func write(into out: ByteBuffer) {
        out.append(literal: #"{"op":"#)
        JSON.writeString(op, into: out)
        JSON.writeField("args", .object(args), into: out)
        out.append(UInt8(ascii: "}"))
    }

    /// The same step: the same name and args (a reload owed by several effects runs once).
    package func isSame(as other: any UndoAction) -> Bool { op == other.op && json == other.json }
}

extension JSON {
    /// The string field `key` of an undo step's args, or the error that names what is missing.
    package func undoString(_ key: String, of op: String) throws -> String {
        guard let value = self[key]?.stringValue else { throw UndoError("undo step \(op) lacks '\(key)'") }
        return value
    }
}

public struct UndoError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A journaled step this binary cannot read: an unknown name (written by a newer binary) or
/// args that lack a field. It fails when it runs, with the reason; the rest of the undo goes on.
package struct UnreadableUndo: UndoAction {
    package static let op = "(unreadable)"
    package let op: String
    package let args: [(String, JSON)]
    package let problem: UndoError

    package init(args: JSON) throws { throw UndoError("an unreadable undo step is never made from args") }

    package init(op: String, args: JSON, problem: UndoError) {
        self.op = op
        self.args = args.objectValue ?? []
        self.problem = problem
    }

    package func run(in world: World) throws { throw problem }

    package var changedPaths: [String] {
        let args = JSON.object(args)
        return ["path", "from", "to"].compactMap { args[$0]?.stringValue }
    }

    package var description: String {
        let args = JSON.object(args)
        return op + " " + (args["path"]?.stringValue ?? args["table"]?.stringValue ?? "")
    }
}
