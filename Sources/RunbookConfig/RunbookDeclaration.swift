// A loaded runbook: the declaration its file returns (summary, doc, params, failure
// policy, run function, locks).

import LuaBridge
import RunbookSupport

public enum FailurePolicy: String, Sendable {
    /// Undo the applied effects, newest first, when the run fails.
    case undo
    /// Leave applied effects in place (cleanup hooks decide).
    case keep
}

public struct RunbookDeclaration {
    public var name: String
    public var file: String
    public var summary: String
    public var doc: String
    /// Where the runbook must run and which servers it reaches (`runs_on`, one line; "" when
    /// it does not say): `runbook describe` shows it.
    public var runsOn: String = ""
    /// In declaration order is lost in Lua tables; sorted by name, required first.
    public var parameters: [ParameterSpec]
    public var onFailure: FailurePolicy
    public var run: LuaRef
    public var locks: LuaRef?

    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
}

/// Reads the table a runbook file returns into a declaration; every problem names the file
/// and the field.
package enum DeclarationReader {
    package static let knownFields: Set<String> = ["summary", "doc", "runs_on", "params", "on_failure", "run", "locks"]
    /// Names `runbook run` takes for its own options (accepted before or after the runbook
    /// name), so a parameter of that name could never be given.
    package static let reservedParameterNames: Set<String> = [
        "config", "runbooks", "state_dir", "root", "dry_run", "json", "yes", "durable", "lock_timeout", "help",
        "version", "save_plan", "plan_file", "color", "quiet", "verbose", "on", "args_stdin",
    ]
    package static let knownParameterFields: Set<String> = ["type", "required", "default", "doc", "secret", "min", "max", "values", "list"]

    package static func read(_ value: LuaValue, name: String, file: String) throws -> RunbookDeclaration {
        func fail(_ problem: String) -> RunbookError { RunbookError.usage("\(file): \(problem)") }
        guard case .table(let table) = value else {
            throw fail("the file must end with `return runbook { ... }` (it returned \(value.typeName))")
        }
        for (key, _) in table.fields {
            guard let key = key.stringValue, knownFields.contains(key) else {
                throw fail("unknown field '\(key.stringValue ?? "?")' in the declaration (known: \(knownFields.sorted().joined(separator: ", ")))")
            }
        }
        guard let summary = table["summary"].stringValue, !summary.isEmpty else {
            throw fail("the declaration needs a one-line `summary`")
        }
        guard !summary.contains("\n") else { throw fail("`summary` must be one line") }
        guard case .function(let run) = table["run"] else { throw fail("the declaration needs `run = function(args) ... end`") }
        var locks: LuaRef?
        switch table["locks"] {
        case .nil: break
        case .function(let function): locks = function
        default: throw fail("`locks` must be a function(args) returning lock names")
        }
        let onFailure: FailurePolicy
        switch table["on_failure"] {
        case .nil: onFailure = .keep
        case .string:
            guard let policy = FailurePolicy(rawValue: table["on_failure"].stringValue ?? "") else {
                throw fail("`on_failure` must be \"undo\" or \"keep\"")
            }
            onFailure = policy
        default: throw fail("`on_failure` must be \"undo\" or \"keep\"")
        }
        var parameters: [ParameterSpec] = []
        switch table["params"] {
        case .nil: break
        case .table(let params):
            guard params.array.isEmpty else { throw fail("`params` must map names to specs: params = { name = { type = \"string\" } }") }
            for (key, spec) in params.fields {
                guard let paramName = key.stringValue, isParameterName(paramName) else {
                    throw fail("parameter name '\(key.stringValue ?? "?")' must be lower case letters, digits and _")
                }
                guard !reservedParameterNames.contains(paramName) else {
                    throw fail("parameter name '\(paramName)' is taken by `runbook run --\(paramName.replacingAll("_", with: "-"))`; choose another name")
                }
                parameters.append(try readParameter(paramName, spec, file: file))
            }
        default: throw fail("`params` must be a table")
        }
        parameters.sort { ($0.required ? 0 : 1, $0.name) < ($1.required ? 0 : 1, $1.name) }
        var runsOn = ""
        if case .nil = table["runs_on"] {} else {
            guard let text = table["runs_on"].stringValue, !text.isEmpty, !text.contains("\n") else {
                throw fail("`runs_on` must be one line of text: where the runbook runs and which servers it reaches")
            }
            runsOn = text
        }
        return RunbookDeclaration(name: name, file: file, summary: summary, doc: table["doc"].stringValue ?? "", runsOn: runsOn,
                                  parameters: parameters, onFailure: onFailure, run: run, locks: locks)
    }

    package static func isParameterName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first >= 97 && first <= 122, name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    package static func readParameter(_ name: String, _ value: LuaValue, file: String) throws -> ParameterSpec {
        func fail(_ problem: String) -> RunbookError { RunbookError.usage("\(file): params.\(name): \(problem)") }
        guard case .table(let table) = value else { throw fail("must be a table like { type = \"string\" }") }
        for (key, _) in table.fields where !(key.stringValue.map(knownParameterFields.contains) ?? false) {
            throw fail("unknown field '\(key.stringValue ?? "?")' (known: \(knownParameterFields.sorted().joined(separator: ", ")))")
        }
        let typeName = table["type"].stringValue ?? "string"
        guard let type = ParameterType(rawValue: typeName) else {
            throw fail("unknown type '\(typeName)' (expected one of \(ParameterType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var spec = ParameterSpec(
            name: name, type: type, required: table["required"].boolValue ?? false, defaultValue: nil,
            doc: table["doc"].stringValue ?? "", secret: table["secret"].boolValue ?? false,
            min: table["min"].numberValue, max: table["max"].numberValue,
            values: table["values"].tableValue?.array.compactMap(\.stringValue) ?? [], list: table["list"].boolValue ?? false)
        if type == .enum && spec.values.isEmpty { throw fail("an enum needs `values = { \"a\", \"b\" }`") }
        if type != .enum && !spec.values.isEmpty { throw fail("`values` only applies to enums") }
        switch table["default"] {
        case .nil: break
        case let value:
            if spec.required { throw fail("a required parameter cannot have a default") }
            let text: String
            if case .table(let t) = value, spec.list {
                text = t.array.compactMap { $0.stringValue ?? $0.integerValue.map(String.init) }.joined(separator: ",")
            } else if let scalar = value.scalarText {
                text = scalar
            } else {
                throw fail("the default must be a \(type.rawValue)")
            }
            do { spec.defaultValue = try ArgumentValidator.validate(text, for: spec) } catch {
                throw fail("the default is not valid: \(error)")
            }
        }
        return spec
    }
}
