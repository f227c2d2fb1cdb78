// How much a run or an undo tells a person, and in colour or not: `--color`, `-q`, `-v`.

/// `--color auto|always|never`.
public enum ColourChoice: String, CaseIterable, Sendable {
    /// Colour on a terminal, unless NO_COLOR is set to something or TERM is dumb.
    case auto
    /// Colour wherever the output goes (a pager that shows it: `| less -R`).
    case always
    case never

    /// Whether output to `descriptor` is coloured.
    public func wanted(onTerminal terminal: Bool) -> Bool {
        switch self {
        case .auto: return TerminalColour.wanted(onTerminal: terminal)
        case .always: return true
        case .never: return false
        }
    }
}

/// `-q/--quiet`, the default, `-v/--verbose`.
public enum ConsoleVerbosity: Sendable {
    /// Errors and the final line: what a cron mail or a wrapper needs.
    case quiet
    case normal
    /// Also `log.debug` messages and each effect's kind.
    case verbose
}

/// What the console of a run or an undo shows (the journal and --json are not affected).
public struct ConsoleOptions: Sendable {
    public var colour: ColourChoice = .auto
    public var verbosity: ConsoleVerbosity = .normal
    public init(colour: ColourChoice = .auto, verbosity: ConsoleVerbosity = .normal) {
        self.colour = colour
        self.verbosity = verbosity
    }
}
