// Confines every filesystem path of a run under a root folder (`--root`).

/// Maps the paths a runbook names ("/usr/home/shop") to real paths under the run's root,
/// and refuses any path that would escape it, lexically or through a symlink.
public final class RootedPaths {
    /// The root as given, without a trailing slash ("" when the root is "/").
    public let root: String
    private let realRoot: String
    /// The root's directory, opened on first use (RootedWalk.swift).
    package var openedRoot: Int32?
    /// Directories kept open between walks, by runbook path (RootedWalk.swift).
    package var openedDirectories: [String: KeptDirectory] = [:]
    /// Directories the run made in a kept directory, by runbook path: the kept one's path.
    package var madeDirectories: [String: String] = [:]
    package var openedGeneration = 0

    public init(root: String) throws {
        let trimmed = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        guard trimmed.hasPrefix("/") else { throw RunbookError.usage("--root must be an absolute path, got '\(root)'") }
        self.root = trimmed == "/" ? "" : trimmed
        if self.root.isEmpty {
            realRoot = ""
        } else {
            guard let resolved = realpath(self.root, nil) else {
                throw RunbookError.usage("--root \(root): \(String(cString: strerror(errno)))")
            }
            realRoot = String(cString: resolved)
            free(resolved)
        }
    }

    /// No root: paths are used as they are (still walked, see RootedWalk.swift).
    nonisolated(unsafe) public static let unconfined: RootedPaths = try! RootedPaths(root: "/")

    deinit {
        if let openedRoot, openedRoot >= 0 { close(openedRoot) }
        for kept in openedDirectories.values { close(kept.descriptor) }
    }

    public var isConfined: Bool { !root.isEmpty }

    /// memchr over the bytes (a generic `contains` showed in profiles: every primitive
    /// checks its paths).
    package static func containsNUL(_ path: String) -> Bool {
        path.utf8.withContiguousStorageIfAvailable { bytes in bytes.baseAddress.map { memchr($0, 0, bytes.count) != nil } ?? false }
            ?? path.utf8.contains(0)
    }

    /// The real path for a runbook path. The runbook path must be absolute. The directories
    /// on the way to it that exist are checked (RootedWalk.swift): a symlink a customer
    /// could have planted there is refused, with or without a root. `followingLast` checks
    /// the entry itself too, for reads that open it.
    public func real(_ path: String, followingLast: Bool = false) throws -> String {
        guard !path.isEmpty, !RootedPaths.containsNUL(path) else { throw PathError(path: path, problem: "is empty or contains a NUL byte") }
        guard path.hasPrefix("/") else { throw PathError(path: path, problem: "is not absolute") }
        guard let normalized = PathName.normalize(path) else { throw PathError(path: path, problem: "escapes the root") }
        try checkWay(toVirtual: normalized, original: path, followingLast: followingLast)
        guard isConfined else { return normalized }
        return normalized == "/" ? root : root + normalized
    }

    /// The runbook's view of a real path (inverse of `real`).
    public func virtual(_ realPath: String) -> String {
        guard isConfined, realPath.hasPrefix(root) else { return realPath }
        let rest = String(realPath.dropFirst(root.count))
        return rest.isEmpty ? "/" : rest
    }

    /// Symlink targets: absolute targets are confined too, so links stay inside the root.
    public func realLinkTarget(_ target: String) throws -> String {
        guard target.hasPrefix("/") else { return target }
        guard let normalized = PathName.normalize(target) else { throw PathError(path: target, problem: "escapes the root") }
        return isConfined ? root + normalized : normalized
    }

    public func virtualLinkTarget(_ realTarget: String) -> String {
        guard isConfined, realTarget.hasPrefix(root + "/") else { return realTarget }
        return String(realTarget.dropFirst(root.count))
    }
}

/// A path a runbook named that cannot be used.
public struct PathError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "path '\(path)' \(problem)" }

    package init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
}
