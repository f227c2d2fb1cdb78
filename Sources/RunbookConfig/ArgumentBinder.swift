// Binds `--ARG VALUE | --FLAG` words from the command line (and secrets from the
// environment or a file) to a runbook's declared parameters.

import RunbookSupport

public struct BoundArguments {
    public var values: [String: ArgumentValue]
    /// Secret values, so the run's redactor can mask them everywhere.
    public var secrets: [String]

    /// The arguments as the history and logs show them: secrets masked.
    public func masked(_ declaration: RunbookDeclaration) -> JSON {
        .object(values.keys.sorted().map { name in
            let spec = declaration.parameter(name)
            return (name, spec?.secret == true ? .string(Redactor.mask) : values[name]!.json)
        })
    }
}

public enum ArgumentBinder {
    /// Environment variable that can carry any argument, and the only safe way (with
    /// `--NAME-file`) to pass a secret: argv is readable by every user on the host.
    public static func environmentName(_ parameter: String) -> String { "RUNBOOK_ARG_" + parameter.uppercased() }

    public static func bind(_ words: [String], to declaration: RunbookDeclaration,
                            environment: (String) -> String? = Posix.environment) throws -> BoundArguments
    {
        var raw: [String: [String]] = [:]
        var index = 0
        func fail(_ message: String) -> RunbookError { RunbookError.usage(message) }
        // A bool flag given alone just before this word: `--ssl maybe` names --ssl.
        var bareBoolFlag: String?
        while index < words.count {
            let word = words[index]
            index += 1
            let previousBareBoolFlag = bareBoolFlag
            bareBoolFlag = nil
            guard word.hasPrefix("--"), word.count > 2 else {
                if let flag = previousBareBoolFlag {
                    throw fail("argument \(flag): expected true or false, got \(ArgumentValidator.quoted(word)) (\(flag) alone means true)")
                }
                throw fail("unexpected '\(ArgumentValidator.quoted(word).dropFirst().dropLast())': runbook arguments are given as --name value")
            }
            var name = String(word.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            let key = name.replacingAll("-", with: "_")
            if key.hasSuffix("_file"), let spec = declaration.parameter(String(key.dropLast(5))), spec.secret {
                guard let path = value ?? (index < words.count ? words[index] : nil) else { throw fail("\(word) needs a file path") }
                if value == nil { index += 1 }
                do {
                    let text = try Posix.readText(path)
                    raw[spec.name, default: []].append(text.hasSuffix("\n") ? String(text.dropLast()) : text)
                } catch {
                    throw fail("argument \(spec.flag)-file: cannot read \(path): \(error)")
                }
                continue
            }
            if key.hasPrefix("no_"), value == nil, let spec = declaration.parameter(String(key.dropFirst(3))), spec.type == .bool {
                raw[spec.name, default: []].append("false")
                continue
            }
            guard let spec = declaration.parameter(key) else {
                throw fail("unknown argument --\(name) for runbook '\(declaration.name)'\(suggestion(for: key, in: declaration))")
            }
            if spec.secret {
                throw fail("argument \(spec.flag) is a secret: pass it in \(environmentName(spec.name)) or with \(spec.flag)-file FILE, never on the command line")
            }
            if value == nil {
                if spec.type == .bool {
                    let next = index < words.count ? words[index].lowercased() : ""
                    if ["true", "false", "yes", "no"].contains(next) {
                        value = words[index]
                        index += 1
                    } else {
                        value = "true"
                        bareBoolFlag = spec.flag
                    }
                } else {
                    guard index < words.count, !(words[index].hasPrefix("--") && words[index].count > 2) else {
                        throw fail("argument \(spec.flag) needs a value (\(spec.typeDescription))")
                    }
                    value = words[index]
                    index += 1
                }
            }
            raw[spec.name, default: []].append(value!)
        }
        var bound = BoundArguments(values: [:], secrets: [])
        for spec in declaration.parameters {
            var texts = raw[spec.name] ?? []
            if texts.isEmpty, let fromEnvironment = environment(environmentName(spec.name)) { texts = [fromEnvironment] }
            if texts.count > 1 && !spec.list {
                throw fail("argument \(spec.flag) was given \(texts.count) times (it takes one value)")
            }
            if texts.isEmpty {
                if let value = spec.defaultValue { bound.values[spec.name] = value }
                else if spec.required { throw fail("missing required argument \(spec.flag) (\(spec.typeDescription))\(spec.doc.isEmpty ? "" : ": " + spec.doc)") }
                continue
            }
            let value = try ArgumentValidator.validate(texts.joined(separator: ","), for: spec)
            if spec.secret { bound.secrets.append(value.display) }
            bound.values[spec.name] = value
        }
        return bound
    }

    /// " (did you mean --hostname?)" for a near miss.
    package static func suggestion(for name: String, in declaration: RunbookDeclaration) -> String {
        let best = declaration.parameters.map { ($0, editDistance(Array(name), Array($0.name))) }.min { $0.1 < $1.1 }
        if let best, best.1 <= max(2, name.count / 3) { return " (did you mean \(best.0.flag)?)" }
        let flags = declaration.parameters.map(\.flag)
        return flags.isEmpty ? " (it takes no arguments)" : " (it takes \(flags.joined(separator: ", ")))"
    }

    public static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
