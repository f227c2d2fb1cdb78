// `runbook agent`: started by a run on another host over ssh (`on(HOST, ...)`), never by
// hand. It speaks one JSON line per request on stdin and stdout (RunbookRun/AgentServer.swift).

import ArgumentParser
import RunbookEngine
import RunbookRun

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Serve a run on another host (started by on(HOST, ...) over ssh; not for typing).",
        shouldDisplay: false)

    @OptionGroup var options: EngineOptions

    func run() throws {
        let engine = try options.engine(durable: true)
        let status = AgentServer(config: engine.config).serve()
        if status != 0 { throw ExitCode(status) }
    }
}
