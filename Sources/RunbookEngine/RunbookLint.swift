// `runbook check`'s findings beyond loading the file: read from the tokens, never by
// running the runbook, so they are the same whatever the world looks like.
//
//  - errors: `args.x` inside `run`/`locks` with no parameter `x`; `fs.mkdri(...)`, a
//    function of a registered module that the engine does not register; `stpe(...)`, a
//    call of a name that is neither a global of the sandbox nor bound anywhere in the file
//    (strict globals would stop the run there, but only once it gets that far);
//  - warnings: a declared parameter no code mentions (not given when `args` is passed on
//    whole or indexed by a variable: a helper may read it); an effect called directly in the
//    body of `run`, outside any `step` function; `on_failure` "keep" (the default) with no
//    `cleanup(...)` in the file, in a runbook that makes effects.
//
// Limits (docs/cli.md says them too): calls are recognised by their written name
// (`fs.mkdir`), so an effect reached through a local alias or a stdlib helper is not
// seen, and a module table shadowed by a local of the same name is skipped.

import RunbookConfig

public struct CheckFinding: Equatable, Sendable {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    public var line: Int?
    public var message: String
}

package struct RunbookLint {
    package let tokens: [LuaToken]
    package let api: APIReference

    package init(source: String, api: APIReference) {
        tokens = LuaTokens.tokenize(source)
        self.api = api
    }

    /// `globals`: every global of the loaded state (the sandbox's, the engine's, and any
    /// the file set), plus `context`, which exists only while a run runs.
    package func findings(declaration: RunbookDeclaration, globals: Set<String>) -> [CheckFinding] {
        var findings = unknownFunctions()
        findings += unknownGlobalCalls(globals: globals.union(["context"]))
        findings += argumentFindings(declaration)
        findings += effectsOutsideSteps()
        findings += keepWithoutCleanup(declaration)
        return findings.sorted { ($0.line ?? 0) < ($1.line ?? 0) }
    }

    /// The line of `runbook {` (or `runbook(`), for findings about the whole declaration.
    package var declarationLine: Int? { runbookCallLine }

    private var runbookCallLine: Int? {
        for (index, token) in tokens.enumerated() where token.isName("runbook") {
            if index + 1 < tokens.count, tokens[index + 1].isSymbol("{") || tokens[index + 1].isSymbol("(") { return token.line }
        }
        return nil
    }

    // MARK: Unknown functions

    /// `MODULE.NAME` where MODULE is a module the engine registers and NAME is not one of
    /// its functions.
    package func unknownFunctions() -> [CheckFinding] {
        let modules = Set(api.moduleNames)
        let shadowed = Set(tokens.indices.compactMap { index -> String? in
            index > 0 && tokens[index - 1].isName("local") && tokens[index].kind == .name ? tokens[index].text : nil
        })
        var findings: [CheckFinding] = []
        for index in tokens.indices.dropLast(2) {
            let token = tokens[index]
            guard token.kind == .name, modules.contains(token.text), !shadowed.contains(token.text),
                  tokens[index + 1].isSymbol("."), tokens[index + 2].kind == .name else { continue }
            if index > 0, tokens[index - 1].isSymbol(".") || tokens[index - 1].isSymbol(":") { continue }
            let name = token.text + "." + tokens[index + 2].text
            // A documented module value (`db.NULL`) is no unknown function either.
            guard api.function(name) == nil, !api.globals.contains(where: { $0.name == name }) else { continue }
            let known = api.functions.map(\.name).filter { $0.hasPrefix(token.text + ".") }
            let close = known.filter { ArgumentBinder.editDistance(Array($0), Array(name)) <= 2 }
            let hint = close.isEmpty ? " (\(token.text) has: \(known.map { String($0.dropFirst(token.text.count + 1)) }.joined(separator: ", ")))"
                : " (did you mean \(close.joined(separator: ", "))?)"
            findings.append(CheckFinding(severity: .error, line: token.line, message: "unknown function \(name)\(hint)"))
        }
        return findings
    }

    /// Names the file binds somewhere: after `local` (and the rest of its name list),
    /// after `function`, in parameter lists and in `for` loops. Scopes are ignored, so a
    /// name bound anywhere counts everywhere: no false alarms, some misses.
    package var boundNames: Set<String> {
        var names = Set<String>()
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            if token.isName("local") || token.isName("for") {
                // `local a, b <const>`, `local function f`, `for k, v in`, `for i =`
                var next = index + 1
                if next < tokens.count, tokens[next].isName("function") { next += 1 }
                while next < tokens.count, tokens[next].kind == .name {
                    names.insert(tokens[next].text)
                    guard next + 1 < tokens.count, tokens[next + 1].isSymbol(",") else { break }
                    next += 2
                }
            } else if token.isName("function") {
                var next = index + 1
                if next < tokens.count, tokens[next].kind == .name { names.insert(tokens[next].text) }
                while next < tokens.count, !tokens[next].isSymbol("(") { next += 1 }
                next += 1
                while next < tokens.count, !tokens[next].isSymbol(")") {
                    if tokens[next].kind == .name { names.insert(tokens[next].text) }
                    next += 1
                }
            }
            index += 1
        }
        return names
    }

    /// `NAME(...)` where NAME is no global and bound nowhere in the file: a typo the run
    /// would only meet when it reaches that line.
    package func unknownGlobalCalls(globals: Set<String>) -> [CheckFinding] {
        let known = globals.union(boundNames)
        let keywords: Set<String> = ["and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
                                     "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"]
        var findings: [CheckFinding] = []
        var reported = Set<String>()
        for index in tokens.indices.dropLast() {
            let token = tokens[index]
            guard token.kind == .name, tokens[index + 1].isSymbol("("), !keywords.contains(token.text), !known.contains(token.text)
            else { continue }
            if index > 0, tokens[index - 1].isSymbol(".") || tokens[index - 1].isSymbol(":") || tokens[index - 1].isSymbol("::") { continue }
            guard reported.insert(token.text + ":\(token.line)").inserted else { continue }
            let close = known.filter { ArgumentBinder.editDistance(Array($0), Array(token.text)) <= 2 && $0.count > 2 }.sorted()
            let hint = close.isEmpty ? "" : " (did you mean \(close.prefix(3).joined(separator: ", "))?)"
            findings.append(CheckFinding(severity: .error, line: token.line,
                                         message: "unknown function \(token.text): not a global of the sandbox, nor defined in this file\(hint)"))
        }
        return findings
    }

    // MARK: Arguments

    /// The `run = function(P) ... end` or `locks = function(P) ... end` of the declaration:
    /// its parameter name and token range.
    package func declaredFunction(_ field: String) -> (parameter: String?, range: Range<Int>)? {
        for index in tokens.indices.dropLast(3) {
            guard tokens[index].isName(field), tokens[index + 1].isSymbol("="), tokens[index + 2].isName("function") else { continue }
            if index > 0, tokens[index - 1].isSymbol(".") { continue }
            let start = index + 2
            let parameter = start + 2 < tokens.count && tokens[start + 1].isSymbol("(") && tokens[start + 2].kind == .name
                ? tokens[start + 2].text : nil
            return (parameter, start..<blockEnd(from: start))
        }
        return nil
    }

    /// The index after the `end` that closes the block opened at `start`.
    package func blockEnd(from start: Int) -> Int {
        var depth = 0
        var index = start
        while index < tokens.count {
            let token = tokens[index]
            if token.kind == .name {
                switch token.text {
                case "function", "if", "do", "repeat": depth += 1
                case "end", "until": depth -= 1
                default: break
                }
                if depth == 0 { return index + 1 }
            }
            index += 1
        }
        return tokens.count
    }

    package func argumentFindings(_ declaration: RunbookDeclaration) -> [CheckFinding] {
        let declared = Set(declaration.parameters.map(\.name))
        var findings: [CheckFinding] = []
        var mentioned = Set<String>()
        var passedOn = false
        var reported = Set<String>()
        for field in ["locks", "run"] {
            guard let function = declaredFunction(field), let parameter = function.parameter else { continue }
            for index in function.range.dropFirst(4) where tokens[index].isName(parameter) {
                if index > 0, tokens[index - 1].isSymbol(".") || tokens[index - 1].isSymbol(":") { continue }
                let next = index + 1 < tokens.count ? tokens[index + 1] : nil
                var name: String?
                if next?.isSymbol(".") == true, index + 2 < tokens.count, tokens[index + 2].kind == .name {
                    name = tokens[index + 2].text
                } else if next?.isSymbol("[") == true, index + 3 < tokens.count, tokens[index + 2].kind == .string,
                          tokens[index + 3].isSymbol("]") {
                    name = tokens[index + 2].text
                } else {
                    // `helper(args)`, `args[name]`: any parameter may be read elsewhere.
                    passedOn = true
                }
                guard let name else { continue }
                mentioned.insert(name)
                if !declared.contains(name), reported.insert(name).inserted {
                    let close = declared.filter { ArgumentBinder.editDistance(Array($0), Array(name)) <= 2 }.sorted()
                    let hint = close.isEmpty ? "" : " (did you mean \(parameter).\(close[0])?)"
                    findings.append(CheckFinding(severity: .error, line: tokens[index].line,
                                                 message: "\(parameter).\(name) is used but no parameter '\(name)' is declared in params\(hint)"))
                }
            }
        }
        // Helpers at the top level of the file may take the arguments table too.
        for index in tokens.indices.dropLast(2) where tokens[index].isName("args") && tokens[index + 1].isSymbol(".")
            && tokens[index + 2].kind == .name {
            mentioned.insert(tokens[index + 2].text)
        }
        if !passedOn {
            for parameter in declaration.parameters where !mentioned.contains(parameter.name) {
                findings.append(CheckFinding(severity: .warning, line: parameterLine(parameter.name) ?? 1,
                                             message: "parameter '\(parameter.name)' is declared but never used (args.\(parameter.name))"))
            }
        }
        return findings
    }

    /// The line of `NAME = {` inside `params = { ... }`.
    package func parameterLine(_ name: String) -> Int? {
        guard let start = tokens.indices.first(where: { tokens[$0].isName("params") && $0 + 1 < tokens.count && tokens[$0 + 1].isSymbol("=") })
        else { return declarationLine }
        for index in start..<(tokens.count - 1) where tokens[index].isName(name) && tokens[index + 1].isSymbol("=") {
            return tokens[index].line
        }
        return declarationLine
    }

    // MARK: Effects outside steps

    /// Effects written directly in `run`'s body (not inside a function given to `step`, a
    /// hook or a helper defined there).
    package func effectsOutsideSteps() -> [CheckFinding] {
        guard let run = declaredFunction("run") else { return [] }
        var findings: [CheckFinding] = []
        var blocks: [Bool] = []  // per open block: is it a function?
        var index = run.range.lowerBound
        while index < run.range.upperBound {
            let token = tokens[index]
            if token.kind == .name {
                switch token.text {
                case "function": blocks.append(true)
                case "if", "do", "repeat": blocks.append(false)
                case "end", "until": _ = blocks.popLast()
                default: break
                }
            }
            let functionDepth = blocks.filter { $0 }.count
            if functionDepth == 1, token.kind == .name, index + 2 < tokens.count, tokens[index + 1].isSymbol("."),
               tokens[index + 2].kind == .name, index == 0 || !(tokens[index - 1].isSymbol(".") || tokens[index - 1].isSymbol(":")),
               let function = api.function(token.text + "." + tokens[index + 2].text), function.kind == .effect
            {
                findings.append(CheckFinding(severity: .warning, line: token.line,
                                             message: "\(function.name) makes an effect outside any step (wrap it in step(\"...\", function() ... end))"))
            }
            index += 1
        }
        return findings
    }

    // MARK: Failure policy

    package func keepWithoutCleanup(_ declaration: RunbookDeclaration) -> [CheckFinding] {
        guard declaration.onFailure == .keep else { return [] }
        let hasCleanup = tokens.indices.contains { tokens[$0].isName("cleanup") && $0 + 1 < tokens.count && tokens[$0 + 1].isSymbol("(") }
        let makesEffects = tokens.indices.dropLast(2).contains { index in
            tokens[index].kind == .name && tokens[index + 1].isSymbol(".") && tokens[index + 2].kind == .name
                && api.function(tokens[index].text + "." + tokens[index + 2].text)?.kind == .effect
        }
        guard !hasCleanup, makesEffects else { return [] }
        let line = tokens.indices.first { tokens[$0].isName("on_failure") }.map { tokens[$0].line } ?? declarationLine
        return [CheckFinding(severity: .warning, line: line ?? 1,
                             message: "on_failure is \"keep\"\(line == declarationLine ? " (the default)" : "") and there is no cleanup(...): a failed run leaves its changes with no hook to report or repair them")]
    }
}
