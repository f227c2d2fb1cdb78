// The `service` module: reloads gated by the service's config test (queued, once per
// service at the end of the step), restarts and status.

import LuaBridge
import RunbookCore
import RunbookRun
import RunbookSupport

package enum ServiceModule: LuaModule {
    package static var sections: [APIModule] { [APIModule("service", title: "service: reloads and restarts", doc: "")] }

    package static var primitives: [LuaPrimitive] { [
        // service.reload(name [, {config=path}]): queued; at the end of the step the config
        // test runs (nginx -t -c config); if it fails the files this run wrote under the
        // config's folder are restored, nothing is reloaded and the step fails.
        LuaPrimitive("service.reload", doc: reloadDoc, reload),
        // service.restart(name): cannot be undone (shown with `!`)
        LuaPrimitive("service.restart", doc: restartDoc, restart),
        // service.status(name) -> {running=bool, output=text} (a read)
        LuaPrimitive("service.status", doc: statusDoc, status),
    ] }

    // MARK: service.reload

    static var reloadDoc: APIFunction {
        APIFunction(.effect, "name: string  the service, like `nginx`", "options?: service.ReloadOptions",
            doc: """
            Queued: each service is reloaded once, at the end of the current step (or of the run when
            called outside a step), however often it was asked for. Before the reload its config test
            runs (`nginx -t -c CONFIG`). If the test fails, nothing is reloaded — the running service
            keeps its old configuration — the files this run changed under the config file's folder
            are restored from the journal, and the step fails with the test's output:

            ```
            ✘ Write the site  failed after 0.01 s: nginx config test failed, so nginx was not reloaded
              and keeps its running configuration; the 1 file change this run made under its config
              folder was restored: ... unknown directive "garbage" in /tmp/ng/conf.d/site.conf:1
            ```

            In a dry-run the reload is planned (`~ reload nginx`) but the test does not run: the
            planned files are not on disk yet. Undo of a reload reloads again — after every other undo
            step has restored the files, and only if the config test passes.
            """,
            classes: [APIClass("service.ReloadOptions", "config?: string  the config file to test and load")])
    }

    static func reload(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try serviceName(call, 1)
        let config = try call.optionalTable(2)?["config"].stringValue
        let realConfig = try config.map { try session.paths.real($0) }
        session.queueReload(PendingReload(service: name, config: realConfig, shownConfig: config, host: session.currentHost))
        return 0
    }

    // MARK: service.restart

    static var restartDoc: APIFunction {
        APIFunction(.effect, "name: string  the service",
            doc: "Restarts the service; cannot be undone (`!`).")
    }

    static func restart(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let name = try serviceName(call, 1)
        try session.perform(RunCommandEffect(argv: session.platform.restartService(name), undoArgv: nil, timeout: 120))
        return 0
    }

    // MARK: service.status

    static var statusDoc: APIFunction {
        APIFunction(.read, "name: string  the service",
            returns: ["service.Status"],
            doc: "Whether the service runs, from `service NAME status`.",
            classes: [APIClass("service.Status", "running: boolean", "output: string  what the status command printed")])
    }

    static func status(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let result = try session.runRead(session.platform.serviceStatus(try serviceName(call, 1)), timeout: 30)
        try call.push(["running": .boolean(result.succeeded), "output": .string(result.outputText + result.errorText)])
        return 1
    }

    package static func serviceName(_ call: LuaCall, _ position: Int32) throws -> String {
        let name = try call.string(position)
        guard !name.isEmpty, name.first != "-", name.utf8.count <= 64,
              name.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 })
        else { throw call.argumentError(position, "'\(name)' is not a service name") }
        return name
    }
}
