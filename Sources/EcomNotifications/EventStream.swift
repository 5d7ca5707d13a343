import EcomAPI
import EcomMessaging
import EcomServerKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The live streams of store events, as Server-Sent Events: every event for an admin, the events
/// of a shopper's own orders for a shopper.
///
/// Each event is sent as `id: <seq>`, `event: <type>` and `data: <the event's JSON envelope>`.
/// A client that reconnects with `Last-Event-ID` (or `?after=`) gets every event after that one
/// from the log, then the live ones, with no gap and no repeat. A comment line is sent after a
/// heartbeat's time without events, so proxies and idle timeouts keep the connection.
struct EventStreamController: Sendable {
    let live: LiveLog
    let heartbeat: Duration

    func addRoutes(to router: Router<EcomRequestContext>) {
        router.get("/admin/events/stream") { request, context -> Response in
            _ = try context.requireAdmin()
            return try await stream(request, userID: nil)
        }
        router.get("/api/events/stream") { request, context -> Response in
            try await stream(request, userID: context.requireAccount().userID)
        }
    }

    /// What one stream shows: events of these types (all when empty), of this order (all when nil).
    struct Filter: Sendable {
        var types: [String] = []
        var orderID: UUID?

        func admits(_ event: LoggedEvent) -> Bool {
            if let orderID, event.orderID != orderID { return false }
            return types.isEmpty || types.contains { EventTypePattern.matches(event.type, $0) }
        }
    }

    static func filter(of request: Request) throws -> Filter {
        var filter = Filter()
        for value in request.uri.queryParameters.getAll("types") {
            for pattern in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !pattern.isEmpty {
                guard EventTypePattern.isValid(pattern) else {
                    throw APIError.badRequest(
                        ErrorCode.invalidQuery, "types: \"\(pattern)\" is not an event type or pattern (order.created, order.*, #)",
                        field: "types")
                }
                filter.types.append(pattern)
            }
        }
        if let order = request.uri.queryParameters.get("order") {
            guard let id = UUID(hyphenated: order) else {
                throw APIError.badRequest(ErrorCode.invalidQuery, "order must be a UUID", field: "order")
            }
            filter.orderID = id
        }
        return filter
    }

    /// The event the client has already had: `Last-Event-ID`, or `after` for clients that cannot send headers.
    static func resumePoint(of request: Request) throws -> Int64? {
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let seq = Int64(header.trimmingCharacters(in: .whitespaces)), seq >= 0 else {
                throw APIError.badRequest(ErrorCode.invalidHeader, "Last-Event-ID must be an event id this stream sent")
            }
            return seq
        }
        if let after = request.uri.queryParameters.get("after") {
            guard let seq = Int64(after), seq >= 0 else {
                throw APIError.badRequest(ErrorCode.invalidQuery, "after must be an event id this stream sent", field: "after")
            }
            return seq
        }
        return nil
    }

    func stream(_ request: Request, userID: UUID?) async throws -> Response {
        let filter = try Self.filter(of: request)
        let start: Int64
        if let resume = try Self.resumePoint(of: request) {
            start = resume
        } else {
            start = try await live.start()
        }
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8",
            .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        let body = ResponseBody { [live, heartbeat] writer in
            try await Self.run(live: live, heartbeat: heartbeat, from: start, userID: userID, filter: filter, into: &writer)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Writes events from `start` on until the client goes or the server shuts down.
    static func run(
        live: LiveLog, heartbeat: Duration, from start: Int64, userID: UUID?, filter: Filter, into writer: inout any ResponseBodyWriter
    ) async throws {
        guard let (id, wakes) = live.subscribe(heartbeat: heartbeat) else { return }
        defer { live.unsubscribe(id) }
        // The retry delay for EventSource clients; where the stream starts, so that a client that
        // reconnects before any event resumes from there (an `id:` without data dispatches nothing);
        // and a line that says the stream is open.
        try await writer.write(ByteBuffer(string: "retry: 2000\nid: \(start)\n: connected\n\n"))
        try await withGracefulShutdownHandler {
            var cursor = start
            var wake: LiveLog.Wake? = .changed
            var iterator = wakes.makeAsyncIterator()
            while let current = wake {
                switch current {
                case .heartbeat:
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                case .changed:
                    var more = true
                    while more {
                        let read = try await live.events(after: cursor, userID: userID, orderID: filter.orderID)
                        cursor = read.cursor
                        more = read.more
                        var buffer = ByteBuffer()
                        for event in read.events where filter.admits(event) { buffer.writeImmutableBuffer(event.message) }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
                }
                wake = await iterator.next()
            }
        } onGracefulShutdown: {
            live.unsubscribe(id)
        }
    }
}

extension EventTypePattern {
    package static func matches(_ type: String, _ pattern: String) -> Bool {
        EcomMessaging.routingKey(type, matches: pattern)
    }

    /// A POSIX regular expression that `'.' || type` matches when `type` matches one of `patterns`
    /// (every type when there are none), for PostgreSQL's `~`. With a dot before every word,
    /// `*` is one `\.[^.]+` and `#` any number of them. Patterns must be valid.
    package static func regex(_ patterns: [String]) -> String {
        guard !patterns.isEmpty else { return #"^(\.[^.]+)*$"# }
        let alternatives = patterns.map { pattern in
            pattern.split(separator: ".", omittingEmptySubsequences: false).map { word in
                switch word {
                case "*": #"\.[^.]+"#
                case "#": #"(\.[^.]+)*"#
                default: #"\."# + word
                }
            }.joined()
        }
        return "^(" + alternatives.joined(separator: "|") + ")$"
    }
}
