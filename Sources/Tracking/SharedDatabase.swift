import Foundation
import GRDB

/// Opens a SQLite database that several processes may share — `tuner train` runs side by side on
/// one `--out` folder, `tuner serve` beside `tuner rsi` — in WAL mode (a `DatabasePool`), with a
/// writer waiting up to 30 s for another connection's lock instead of failing at once.
///
/// The database is opened and its schema migrated while holding an exclusive lock on a file
/// beside it: switching a new file to WAL does not wait for a busy database, and GRDB's migrator
/// reads which migrations were applied before it takes the write lock, so two first opens failed
/// with "database is locked" or "table … already exists".
public enum SharedDatabase {
    public struct LockError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): cannot take the migration lock: \(reason)" }
    }

    public static func open(_ url: URL, migrator: DatabaseMigrator) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        return try withExclusiveLock(url.path + ".migration-lock") {
            let pool = try DatabasePool(path: url.path, configuration: configuration)
            try migrator.migrate(pool)
            return pool
        }
    }

    /// Runs `body` while holding `flock(LOCK_EX)` on `path` (created if missing); the lock goes
    /// with the descriptor, so a process that dies while holding it releases it.
    static func withExclusiveLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let descriptor = Foundation.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LockError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw LockError(path: path, reason: String(cString: strerror(errno))) }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}
