// Everything a run tells the world: console lines for people (colour only on a TTY), one
// JSON object per line with --json, and every event in the run's journal.

import RunbookCore
import RunbookJournal
import RunbookSupport

/// How the console is written.
public enum OutputMode: Sendable {
    case human
    case json
    case quiet
}

public final class RunOutput {
    /// The version of the --json event stream (docs/events.md): the "v" of every event.
    /// Raised when a field changes meaning or goes away; new events and fields keep it.
    public static let schemaVersion: Int64 = 1

    package let mode: OutputMode
    package let redactor: Redactor
    package var journal: JournalWriter?
    /// The `parallel` branch whose lines are printed now (its label), if any.
    package var branch: String?
    package let colour: Bool
    /// The progress bar is drawn on a terminal (colour or not), never into a file or pipe.
    package let progressBar: Bool
    private var progressShown = false
    /// The bar last drawn while its loop is not done: drawn again under each line printed
    /// meanwhile, so it stays in sight. A finished bar stays where it is, above what follows.
    private var activeBar: String?
    let verbosity: ConsoleVerbosity
    private var lastProgressEvent = 0.0
    /// When stdout is not a terminal (a log file, a pipe), the lines of effects wait to be
    /// written together instead of one write(2) each: with
    /// the next other line, or once 16 KiB of them or 0.2 s have passed, whatever the
    /// runbook does meanwhile. A terminal gets every line at once.
    private let console: DelayedWriter?
    private var lastProgressDrawn = 0.0
    private var meter = ProgressMeter()

    public init(mode: OutputMode, redactor: Redactor, console options: ConsoleOptions = ConsoleOptions()) {
        self.mode = mode
        self.redactor = redactor
        verbosity = options.verbosity
        let terminal = mode == .human && isatty(1) == 1
        colour = mode == .human && options.colour.wanted(onTerminal: terminal)
        progressBar = terminal && Posix.environment("TERM") != "dumb" && options.verbosity != .quiet
        console = mode == .human && !terminal ? DelayedWriter(descriptor: 1, path: "stdout") : nil
    }

    deinit { console?.close() }

    /// Writes every line still waiting, and any later line at once.
    package func close() { console?.close() }

    /// The single event of an invocation that never started a run (bad arguments, an
    /// unknown runbook, a bad configuration): what --json prints for it.
    public static func invalidInvocationEvent(_ error: String) -> String {
        JSON.object([("event", .string("run_finished")), ("v", .int(schemaVersion)), ("at", .string(Clock.iso8601(Clock.wall()))),
                     ("status", .string("invalid")), ("exit", .int(Int64(ExitStatus.usage.rawValue))), ("error", .string(error))])
            .serialized
    }

    // MARK: Writing

    /// One console line (human mode); `mayWait`: an effect's line, which may wait for the
    /// next ones when stdout is not a terminal; `essential`: shown with --quiet too (an
    /// error, the final line).
    package func line(_ text: String, mayWait: Bool = false, essential: Bool = false) {
        guard mode == .human, essential || verbosity != .quiet else { return }
        lineBuffer.removeAll()
        setBarAside()
        // The last guard: whatever reached here unescaped (a caller that forgot `shown`),
        // the terminal gets no escape sequence but the console's own colours.
        lineBuffer.append(utf8: TerminalText.escape(redactor.mask(text), keepingLines: true, allowingColour: colour))
        lineBuffer.append(0x0a)
        // The bar of a loop still running goes under the line, in the same write.
        if let activeBar {
            lineBuffer.append(utf8: activeBar)
            progressShown = true
        }
        if let console {
            if mayWait { console.hold(lineBuffer.bytes) } else { try? console.write(lineBuffer.bytes) }
        } else {
            _ = try? Posix.writeAll(1, lineBuffer.bytes, path: "stdout")
        }
    }

    /// The line being written (its room kept from one line to the next).
    private let lineBuffer = ByteBuffer()

    /// Writes the lines waiting, if any.
    package func flushConsole() { console?.flush() }

    /// One event: to the journal always, to stdout as JSON in --json mode.
    package func event(_ kind: JournalRecordKind, _ fields: [(String, JSON)], journaled: Bool = true) {
        if journaled { journal?.append(kind, fields) }
        guard mode == .json else { return }
        var record: [(String, JSON)] = [("event", .string(kind.rawValue)), ("v", .int(RunOutput.schemaVersion)),
                                        ("at", .string(Clock.iso8601(Clock.wall())))]
        record.append(contentsOf: fields)
        if let branch { record.append(("branch", .string(branch))) }
        let text = TerminalText.jsonLine(redactor.mask(JSON.object(record).serialized)) + "\n"
        _ = try? Posix.writeAll(1, Array(text.utf8), path: "stdout")
    }

    package func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// World text (a file name, command output, a database value, an error quoting them) as
    /// the console shows it: masked, then every character a terminal acts on written out
    /// (TerminalText). `keepingLines` for messages of several lines (a traceback).
    package func shown(_ text: String, keepingLines: Bool = false) -> String {
        if TerminalText.isPlain(text.utf8, keepingLines: keepingLines) { return text }
        // Masked first: a secret holding a control character is still found.
        return TerminalText.escape(redactor.mask(text), keepingLines: keepingLines)
    }

    // MARK: Events

    /// `config`: the configuration file in effect (nil: none, the built-in defaults); `root`:
    /// the run's root. Both go into the event and the journal, for `runbook log`.
    package func runStarted(id: String, runbook: String, dryRun: Bool, arguments: JSON, file: String, config: String?, root: String,
                    planFile: String? = nil, planned: Int? = nil)
    {
        var fields: [(String, JSON)] = [("run", .string(id)), ("runbook", .string(runbook)), ("dry_run", .bool(dryRun)),
                                        ("arguments", arguments), ("file", .string(file)),
                                        ("config", config.map(JSON.string) ?? .null), ("root", .string(root)),
                                        ("user", .string(Posix.userName)),
                                        ("host", .string(Posix.hostName)), ("pid", .int(Int64(getpid()))),
                                        ("version", .string(RunbookVersion.current))]
        if let planFile, let planned { fields += [("plan_file", .string(planFile)), ("planned_effects", .int(Int64(planned)))] }
        event(.runStarted, fields)
        line(paint("run \(id)", "1") + "  \(shown(runbook))" + (dryRun ? paint("  (dry-run: nothing will be changed)", "36") : ""))
        // Which configuration and root this run uses: an exported RUNBOOK_CONFIG or a
        // forgotten --root is seen before anything is changed.
        message("  config \(config ?? "none (built-in defaults)"), root \(root)")
        if let planFile, let planned {
            line(paint("held to the reviewed plan \(shown(planFile)) (\(planned) effect\(planned == 1 ? "" : "s"))", "36"))
        }
    }

    package func stepStarted(_ name: String, index: Int) {
        event(.stepStarted, [("step", .string(name)), ("index", .int(Int64(index)))])
        meter.stepStarted(at: Clock.monotonic())
        line(paint("▶ ", "34") + shown(name))
    }

    package func effect(_ record: EffectRecord, dryRun: Bool) {
        // A real run's journal already holds the effect: its intent has every field, its
        // `applied` record the result. The event is for --json (and a dry-run's journal,
        // where the plan has no intents).
        if dryRun { journal?.planned(record) }
        if mode == .json { event(dryRun ? .effectPlanned : .effectApplied, record.json.objectValue ?? [], journaled: false) }
        // A switch, not a dictionary literal built for every effect.
        let code: String
        switch record.sign {
        case .create: code = "32"
        case .change: code = "33"
        case .remove: code = "31"
        case .irreversible: code = "35"
        }
        let kind = verbosity == .verbose ? paint("  [" + shown(record.kind) + "]", "2") : ""
        line(.concatenating("  ", branchLabel, paint(record.sign.rawValue, code), " ", shown(record.summary), kind), mayWait: true)
    }

    package func noChange(_ summary: String) {
        event(.noChange, [("summary", .string(summary))])
        line(paint("  " + branchLabel + "= " + shown(summary) + " (already so)", "2"), mayWait: true)
    }

    package func log(_ level: String, _ message: String) {
        event(.log, [("level", .string(level)), ("message", .string(message))])
        // The journal and --json have every level; the console shows debug with -v only.
        if level == "debug" && verbosity != .verbose { return }
        let prefix: String
        switch level {
        case "warn": prefix = paint("  warning: ", "33")
        case "error": prefix = paint("  error: ", "31")
        case "debug": prefix = paint("  debug: ", "2")
        default: prefix = "  "
        }
        line(prefix + branchLabel + shown(message, keepingLines: true), essential: level == "error")
    }

    /// `[d2] ` in front of what a branch of `parallel` prints (its effects, logs and
    /// "already so" lines), so interleaved lines say whose they are.
    private var branchLabel: String { branch.map { paint("[" + shown($0) + "] ", "36") } ?? "" }

    /// progress(done, total) of a loop: an event at most every 0.5 s (and at the end), and
    /// on a terminal a bar with the count, the rate and the time left, redrawn at most
    /// ten times a second.
    package func progress(_ done: Int64, _ total: Int64, step: String) {
        let now = Clock.monotonic()
        let reading = meter.read(done: done, total: total, step: step, now: now)
        if done >= total || now - lastProgressEvent >= 0.5 {
            lastProgressEvent = now
            var fields: [(String, JSON)] = [("step", .string(step)), ("done", .int(done)), ("total", .int(total)),
                                            ("elapsed", .double(reading.elapsed))]
            if let rate = reading.rate { fields.append(("rate", .double(rate))) }
            if let remaining = reading.remaining { fields.append(("eta", .double(remaining))) }
            event(.progress, fields)
        }
        guard progressBar, total > 0, done >= total || now - lastProgressDrawn >= 0.1 else { return }
        lastProgressDrawn = now
        let text = "\r\u{1B}[2K  " + ProgressMeter.bar(done: done, total: total, reading)
        _ = try? Posix.writeAll(1, Array(text.utf8), path: "stdout")
        progressShown = true
        activeBar = done >= total ? nil : text
    }

    /// Before a line: a finished bar is left in place (the line goes below it); the bar of a
    /// loop still running is erased, to be drawn again under the line.
    private func setBarAside() {
        guard progressShown else { return }
        progressShown = false
        if activeBar == nil {
            lineBuffer.append(0x0a)
        } else {
            lineBuffer.append(utf8: "\r\u{1B}[2K")
        }
    }

    /// Erases the bar of a loop still running (its step has ended, or stderr gets a line).
    private func clearProgress(forget: Bool) {
        if forget { activeBar = nil }
        guard progressShown else { return }
        progressShown = false
        _ = try? Posix.writeAll(1, Array((activeBar == nil && !forget ? "\n" : "\r\u{1B}[2K").utf8), path: "stdout")
    }

    package func stepFinished(_ name: String, failed: String?, duration: Double, effects: Int) {
        // A loop the step left unfinished has no bar any more.
        if activeBar != nil { clearProgress(forget: true) }
        var fields: [(String, JSON)] = [("step", .string(name)), ("status", .string(failed == nil ? "succeeded" : "failed")),
                                        ("duration", .double(duration)), ("effects", .int(Int64(effects)))]
        if let failed { fields.append(("error", .string(failed))) }
        event(.stepFinished, fields)
        let counts = effects == 0 ? "" : "  \(effects) effect\(effects == 1 ? "" : "s")"
        if let failed {
            line(paint("✘ ", "31") + shown(name) + paint("  failed after \(Clock.duration(duration))", "31") + ": "
                 + shown(failed, keepingLines: true), essential: true)
        } else {
            line(paint("✔ ", "32") + shown(name) + paint(counts + "  " + Clock.duration(duration), "2"))
        }
    }

    /// What `undo --dry-run` would do for effect `seq`.
    package func undoPlanned(_ action: String, seq: Int) {
        event(.undoPlanned, [("seq", .int(Int64(seq))), ("action", .string(action))])
        line("  ↺ would " + shown(action))
    }

    /// One undone effect (or one that could not be undone). With `seq`, the journal already
    /// has its `undone`, `undo_failed` or `undo_skipped` record (UndoProcess), which `runbook
    /// log` shows with the intent's summary: the event is for --json only.
    package func undone(_ summary: String, failed: String?, seq: Int? = nil) {
        if seq == nil || mode == .json {
            var fields: [(String, JSON)] = [("summary", .string(summary))]
            if let seq { fields.insert(("seq", .int(Int64(seq))), at: 0) }
            if let failed { fields.append(("error", .string(failed))) }
            event(failed == nil ? .effectUndone : .undoFailed, fields, journaled: seq == nil)
        }
        guard mode == .human else { return }
        if let failed {
            line(paint("  ↺ could not undo: ", "31") + shown(summary) + ": " + shown(failed, keepingLines: true), essential: true)
        }
        else { line((colour ? paint("  ↺ ", "36") + "undone: " : "  ↺ undone: ") + shown(summary), mayWait: true) }
    }

    package func hook(_ kind: String, failed: String?) {
        var fields: [(String, JSON)] = [("hook", .string(kind))]
        if let failed { fields.append(("error", .string(failed))) }
        event(failed == nil ? .hookRan : .hookFailed, fields)
        if let failed { line(paint("  \(kind) hook failed: ", "31") + shown(failed, keepingLines: true), essential: true) }
    }

    /// A line of the engine's own that may quote the world: all of it is escaped.
    package func message(_ text: String, essential: Bool = false) { line(shown(text, keepingLines: true), essential: essential) }

    /// `lead` painted in `code`, then `text` (escaped): "done in 1.2s: ...".
    package func message(_ text: String, lead: String, code: String, essential: Bool = false) {
        line(paint(shown(lead), code) + shown(text, keepingLines: true), essential: essential)
    }

    package func error(_ text: String) {
        guard mode == .human else { return }
        clearProgress(forget: false)
        flushConsole()
        let masked = TerminalText.escape(redactor.mask(text), keepingLines: true) + "\n"
        _ = try? Posix.writeAll(2, Array(masked.utf8), path: "stderr")
        // A loop still running: its bar again, under the error.
        if let activeBar, progressBar {
            _ = try? Posix.writeAll(1, Array(activeBar.utf8), path: "stdout")
            progressShown = true
        }
    }
}
