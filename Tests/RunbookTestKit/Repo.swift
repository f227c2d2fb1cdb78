// This repository's folders, found from the kit's own file or from the binary under test.

import RunbookEngine
import RunbookSupport
import Testing

/// This repository's folders, found from this file: the tests use the repo's stdlib/.
package enum Repo {
    package static let root: String = PathName.parent(PathName.parent(PathName.parent(#filePath)))
    package static var stdlib: String { root + "/stdlib" }
    package static var runbooks: String { root + "/runbooks" }
    package static var schema: String { root + "/schema" }

    package static func schemaSQL(_ name: String) throws -> String {
        guard let text = Files.read(schema + "/" + name) else { throw TestSetupError("cannot read schema/\(name)") }
        return text
    }
}

/// scripts/demo-world of this checkout.
package enum DemoWorldScript {
    package static var project: String { PathName.parent(PathName.parent(PathName.parent(#filePath))) }
    package static var path: String { project + "/scripts/demo-world" }
}

/// The project's checkout: the nearest directory above the runbook binary with docs/cli.md.
package enum ProjectDirectory {
    package static let path: String = {
        var directory = PathName.parent(RunbookBinary.path ?? Posix.currentDirectory + "/x")
        while directory.count > 1 {
            if Files.exists(directory + "/docs/cli.md") { return directory }
            directory = PathName.parent(directory)
        }
        return Posix.currentDirectory
    }()
}
