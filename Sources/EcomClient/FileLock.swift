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
///
/// A holder that means to keep the lock for a while (a token refresh waits up to its request
/// timeout) writes its pid and the wall-clock time it will be done by into the file; waiters
/// read it and wait until then, not just their own `timeout`, so a slow but healthy holder never
/// makes the others fail. A holder that dies releases the lock with its descriptor, whatever it wrote.
package enum FileLock {
    /// Runs `body` holding the lock on `url` (created 0600 if missing); waits at most `timeout`
    /// for it, or until the time the holder said it would be done by, whichever is later. Polls,
    /// so no thread of the cooperative pool blocks.
    ///
    /// `holdingFor` is how long `body` may take at most; it is recorded for the waiters.
    package static func withExclusiveLock<T>(
        on url: URL, timeout: Duration, holdingFor hold: Duration? = nil, _ body: () async throws -> T
    ) async throws -> T {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CredentialsError(errno: errno, "cannot open \(url.path)") }
        defer { close(fd) }  // closing the descriptor drops the lock
        let ownDeadline = ContinuousClock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else { throw CredentialsError(errno: code, "cannot lock \(url.path)") }
            let holder = Holder.read(from: fd)
            var deadline = ownDeadline
            if let until = holder?.until {
                let remaining = until.timeIntervalSinceNow
                if remaining > 0 { deadline = max(deadline, ContinuousClock.now + .milliseconds(Int64(remaining * 1000))) }
            }
            guard ContinuousClock.now < deadline else {
                let who = holder.map { "another ecom process (pid \($0.pid))" } ?? "another ecom process"
                throw CredentialsError("\(url.path) is held by \(who)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Holder(pid: getpid(), until: hold.map { Date().addingTimeInterval($0.seconds) }).write(to: fd)
        return try await body()
    }

    /// What the holder of the lock wrote into the file: `pid [unix-time-done-by]`.
    struct Holder: Equatable {
        var pid: Int32
        var until: Date?

        static func read(from fd: Int32) -> Holder? {
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            let fields = String(decoding: buffer[..<count], as: UTF8.self).split(whereSeparator: \.isWhitespace)
            guard let first = fields.first, let pid = Int32(first) else { return nil }
            return Holder(pid: pid, until: fields.dropFirst().first.flatMap { Double($0) }.map(Date.init(timeIntervalSince1970:)))
        }

        /// Best effort: a record that cannot be written only shortens the others' wait to their own timeout.
        func write(to fd: Int32) {
            var text = "\(pid)"
            if let until { text += " \(until.timeIntervalSince1970)" }
            let bytes = Array((text + "\n").utf8)
            _ = ftruncate(fd, 0)
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
