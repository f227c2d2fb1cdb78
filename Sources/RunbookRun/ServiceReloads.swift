// Reloads a run owes its services: queued by `service.reload`, run once per service at the
// end of the step, each behind its config test; a failed test restores the run's files
// under the service's config folder.

import RunbookCore
import RunbookSupport

/// A reload waiting for the end of its step.
package struct PendingReload: Equatable {
    package var service: String
    package var config: String?
    package var shownConfig: String?
    /// The host `on` named when it was asked for; nil for this one.
    package var host: String?

    package init(service: String, config: String? = nil, shownConfig: String? = nil, host: String? = nil) {
        self.service = service
        self.config = config
        self.shownConfig = shownConfig
        self.host = host
    }
}

/// A config test that failed: the reload was not done and the files were restored.
package struct ConfigTestFailure: Error, CustomStringConvertible {
    package var service: String
    /// The host it ran on, when not this one.
    package var host: String?
    package var output: String
    package var restored: Int
    package var description: String {
        (host.map { "on \($0): " } ?? "") + "\(service) config test failed, so \(service) was not reloaded and keeps its running configuration"
            + (restored > 0 ? "; the \(restored) file change\(restored == 1 ? "" : "s") this run made under its config folder "
                + (restored == 1 ? "was" : "were") + " restored" : "")
            + ": " + output
    }
}

extension RunSession {
    package func queueReload(_ reload: PendingReload) {
        if !pendingReloads.contains(reload) { pendingReloads.append(reload) }
    }

    /// Runs the queued reloads: test, then reload; on a failed test restore this run's
    /// files under the service's config folder and fail.
    package func flushReloads() throws {
        let reloads = pendingReloads
        pendingReloads.removeAll()
        for reload in reloads {
            if let host = reload.host { try on(host) { try testAndReload(reload) } } else { try testAndReload(reload) }
        }
    }

    /// On the reload's host (`on` is in effect for another one): its test, its files, its reload.
    private func testAndReload(_ reload: PendingReload) throws {
        let test = platform.configTest(reload.service, configPath: reload.config)
        if let test, !isDryRun {
            let result = try runRead(test, timeout: 60)
            if !result.succeeded {
                let restored = restoreFiles(under: PathName.parent(reload.config ?? defaultConfig(reload.service)), on: reload.host)
                throw ConfigTestFailure(service: reload.service, host: reload.host, output: result.diagnostic, restored: restored)
            }
        }
        try perform(ReloadService(service: reload.service, argv: platform.reloadService(reload.service, configPath: reload.config),
                                  testArgv: test))
    }

    package func defaultConfig(_ service: String) -> String {
        platform.kind == .freebsd ? "/usr/local/etc/\(service)/\(service).conf" : "/etc/\(service)/\(service).conf"
    }

    /// Undoes the file effects this run applied under `directory` (newest first) of this
    /// host, or of `host`.
    package func restoreFiles(under directory: String, on host: String? = nil) -> Int {
        guard let live = executor as? LiveExecutor else { return 0 }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        let entries = live.undoEntries { record, undo in
            record.kind.hasPrefix("fs.") && (undo ?? []).contains { step in
                let paths = host == nil ? step.changedPaths
                    : (step as? UndoOnHost).flatMap { $0.host == host ? $0.pathsThere : nil } ?? []
                return (paths.first ?? "").hasPrefix(prefix)
            }
        }
        guard !entries.isEmpty else { return 0 }
        forgetKnownDirectories()  // the undo below may remove directories fs.mkdir made
        let tally = UndoProcess.run(entries, world: live.world, output: output, journal: live.journal, dryRun: false)
        live.forget(entries.map(\.seq))
        return tally.undone
    }
}
