import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends one HTTP request and returns the whole answer. The seam tests replace.
package protocol HTTPTransport: Sendable {
    func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse)
}

/// The real transport: an ephemeral `URLSession` with no cookies, no cache and a timeout.
package struct URLSessionTransport: HTTPTransport {
    private let session: URLSession

    package init(timeout: Duration) {
        let configuration = Self.diskFreeConfiguration()
        let seconds = timeout.seconds
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        // The refresh token travels in JSON bodies; the server's cookie is for browsers.
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration)
    }

    /// `URLSessionConfiguration.default` with nothing kept on disk, made without FoundationNetworking's
    /// side effects: `.ephemeral` builds a `URLCache` with no path, which creates
    /// `~/.cache/org.swift.foundation.URLCache/<process name>`, and `.default` reads the shared
    /// cache and cookie storage, which create that directory and
    /// `$XDG_DATA_HOME/<name of the binary's directory>`. Both are set up once here so that they
    /// touch nothing: the shared cache on a directory that exists, the cookie storage while
    /// `XDG_DATA_HOME` names a place where no directory can be made.
    private static func diskFreeConfiguration() -> URLSessionConfiguration {
        #if canImport(FoundationNetworking)
        sharedStorageDisarmed.withLock { disarmed in
            guard !disarmed else { return }
            disarmed = true
            URLCache.shared = URLCache(memoryCapacity: 0, diskCapacity: 0, diskPath: "/")
            let dataHome = getenv("XDG_DATA_HOME").map { String(cString: $0) }
            setenv("XDG_DATA_HOME", "/dev/null", 1)
            _ = HTTPCookieStorage.shared
            if let dataHome { setenv("XDG_DATA_HOME", dataHome, 1) } else { unsetenv("XDG_DATA_HOME") }
        }
        #endif
        return URLSessionConfiguration.default
    }

    private static let sharedStorageDisarmed = Mutex(false)

    /// Sends `request`; a cancelled caller still gets the answer (or the timeout) and sees the
    /// cancellation at its next suspension.
    ///
    /// The request runs in a task of its own because cancelling FoundationNetworking's
    /// `data(for:)` mid-flight can leave it never returning (seen as a REPL hung after Ctrl-C).
    package func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let session = session
        return try await Task {
            let (data, response) = try await session.data(for: request)
            guard let response = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
            return (data, response)
        }.value
    }
}
