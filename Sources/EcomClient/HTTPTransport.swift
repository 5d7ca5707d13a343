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

    /// Sends `request`; when the calling task is cancelled (Ctrl-C), throws `CancellationError`
    /// at once and abandons the exchange, which the server may still carry out.
    ///
    /// The request goes through a completion-handler data task rather than `data(for:)`:
    /// cancelling FoundationNetworking's `data(for:)` mid-flight can leave it never returning,
    /// so the caller's wait is ended here, by this function, and the task is cancelled apart.
    package func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let exchange = Exchange()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let task = session.dataTask(with: request) { data, response, error in
                    if let error {
                        exchange.finish(.failure(error))
                    } else if let response = response as? HTTPURLResponse {
                        exchange.finish(.success((data ?? Data(), response)))
                    } else {
                        exchange.finish(.failure(URLError(.badServerResponse)))
                    }
                }
                exchange.start(task, continuation)
            }
        } onCancel: {
            exchange.abandon()
        }
    }
}

/// One request's continuation, resumed once: by the data task's answer or by cancellation,
/// whichever comes first.
private final class Exchange: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<(Data, HTTPURLResponse), any Error>?
    private var task: URLSessionDataTask?
    private var abandoned = false

    func start(_ task: URLSessionDataTask, _ continuation: CheckedContinuation<(Data, HTTPURLResponse), any Error>) {
        lock.lock()
        if abandoned {
            lock.unlock()
            continuation.resume(throwing: CancellationError())
            return
        }
        self.task = task
        self.continuation = continuation
        lock.unlock()
        task.resume()
    }

    func finish(_ result: Result<(Data, HTTPURLResponse), any Error>) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        task = nil
        lock.unlock()
        continuation?.resume(with: result)
    }

    func abandon() {
        lock.lock()
        abandoned = true
        let continuation = self.continuation
        let task = self.task
        self.continuation = nil
        self.task = nil
        lock.unlock()
        continuation?.resume(throwing: CancellationError())
        task?.cancel()
    }
}
