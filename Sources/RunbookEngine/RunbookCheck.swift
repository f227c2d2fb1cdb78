// `runbook check NAME`: load the runbook (syntax, declaration) without running it, then
// add the static findings of RunbookLint. Errors make the check fail; warnings do not.

import RunbookConfig
import RunbookModules
import RunbookSupport

public struct CheckReport: Sendable {
    /// The file as shown (relative to the current directory when inside it), or the target
    /// when it could not be found.
    public var file: String
    public var name: String
    public var parameterCount = 0
    public var findings: [CheckFinding] = []

    public var errors: Int { findings.filter { $0.severity == .error }.count }
    public var warnings: Int { findings.filter { $0.severity == .warning }.count }
}

extension Engine {
    public func check(_ nameOrPath: String, api: APIReference) -> CheckReport {
        let name: String
        let path: String
        do {
            (name, path) = try catalog.locate(nameOrPath)
        } catch {
            return CheckReport(file: nameOrPath, name: nameOrPath, findings: [CheckFinding(severity: .error, line: nil, message: "\(error)")])
        }
        let file = RunbookCatalog.displayPath(path)
        var report = CheckReport(file: file, name: name)
        let source = (try? Posix.readText(path)) ?? ""
        let lint = RunbookLint(source: source, api: api)
        do {
            let state = try makeState(slot: SessionSlot())
            let declaration = try RunbookCatalog.loadDeclaration(name: name, path: path, into: state)
            report.parameterCount = declaration.parameters.count
            let names = try state.run("local names = {} for name in pairs(_G) do names[#names + 1] = name end "
                                      + "return table.concat(names, ' ')", chunkName: "=globals")
            let globals = Set((names.first?.stringValue ?? "").split(separator: " ").map(String.init))
            report.findings = lint.findings(declaration: declaration, globals: globals)
        } catch {
            report.findings = [CheckFinding(severity: .error, line: nil, message: "\(error)")]
            // Errors about the declaration name the file but not the line: point at `runbook {`.
            let prefix = file + ": "
            let message = "\(error)"
            if message.hasPrefix(prefix), lint.declarationLine != nil {
                report.findings = [CheckFinding(severity: .error, line: lint.declarationLine, message: String(message.dropFirst(prefix.count)))]
            }
        }
        return report
    }
}

extension CheckReport {
    /// `error   FILE:LINE: message` lines, then `ok      FILE: NAME, N parameters` when
    /// there is no error.
    public var lines: [String] {
        var lines: [String] = []
        for finding in findings {
            let label = finding.severity == .error ? "error  " : "warning"
            // Without a line, the message is a load error that names its file (and line) itself.
            lines.append(finding.line.map { "\(label) \(file):\($0): \(finding.message)" } ?? "\(label) \(finding.message)")
        }
        if errors == 0 {
            let plural = parameterCount == 1 ? "" : "s"
            let warned = warnings == 0 ? "" : ", \(warnings) warning\(warnings == 1 ? "" : "s")"
            lines.append("ok      \(file): \(name), \(parameterCount) parameter\(plural)\(warned)")
        }
        return lines
    }
}
