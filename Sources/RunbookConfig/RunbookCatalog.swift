// Finds runbooks by name in the configured directories and loads their declarations.

import LuaBridge
import RunbookSupport

public struct RunbookCatalog {
    public let directories: [String]

    public init(directories: [String]) { self.directories = directories }

    /// Runbook names are file names: lower case, digits, dashes and underscores.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && name.first != "-"
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    /// The file for a name or a path given on the command line.
    public func locate(_ nameOrPath: String) throws -> (name: String, path: String) {
        if nameOrPath.hasSuffix(".lua") || nameOrPath.contains("/") {
            guard Posix.lstatInfo(nameOrPath) != nil else { throw RunbookError.usage("no such runbook file: \(nameOrPath)") }
            let base = PathName.base(nameOrPath)
            return (base.hasSuffix(".lua") ? String(base.dropLast(4)) : base, nameOrPath)
        }
        guard RunbookCatalog.isValidName(nameOrPath) else {
            throw RunbookError.usage("'\(ArgumentValidator.quoted(nameOrPath).dropFirst().dropLast())' is not a runbook name (see `runbook list`)")
        }
        for directory in directories {
            let path = directory + "/" + nameOrPath + ".lua"
            if Posix.lstatInfo(path) != nil { return (nameOrPath, path) }
        }
        let names = allNames()
        let close = names.filter { ArgumentBinder.editDistance(Array($0), Array(nameOrPath)) <= 2 }
        let hint = close.isEmpty ? " (see `runbook list`)" : " (did you mean \(close.joined(separator: ", "))?)"
        throw RunbookError.usage("no runbook named '\(nameOrPath)' in \(directories.isEmpty ? "(no runbook directories)" : directories.joined(separator: ", "))\(hint)")
    }

    /// Every runbook name, first directory wins.
    public func allNames() -> [String] {
        var seen: [String] = []
        for directory in directories {
            for file in (try? Posix.list(directory)) ?? [] where file.hasSuffix(".lua") {
                let name = String(file.dropLast(4))
                if RunbookCatalog.isValidName(name), !seen.contains(name) { seen.append(name) }
            }
        }
        return seen.sorted()
    }

    /// Loads a runbook's declaration into `state` (the file's top level runs; effects are
    /// refused there). Errors name the file and line.
    public static func loadDeclaration(name: String, path: String, into state: LuaState) throws -> RunbookDeclaration {
        let source: String
        do { source = try Posix.readText(path) } catch { throw RunbookError.usage("cannot read runbook \(path): \(error)") }
        let chunkName = "@" + displayPath(path)
        let results: [LuaValue]
        do {
            results = try state.run(source, chunkName: chunkName)
        } catch let error as LuaError {
            throw RunbookError.usage("\(error.description)")
        }
        return try DeclarationReader.read(results.first ?? .nil, name: name, file: displayPath(path))
    }

    /// A path as short as is still clear: relative to the current directory when inside it.
    public static func displayPath(_ path: String) -> String {
        let cwd = Posix.currentDirectory + "/"
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }
}
