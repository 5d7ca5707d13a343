import CLazyLibraries
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
        self.init(timeout: timeout, configuration: Self.diskFreeConfiguration())
    }

    private init(timeout: Duration, configuration: URLSessionConfiguration) {
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
            let dataHome = hideDataHome()
            disarmSharedStorage()
            restoreDataHome(dataHome)
        }
        #endif
        return URLSessionConfiguration.default
    }

    private static let sharedStorageDisarmed = Mutex(false)

    #if canImport(FoundationNetworking)
    /// Points `XDG_DATA_HOME` where no directory can be made; returns its value before.
    private static func hideDataHome() -> String? {
        let dataHome = getenv("XDG_DATA_HOME").map { String(cString: $0) }
        setenv("XDG_DATA_HOME", "/dev/null", 1)
        return dataHome
    }

    private static func restoreDataHome(_ dataHome: String?) {
        if let dataHome { setenv("XDG_DATA_HOME", dataHome, 1) } else { unsetenv("XDG_DATA_HOME") }
    }

    /// Makes the shared cache and cookie storage, while `hideDataHome()` holds.
    private static func disarmSharedStorage() {
        URLCache.shared = URLCache(memoryCapacity: 0, diskCapacity: 0, diskPath: "/")
        _ = HTTPCookieStorage.shared
    }
    #endif

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

// MARK: - Made while the command line is parsed

extension URLSessionTransport {
    /// Starts making a one-shot command's transport (the default timeout) on a thread of its own, so
    /// that FoundationNetworking's set-up (libcurl's and OpenSSL's global initialization, the shared
    /// cookie storage, the session) runs on the other core while the main thread parses the command
    /// line. Call it from the main thread before anything else runs; later calls do nothing.
    ///
    /// libcurl (opened at its first call, CLazyLibraries, unless linked in, as in the distributable,
    /// when this opens nothing) is opened first, here, before the threads:
    /// the loader's `mmap` and `mprotect` calls for its thirty libraries cost more while another
    /// thread of the process runs on the other core, each making the kernel interrupt that core (a C
    /// program opening libcurl: 7.2 ms alone, 11.2 ms beside a busy thread). The parse then runs
    /// beside the rest of the set-up.
    ///
    /// Until `finishPreparation()` the environment says `XDG_DATA_HOME=/dev/null` (see
    /// `diskFreeConfiguration`) and must not be changed; call that before the command runs, and before
    /// the process exits: an exit while OpenSSL initializes on the other thread races its clean-up.
    package static func prepareInBackground() {
        #if canImport(FoundationNetworking)
        // A failure is left for the first call to report, as it would be without this.
        var reason = [CChar](repeating: 0, count: 256)
        _ = ecom_library_open(ECOM_LIBRARY_CURL, &reason, reason.count)
        preparation.withLock { preparation in
            guard case .none = preparation else { return }
            // Made already (a session before this): nothing left to do on another thread.
            let disarm = sharedStorageDisarmed.withLock { disarmed in
                defer { disarmed = true }
                return !disarmed
            }
            guard disarm else {
                preparation = .finished
                return
            }
            let dataHome = hideDataHome()
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { _ in
                    URLSessionTransport.disarmSharedStorage()
                    let transport = URLSessionTransport(timeout: GatewayClient.defaultTimeout, configuration: .default)
                    URLSessionTransport.prepared.withLock { $0 = transport }
                    return nil
                }, nil)
            if started == 0 {
                preparation = .running(thread: thread, dataHome: dataHome)
            } else {
                // No thread: the storage is made here, as `diskFreeConfiguration` would.
                disarmSharedStorage()
                restoreDataHome(dataHome)
                preparation = .finished
            }
        }
        #endif
    }

    /// Waits for `prepareInBackground()`'s thread, if one runs, and puts the environment back.
    package static func finishPreparation() {
        #if canImport(FoundationNetworking)
        preparation.withLock { preparation in
            guard case .running(let thread, let dataHome) = preparation else { return }
            pthread_join(thread, nil)
            restoreDataHome(dataHome)
            preparation = .finished
        }
        #endif
    }

    /// The transport `prepareInBackground()` made, if it was for `timeout` and not taken yet; else a new one.
    ///
    /// The prepared one is also kept until the process exits, so that its session is never torn
    /// down: a one-shot command ends by exiting, and the session's deinitialization (libcurl's
    /// clean-up of its multi handle and connection, run on the session's queue while the exiting
    /// thread waits) only delayed that exit; the kernel closes the connection at exit all the same.
    static func make(timeout: Duration) -> URLSessionTransport {
        finishPreparation()
        if timeout == GatewayClient.defaultTimeout, let transport = prepared.withLock({ $0.take() }) {
            keptUntilExit.withLock { $0 = transport }
            return transport
        }
        return URLSessionTransport(timeout: timeout)
    }

    private enum Preparation {
        case none
        /// `dataHome`: `XDG_DATA_HOME` before it was hidden.
        case running(thread: pthread_t, dataHome: String?)
        case finished
    }

    private static let preparation = Mutex(Preparation.none)
    private static let prepared = Mutex<URLSessionTransport?>(nil)
    private static let keptUntilExit = Mutex<URLSessionTransport?>(nil)
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
