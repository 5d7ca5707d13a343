import EcomAPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A signed-in session with one server, as kept in the credentials file.
package struct Session: Codable, Sendable, Equatable {
    package var token: String
    package var refreshToken: String
    /// The account as it was when the tokens were issued (for `whoami`-style display without a request).
    package var user: User
    /// When a refresh with this refresh token was sent and its answer never came (a timeout or a
    /// dropped connection). The server may have rotated the token all the same, so a later refusal
    /// of it most likely means that answer was lost, and the user is told so.
    package var refreshUnansweredAt: Date?

    package init(token: String, refreshToken: String, user: User, refreshUnansweredAt: Date? = nil) {
        self.token = token
        self.refreshToken = refreshToken
        self.user = user
        self.refreshUnansweredAt = refreshUnansweredAt
    }

    package init(_ pair: TokenPair) {
        self.init(token: pair.token, refreshToken: pair.refreshToken, user: pair.user)
    }

    enum CodingKeys: String, CodingKey {
        case token, user
        case refreshToken = "refresh_token"
        case refreshUnansweredAt = "refresh_unanswered_at"
    }
}

/// The sessions of every server the user signed in to, in `credentials.json`.
///
/// The file lives in a 0700 directory and is itself 0600. Every change is a read-modify-write
/// under an exclusive `flock` on `credentials.lock` beside it, and the new content replaces the
/// old by `rename`, so readers never see a half-written file and two `ecom` processes never
/// lose each other's changes (or rotate one refresh token twice, which the server treats as theft).
package struct CredentialsStore: Sendable {
    package typealias Sessions = [String: Session]

    package let file: URL
    package var directory: URL { file.deletingLastPathComponent() }
    package var lockFile: URL { directory.appendingPathComponent("credentials.lock") }
    /// How long to wait for another `ecom` process to release the lock at least; longer when that
    /// process said it needs longer (a refresh in flight, see `FileLock`).
    package let lockTimeout: Duration

    package init(file: URL, lockTimeout: Duration = .seconds(15)) {
        self.file = file
        self.lockTimeout = lockTimeout
    }

    /// `$XDG_CONFIG_HOME/ecom/credentials.json`, else `~/.config/ecom/credentials.json`.
    package static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> CredentialsStore {
        let configHome: URL
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            configHome = URL(fileURLWithPath: xdg, isDirectory: true)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            configHome = URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(".config", isDirectory: true)
        }
        return CredentialsStore(
            file: configHome.appendingPathComponent("ecom", isDirectory: true).appendingPathComponent("credentials.json"))
    }

    /// The key a server's session is kept under: its URL without a trailing slash.
    package static func key(for server: URL) -> String {
        var text = server.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// The session for `server`, read without taking the lock (a rename is atomic).
    package func session(for server: URL) throws -> Session? {
        try read()[Self.key(for: server)]
    }

    /// Runs `body` on every stored session while holding the lock, then writes the result if it changed.
    ///
    /// The file is read after the lock is taken, so `body` sees what another process may have just written.
    /// `holdingFor` is the longest `body` may take, which other processes then wait for.
    package func modify<T>(holdingFor hold: Duration? = nil, _ body: (inout Sessions) async throws -> T) async throws -> T {
        try prepareDirectory()
        return try await FileLock.withExclusiveLock(on: lockFile, timeout: lockTimeout, holdingFor: hold) {
            let before = try read()
            var sessions = before
            let result = try await body(&sessions)
            if sessions != before { try replace(with: sessions) }
            return result
        }
    }

    func read() throws -> Sessions {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return [:]
        } catch let error as NSError where error.domain == NSPOSIXErrorDomain && error.code == Int(ENOENT) {
            return [:]
        }
        do {
            return try JSONDecoder.ecom.decode(CredentialsFile.self, from: data).servers
        } catch {
            throw CredentialsError("\(file.path) is not a valid credentials file; delete it and run `ecom login`")
        }
    }

    /// Writes a temporary file (0600) in the same directory, syncs it, and renames it over the old one.
    func replace(with sessions: Sessions) throws {
        let data = try JSONEncoder.ecom.encode(CredentialsFile(servers: sessions))
        var template = Array(file.path.utf8CString.dropLast()) + Array(".XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw CredentialsError(errno: errno, "cannot create a file in \(directory.path)") }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        let synced = fchmod(fd, 0o600) == 0 && fsync(fd) == 0
        close(fd)
        guard written, synced else { throw CredentialsError(errno: errno, "cannot write \(temporary)") }
        guard rename(temporary, file.path) == 0 else { throw CredentialsError(errno: errno, "cannot replace \(file.path)") }
        renamed = true
    }

    /// Creates the directory as 0700, and tightens it if it exists with looser modes.
    func prepareDirectory() throws {
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(directory.path, 0o700) == 0 else {
            throw CredentialsError(errno: errno, "cannot set the mode of \(directory.path)")
        }
    }
}

/// The on-disk shape: `{"servers": {"http://localhost:8080": {"token", "refresh_token", "user"}}}`.
private struct CredentialsFile: Codable {
    var servers: [String: Session]
}

package struct CredentialsError: Error, LocalizedError, Equatable {
    package var errorDescription: String?

    init(_ message: String) {
        errorDescription = message
    }

    init(errno code: Int32, _ message: String) {
        errorDescription = "\(message): \(String(cString: strerror(code)))"
    }
}
