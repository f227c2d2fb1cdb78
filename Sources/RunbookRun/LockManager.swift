// Named locks: a file lock in the state dir (and MySQL GET_LOCK when a lock database is
// configured, so two hosts exclude each other). Held until the run ends.

import LuaBridge
import MySQLClient
import RunbookCore
import RunbookSupport

public struct LockHeld: Error, CustomStringConvertible {
    public var name: String
    public var holder: String
    public var description: String { "lock '\(name)' is held by \(holder)" }
}

package final class LockManager {
    package let directory: String
    package let runID: String
    package let timeout: Double
    package let databases: DatabaseConnections?
    package let lockDatabase: String?
    private var held: [String: Int32] = [:]

    package init(directory: String, runID: String, timeout: Double, databases: DatabaseConnections?, lockDatabase: String?) {
        self.directory = directory
        self.runID = runID
        self.timeout = timeout
        self.databases = databases
        self.lockDatabase = lockDatabase
    }

    deinit { releaseAll() }

    /// Takes `name`, waiting up to the timeout; throws `LockHeld` naming the holder.
    package func acquire(_ name: String) throws {
        if held[name] != nil { return }
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw LuaHostFailure("lock names must be 1 to 200 bytes long, got \(name.utf8.count)")
        }
        try Posix.makeDirectories(directory, mode: 0o700)
        let path = directory + "/" + LockManager.fileName(name)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SystemError("open lock", path) }
        let deadline = Clock.monotonic() + timeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if Clock.monotonic() >= deadline {
                let holder = (try? Posix.readText(path))?.trimmed ?? ""
                close(descriptor)
                throw LockHeld(name: name, holder: holder.isEmpty ? "another run" : holder)
            }
            usleep(50_000)
        }
        let who = "run \(runID) (pid \(getpid()), \(Posix.userName)@\(Posix.hostName), since \(Clock.iso8601(Clock.wall())))"
        ftruncate(descriptor, 0)
        _ = try? Posix.writeAll(descriptor, Array(who.utf8), path: path)
        held[name] = descriptor
        if let lockDatabase, let databases {
            do {
                let connection = try databases.connection(lockDatabase)
                let result = try connection.query("SELECT GET_LOCK(?, ?)", [.string("runbook:" + name), .int(Int64(timeout))])
                guard result.first?[0].int64 == 1 else {
                    release(name)
                    let noted = LockHolders.holder(of: name, on: connection).map { $0 + ", " } ?? "a run on another host, "
                    throw LockHeld(name: name, holder: noted + "MySQL lock 'runbook:\(name)' on \(lockDatabase)")
                }
                LockHolders.record(name, who: who, on: connection)
            } catch let error as LockHeld {
                throw error
            } catch {
                release(name)
                throw error
            }
        }
    }

    package func release(_ name: String) {
        guard let descriptor = held.removeValue(forKey: name) else { return }
        if let lockDatabase, let databases {
            _ = try? databases.connection(lockDatabase).query("SELECT RELEASE_LOCK(?)", [.string("runbook:" + name)])
        }
        ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    package func releaseAll() { for name in Array(held.keys) { release(name) } }

    /// Who holds `name` now (this host's lock file, and the lock database when configured),
    /// or nil when nobody does. A holder that died let go of it: the kernel drops a dead
    /// process's flock, the server a dead connection's GET_LOCK.
    package static func holder(of name: String, directory: String, databases: DatabaseConnections?, lockDatabase: String?) -> String? {
        let path = directory + "/" + fileName(name)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                let who = (try? Posix.readText(path))?.trimmed ?? ""
                return who.isEmpty ? "a process of this host" : who
            }
            flock(descriptor, LOCK_UN)
        }
        if let lockDatabase, let databases,
           let free = try? databases.connection(lockDatabase).query("SELECT IS_FREE_LOCK(?)", [.string("runbook:" + name)]).first?[0].int64,
           free == 0 {
            let connection = try? databases.connection(lockDatabase)
            let noted = connection.flatMap { LockHolders.holder(of: name, on: $0) }.map { $0 + ", " } ?? "a run on another host, "
            return noted + "MySQL lock 'runbook:\(name)' on \(lockDatabase)"
        }
        return nil
    }

    package static func fileName(_ name: String) -> String {
        var result = ""
        for byte in name.utf8 {
            if (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 95 || byte == 46 {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return result + ".lock"
    }
}
