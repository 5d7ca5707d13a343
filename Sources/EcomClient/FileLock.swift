import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on a file.
///
/// `flock` locks belong to the open file description, so two holders exclude each other within
/// one process as they do across processes.
package enum FileLock {
    /// Runs `body` holding the lock on `url` (created 0600 if missing); waits at most `timeout` for it,
    /// polling so no thread of the cooperative pool blocks.
    package static func withExclusiveLock<T>(
        on url: URL, timeout: Duration, _ body: () async throws -> T
    ) async throws -> T {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CredentialsError(errno: errno, "cannot open \(url.path)") }
        defer { close(fd) }  // closing the descriptor drops the lock
        let deadline = ContinuousClock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else { throw CredentialsError(errno: code, "cannot lock \(url.path)") }
            guard ContinuousClock.now < deadline else { throw CredentialsError("\(url.path) is held by another ecom process") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await body()
    }
}
