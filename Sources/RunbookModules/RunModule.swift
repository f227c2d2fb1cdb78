// The run's own vocabulary: runbook{}, step, cleanup, finally, lock, progress, log, print
// and the read-only `context` table.

import LuaBridge
import RunbookRun

package enum RunModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("run", title: "The run module", doc: """
            The run's own vocabulary: the declaration, steps, hooks, locks, progress and logging,
            and the `context` and `settings` tables.
            """),
    ] }

    /// Set by the engine when the run starts (Engine.run), and from the config (makeState).
    package static var globals: [LuaGlobal] { [
        LuaGlobal("context", type: "runbook.Context", doc: "A table set when the run starts.",
            classes: [APIClass("runbook.Context", doc: "Facts about the run.",
                               "run_id: string  the run id, `20261125-045407-f50919`",
                               "dry_run: boolean  `true` in a dry-run",
                               "json: boolean  `true` under `--json` (a report for programs prints one JSON object)",
                               "platform: \"linux\"|\"freebsd\"  the platform the configuration names (or this host's)",
                               "root: string  the `--root` (`/` when not confined)",
                               "user: string  who runs it (`$SUDO_USER` when set)",
                               "host: string  this host's name",
                               "runbook: string  the runbook's name",
                               "hosts: table<string, boolean>  the `[hosts.NAME]` of the configuration, `hosts.d2 == true`",
                               "queue_id?: integer  the queue record a `runbook queue work` run works on")]),
        LuaGlobal("settings", type: "table<string, any>", doc: """
            The `[settings]` table from the configuration file, as Lua values (an empty table when
            there is none). Available at the top level too.

            ```lua
            local home_base = settings.home_base or "/usr/home"
            ```
            """),
    ] }

    /// Every function of the run's vocabulary, in the order docs/api.md shows them.
    package static var primitives: [LuaPrimitive] { [
        // runbook { summary=, doc=, runs_on=, params=, on_failure=, run=, locks= } -> the declaration
        LuaPrimitive("runbook", doc: runbookDoc, anywhere: runbook),
        // step(name, fn): a named group of effects, logged with its duration and status
        LuaPrimitive("step", doc: stepDoc, step),
        // cleanup(fn): runs if the run fails or is interrupted, last registered first
        LuaPrimitive("cleanup", doc: cleanupDoc, cleanup),
        // finally(fn): always runs at the end, last registered first
        LuaPrimitive("finally", doc: finallyDoc, finally),
        // lock(name): held for the rest of the run; waits up to --lock-timeout
        LuaPrimitive("lock", doc: lockDoc, lock),
        // progress(done, total): progress of a long loop inside the current step
        LuaPrimitive("progress", doc: progressDoc, progress),
        // log.debug/info/warn/error(...): to the console and the run's log
        LuaPrimitive("log.debug", doc: logDoc("debug"), log("debug")),
        LuaPrimitive("log.info", doc: logDoc("info"), log("info")),
        LuaPrimitive("log.warn", doc: logDoc("warn"), log("warn")),
        LuaPrimitive("log.error", doc: logDoc("error"), log("error")),
        // print(...): same as log.info
        LuaPrimitive("print", doc: printDoc, print),
    ] }

    // MARK: runbook

    static var runbookDoc: APIFunction {
        APIFunction(.pure, "declaration: runbook.Declaration  the runbook's fields",
            returns: ["runbook.Declaration  the same table"],
            doc: """
            Checks that `declaration` is a table and returns it. A runbook file ends with
            `return runbook { ... }`; the fields are described in
            [runbook-format.md](runbook-format.md). Usable at the top level.
            """,
            example: #"return runbook { summary = "Say hello", run = function(args) print("hello") end }"#,
            classes: [
                APIClass("runbook.Declaration", doc: "What a runbook file returns: `return runbook { ... }`.",
                         "summary: string  one line for `runbook list` and `runbook describe` (required)",
                         "doc?: string  a longer description for `runbook describe`",
                         "runs_on?: string  one line: where it must run and which servers it reaches (`describe`: Runs on:)",
                         "params?: table<string, runbook.Param>  the arguments, by name (`args.NAME` in `run`)",
                         "on_failure?: \"undo\"|\"keep\"  undo every applied effect when the run fails, or keep them (the default; then register a `cleanup`)",
                         "locks?: fun(args: table<string, any>): string[]  names of locks taken before `run` starts",
                         "run: fun(args: table<string, any>)  the work: steps and effects"),
                APIClass("runbook.Param", doc: "One argument of a runbook (`params = { NAME = { ... } }`).",
                         "type: \"string\"|\"int\"|\"number\"|\"bool\"|\"enum\"|\"path\"|\"hostname\"|\"email\"|\"ip\"  how the value is validated",
                         "required?: boolean  the run refuses to start without it",
                         "default?: any  used when the argument is not given",
                         "doc?: string  one line for `runbook describe`",
                         "min?: number  inclusive lower bound (int, number)",
                         "max?: number  inclusive upper bound (int, number)",
                         "values?: string[]  the allowed values of an enum",
                         "list?: boolean  one or more values; the runbook gets an array",
                         "secret?: boolean  never logged; refused on the command line"),
            ])
    }

    static func runbook(_ call: LuaCall) throws -> Int32 {
        guard call.argumentCount == 1, !call.isNil(1) else { throw call.argumentError(1, "table expected, got \(call.typeName(1))") }
        _ = try call.table(1)
        call.pushArgument(1)
        return 1
    }

    // MARK: step

    static var stepDoc: APIFunction {
        APIFunction(.run, "name: string  the step's name, in the words of the procedure",
            "fn: fun()  the step's work",
            doc: """
            Runs `fn()` as a step called `name`. Logs the start (`▶ name`), then the end with the
            number of effects and the duration (`✔ name  3 effects  0.01 s`) or the failure
            (`✘ name  failed after 0.00 s: ERROR`), to the console and the journal. Steps may nest;
            the inner step is logged as `outer / inner`. Effects made outside any step are logged
            under `(outside any step)`.

            At the end of each step of a real run the journal is fsynced. Service reloads queued
            during the step run when `fn` returns, before the step ends.

            If `fn` raises an error, the step is marked failed and the error continues to the caller
            unchanged. `step` returns nothing (values returned by `fn` are dropped). A step works
            the same inside a coroutine, but `fn` must not yield: `coroutine.yield` in it fails the
            step (`coroutine.yield inside a step's function is not supported`).
            """,
            example: """
            step("Create the home", function()
              fs.mkdir(home .. "/releases")
            end)
            """)
    }

    static func step(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        let body = try call.function(2)
        guard let state = session.lua else { return 0 }
        if let branch = session.branchContext.label {
            throw LuaHostFailure("step cannot be called inside a branch of parallel (the branch for \(branch)): call parallel inside the step")
        }
        let token = session.beginStep(name)
        do {
            _ = try state.call(body)
            try session.flushReloads()
        } catch let error as LuaError where error.message.hasSuffix(yieldRefusal) {
            // Lua's own words do not say which call was wrong.
            let refusal = LuaHostFailure("step '\(name)': coroutine.yield inside a step's function is not supported "
                                         + "(a step cannot be suspended; yield before or after it)")
            session.pendingReloads.removeAll()
            session.endStep(token, failure: refusal.description)
            throw refusal
        } catch let error as LuaError {
            session.pendingReloads.removeAll()
            session.endStep(token, failure: error.description)
            throw error
        } catch {
            session.pendingReloads.removeAll()
            session.endStep(token, failure: String(describing: error))
            throw error
        }
        session.endStep(token, failure: nil)
        return 0
    }

    // MARK: cleanup

    static var cleanupDoc: APIFunction {
        APIFunction(.run, "fn: fun(error: string)  the hook",
            doc: """
            Registers `fn(error)` to run when the run fails or is interrupted: after the automatic
            undo (if `on_failure = "undo"`), before the `finally` hooks. `error` is the run's error
            message as the console shows it (secrets masked). Hooks run last registered first.
            A hook that raises an error is logged (`cleanup hook failed: ...`) and the others still
            run. Register it before the work it cleans up after. Effects a hook makes are journaled
            like any other (the run is then `failed`, not `undone`, and `runbook undo` reverses them).
            """,
            example: #"cleanup(function(problem) log.warn("install of " .. args.hostname .. " failed: " .. problem) end)"#)
    }

    static func cleanup(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        session.cleanupHooks.append(try call.function(1))
        return 0
    }

    // MARK: finally

    static var finallyDoc: APIFunction {
        APIFunction(.run, "fn: fun(error: string|nil)  the hook",
            doc: """
            Registers `fn(error)` to run at the end of every run, successful or not, after the
            `cleanup` hooks; `error` is the run's error message, or `nil` when it succeeded. Last
            registered first; errors are logged like `cleanup`'s.
            """,
            example: #"finally(function() log.info("run " .. context.run_id .. " ends") end)"#)
    }

    static func finally(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        session.finallyHooks.append(try call.function(1))
        return 0
    }

    // MARK: lock

    static var lockDoc: APIFunction {
        APIFunction(.run, "name: string  1 to 200 bytes",
            doc: """
            Takes the named lock now and holds it until the run ends. If another run holds it, waits
            up to `--lock-timeout` seconds (default 0), then raises
            `lock 'NAME' is held by run RUN_ID (pid PID, USER@HOST, since TIME)`; the run then ends
            with exit status 3, even if the runbook catches the error (`pcall`, `xpcall`, a
            coroutine): it is raised again at once and the failure path runs (see
            [runbook-format.md](runbook-format.md#errors-a-runbook-cannot-catch)). Taking a lock
            the run already holds does nothing. A name must be 1 to 200 bytes: any other raises
            `lock names must be 1 to 200 bytes long, got N` and ends the run the same way (exit
            status 1). With `lock_database` configured the lock is also a MySQL `GET_LOCK` (see
            [cli.md](cli.md#locks)). Dry-runs take locks too. To take locks before `run` starts, use
            the declaration's `locks` field instead.
            """,
            example: #"lock("shared-code:" .. group.id)"#)
    }

    static func lock(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try call.string(1)
        do {
            try session.locks?.acquire(name)
        } catch {
            // Work done without the lock is what the lock is there to prevent.
            session.stopRun(because: error)
            throw error
        }
        return 0
    }

    // MARK: progress

    static var progressDoc: APIFunction {
        APIFunction(.run, "done: integer  items done so far", "total: integer  items in all",
            doc: """
            Reports progress of a loop in the current step. On a terminal (not `TERM=dumb`) it draws a
            bar with `done/total`, the rate and the time left; in the journal and with `--json` it
            writes a `progress` event with them (at most one every half second, plus the one where
            `done == total`). Both numbers must be 0 or more.
            """,
            example: """
            for i, site in ipairs(sites) do
              update(site)
              progress(i, #sites)
            end
            """)
    }

    static func progress(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let done = try call.integer(1), total = try call.integer(2)
        guard done >= 0 else { throw call.argumentError(1, "done must be 0 or more, got \(done)") }
        guard total >= 0 else { throw call.argumentError(2, "total must be 0 or more, got \(total)") }
        session.output.progress(done, total, step: session.currentStep)
        return 0
    }

    // MARK: log.debug, log.info, log.warn, log.error

    static func logDoc(_ level: String) -> APIFunction {
        APIFunction(.run, "...: any  the message's parts, joined with spaces",
            doc: """
            Writes a message to the console\(level == "info" ? "" : " with the prefix `\(level == "warn" ? "warning" : level): `") \
            and a `log` event to the journal. Arguments are converted to text much like
            `tostring` (`nil`, `true`, numbers; tables and functions print as `table` and
            `function`) and joined with spaces. Known secret values are replaced with `***`.
            The console shows `log.debug` only with `-v`; the journal and `--json` have every level.\(level == "error" ? " It only logs; it does not fail the run (use `error(...)` for that)." : "")
            """,
            example: #"log.\#(level)("site", args.hostname, "has no SSL certificate")"#)
    }

    static func log(_ level: String) -> (LuaCall, RunSession) throws -> Int32 {
        { call, session in
            session.output.log(level, message(call))
            return 0
        }
    }

    // MARK: print

    static var printDoc: APIFunction {
        APIFunction(.run, "...: any  the message's parts, joined with spaces",
            doc: "Same as `log.info(...)`.")
    }

    static func print(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        session.output.log("info", message(call))
        return 0
    }

    /// Lua's error for a yield inside a function a host function called (a step's).
    package static let yieldRefusal = "attempt to yield across a C-call boundary"

    /// Arguments joined by spaces; scalars shown as Lua's tostring would.
    package static func message(_ call: LuaCall) -> String {
        var parts: [String] = []
        if call.argumentCount > 0 {
            for position in 1...call.argumentCount {
                // A table or function is shown by its type, without converting it: a table
                // nested deeper than the conversion allows printed as "nil".
                let type = call.typeName(position)
                if type == "table" || type == "function" {
                    parts.append(type)
                    continue
                }
                switch (try? call.value(position)) ?? .nil {
                case .nil: parts.append("nil")
                case .boolean(let b): parts.append(b ? "true" : "false")
                case .integer(let i): parts.append(String(i))
                case .number(let d): parts.append(String(d))
                case .string(let bytes): parts.append(String(decoding: bytes, as: UTF8.self))
                case .table: parts.append("table")
                case .function: parts.append("function")
                case .null: parts.append("null")
                }
            }
        }
        return parts.joined(separator: " ")
    }
}
