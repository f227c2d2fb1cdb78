// The `cmd` module: running a program by argv — the explicit escape hatch.

import LuaBridge

enum CmdModule {
    static func register(into state: LuaState, slot: SessionSlot) {
        // cmd.run(argv [, {timeout=seconds, undo=argv, read_only=false}]) -> {status=, stdout=, stderr=}
        // Not run in a dry-run unless read_only; shown with `!` unless it declares its undo.
        state.register("run", in: "cmd") { call in
            let session = try slot.require(call.name)
            let argv = try argvList(try call.table(1), call: call, position: 1)
            let options = try call.optionalTable(2) ?? LuaTable()
            let timeout = options["timeout"].numberValue
            let undo = try options["undo"].tableValue.map { try argvList($0, call: call, position: 2) }
            if options["read_only"].boolValue == true {
                let result = try ProcessRunner.run(argv, timeout: timeout)
                try call.push(["status": .integer(Int64(result.status)), "stdout": .string(result.outputText),
                               "stderr": .string(result.errorText)])
                return 1
            }
            let outcome = try session.perform(RunCommandEffect(argv: argv, undoArgv: undo, timeout: timeout))
            try call.push(DbModule.luaValue(outcome.result ?? .null))
            return 1
        }
    }

    /// An argv from a Lua array of strings: never a shell string.
    static func argvList(_ table: LuaTable, call: LuaCall, position: Int32) throws -> [String] {
        guard !table.array.isEmpty, table.fields.isEmpty else {
            throw call.argumentError(position, "argv must be an array of strings like {\"nginx\", \"-t\"}, never a shell string")
        }
        return try table.array.map { value in
            guard let word = value.stringValue else { throw call.argumentError(position, "argv holds a \(value.typeName)") }
            guard !word.utf8.contains(0) else { throw call.argumentError(position, "argv contains a NUL byte") }
            return word
        }
    }
}
