import EcomAPI
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One event of a store event stream.
package struct StreamEvent: Sendable, Equatable {
    /// Its place in the server's event log: a stream resumes after it.
    package var id: Int64
    package var type: String
    /// The event's JSON envelope (`{"id", "type", "occurred_at", "request_id", "data"}`), as sent.
    package var json: String

    package init(id: Int64, type: String, json: String) {
        self.id = id
        self.type = type
        self.json = json
    }
}

/// What a stream of Server-Sent Events says, line by line (the `text/event-stream` format).
package struct EventStreamParser: Sendable {
    private var pending: [UInt8] = []
    /// The last `id:` the stream sent, with an event or alone (where a new stream starts).
    package private(set) var id: Int64?
    private var type: String?
    private var data: [String] = []

    package init() {}

    /// Feeds `bytes`; returns the events they complete.
    package mutating func feed(_ bytes: some Sequence<UInt8>) -> [StreamEvent] {
        pending.append(contentsOf: bytes)
        var events: [StreamEvent] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var end = newline
            if end > start, pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if let event = line(String(decoding: pending[start..<end], as: UTF8.self)) { events.append(event) }
            start = newline + 1
        }
        pending.removeFirst(start)
        return events
    }

    private mutating func line(_ line: String) -> StreamEvent? {
        guard !line.isEmpty else {
            defer {
                type = nil
                data = []
            }
            guard let id, !data.isEmpty else { return nil }
            return StreamEvent(id: id, type: type ?? "message", json: data.joined(separator: "\n"))
        }
        guard !line.hasPrefix(":") else { return nil }
        let field = line.prefix { $0 != ":" }
        var value = line.dropFirst(field.count).dropFirst()
        if value.hasPrefix(" ") { value = value.dropFirst() }
        switch field {
        case "id": id = Int64(value)
        case "event": type = String(value)
        case "data": data.append(String(value))
        default: break
        }
        return nil
    }
}

extension GatewayClient {
    /// A stream route's events from `after` on (from the next one when nil), until the task is
    /// cancelled. A dropped connection is opened again after a pause, resuming after the last
    /// event received, so nothing is missed or repeated; `onReconnect` hears about each drop. A
    /// refused access token is refreshed once, as other calls do. Ends with an error only for
    /// answers a retry cannot change (a bad request, a forbidden route, a session that ended).
    package func events(
        path: String, query: [URLQueryItem] = [], after: Int64? = nil, onReconnect: @escaping @Sendable (String) -> Void = { _ in }
    ) -> AsyncThrowingStream<StreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await follow(path: path, query: query, after: after, onReconnect: onReconnect) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func follow(
        path: String, query: [URLQueryItem], after: Int64?, onReconnect: @Sendable (String) -> Void,
        _ deliver: @escaping @Sendable (StreamEvent) -> Void
    ) async throws {
        let last = Mutex(after)
        var pause = Duration.milliseconds(500)
        var refreshed = false
        while !Task.isCancelled {
            guard let session = try credentials.session(for: server) else { throw ClientError.notSignedIn(server: serverName) }
            let request = try streamRequest(path: path, query: query, after: last.withLock { $0 }, token: session.token)
            let outcome = await StreamConnection().run(request) { events, position in
                last.withLock { $0 = position }
                for event in events { deliver(event) }
            }
            if Task.isCancelled { return }
            switch outcome {
            case .answered(let status, _) where status == 401 && !refreshed:
                _ = try await refresh(replacing: session.token)
                refreshed = true
                continue
            case .answered(let status, let body) where status < 500 && status != 429:
                throw failure(Reply(status: status, body: body, requestID: ""))
            case .answered(let status, _):
                onReconnect("the server answered \(status)")
            case .ended(let received):
                if received { pause = .milliseconds(500) }
                refreshed = false
                onReconnect("the stream ended")
            case .failed(let error):
                onReconnect((error as? URLError).map(Self.reason) ?? "\(error)")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(10))
        }
    }

    private func streamRequest(path: String, query: [URLQueryItem], after: Int64?, token: String) throws -> URLRequest {
        var components = URLComponents(url: server, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
        if !query.isEmpty {
            components.queryItems = query
            components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        }
        guard let url = components.url else { throw ClientError.unreachable(server: serverName, reason: "invalid URL") }
        var request = URLRequest(url: url)
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue(UUID().lowercased, forHTTPHeaderField: "X-Request-ID")
        request.setValue("ecom-cli", forHTTPHeaderField: "User-Agent")
        if let after { request.setValue(String(after), forHTTPHeaderField: "Last-Event-ID") }
        return request
    }
}

/// One connection of a stream: a data task whose bytes are parsed as they come.
private final class StreamConnection: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome {
        /// The server answered with something other than a stream.
        case answered(status: Int, body: Data)
        /// The stream closed; `received` says whether it had carried any event.
        case ended(received: Bool)
        case failed(any Error)
    }

    private struct State {
        var parser = EventStreamParser()
        var status: Int?
        var body = Data()
        var received = false
        var continuation: CheckedContinuation<Outcome, Never>?
        var outcome: Outcome?
    }

    private let state = Mutex(State())
    private var deliver: ([StreamEvent], Int64?) -> Void = { _, _ in }

    /// Runs `request` until the stream ends, handing the events to `deliver` as they arrive, with
    /// the stream's position after them. Cancelling the calling task closes the connection.
    func run(_ request: URLRequest, deliver: @escaping ([StreamEvent], _ position: Int64?) -> Void) async -> Outcome {
        self.deliver = deliver
        let configuration = URLSessionConfiguration.ephemeral
        // Between two lines at most: the server sends a keep-alive line every 15 seconds.
        configuration.timeoutIntervalForRequest = 60
        configuration.timeoutIntervalForResource = 10 * 365 * 24 * 3600
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: request)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let early = state.withLock { state in
                    if state.outcome == nil { state.continuation = continuation }
                    return state.outcome
                }
                if let early {
                    continuation.resume(returning: early)
                } else {
                    task.resume()
                }
            }
        } onCancel: {
            finish(.ended(received: false))
            task.cancel()
        }
    }

    private func finish(_ outcome: Outcome) {
        let continuation = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: outcome)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        state.withLock { $0.status = (response as? HTTPURLResponse)?.statusCode }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let read = state.withLock { state -> ([StreamEvent], Int64?)? in
            guard state.status == 200 else {
                if state.body.count < 64 * 1024 { state.body.append(data) }
                return nil
            }
            let events = state.parser.feed(data)
            if !events.isEmpty { state.received = true }
            return (events, state.parser.id)
        }
        if let (events, position) = read { deliver(events, position) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (status, body, received) = state.withLock { ($0.status, $0.body, $0.received) }
        if let status, status != 200 {
            finish(.answered(status: status, body: body))
        } else if let error {
            finish(.failed(error))
        } else {
            finish(.ended(received: received))
        }
    }
}
