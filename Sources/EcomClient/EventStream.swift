import AsyncHTTPClient
import EcomAPI
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
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
            let outcome = await StreamConnection.run(request) { events, position in
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
                onReconnect(StreamConnection.reason(error))
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(10))
        }
    }

    private func streamRequest(path: String, query: [URLQueryItem], after: Int64?, token: String) throws -> HTTPClientRequest {
        var components = URLComponents(url: server, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
        if !query.isEmpty {
            components.queryItems = query
            components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        }
        guard let url = components.url else { throw ClientError.unreachable(server: serverName, reason: "invalid URL") }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "X-Request-ID", value: UUID().lowercased)
        request.headers.add(name: "User-Agent", value: "ecom-cli")
        if let after { request.headers.add(name: "Last-Event-ID", value: String(after)) }
        return request
    }
}

/// One connection of a stream, over AsyncHTTPClient rather than URLSession: FoundationNetworking's
/// libcurl loop keeps a write source armed on a connection that only receives, and spins a core
/// for as long as a stream stays open (measured: 0.8 of a core for an idle `ecom listen`).
private enum StreamConnection {
    enum Outcome {
        /// The server answered with something other than a stream.
        case answered(status: Int, body: Data)
        /// The stream closed; `received` says whether it had carried any event.
        case ended(received: Bool)
        case failed(any Error)
    }

    /// One client for the process's streams; it lives as long as the process.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            // Between two reads at most: the server sends a keep-alive line every 15 seconds.
            timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Runs `request` until the stream ends, handing the events to `deliver` as they arrive, with
    /// the stream's position after them. Cancelling the calling task closes the connection.
    static func run(_ request: HTTPClientRequest, deliver: ([StreamEvent], _ position: Int64?) -> Void) async -> Outcome {
        var received = false
        do {
            // The deadline covers the wait for the answer's head; the body then flows for as long
            // as the stream lasts, bounded between reads by the read timeout.
            let response = try await client.execute(request, timeout: .seconds(60))
            guard response.status == .ok else {
                var body = Data()
                for try await chunk in response.body where body.count < 64 * 1024 {
                    body.append(contentsOf: chunk.readableBytesView)
                }
                return .answered(status: Int(response.status.code), body: body)
            }
            var parser = EventStreamParser()
            for try await chunk in response.body {
                let events = parser.feed(chunk.readableBytesView)
                if !events.isEmpty { received = true }
                deliver(events, parser.id)
            }
            return .ended(received: received)
        } catch {
            if Task.isCancelled { return .ended(received: received) }
            return .failed(error)
        }
    }

    /// A dropped connection's cause, in a few words.
    static func reason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout: return "timed out"
            case .remoteConnectionClosed: return "connection lost"
            default: return "\(error)"
            }
        }
        if let error = error as? NIOConnectionError { return reason(error.connectionErrors.first?.error ?? error) }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET, EPIPE: return "connection lost"
            default: return error.description
            }
        }
        return "\(error)"
    }
}
