import Foundation

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
        let configuration = URLSessionConfiguration.ephemeral
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
