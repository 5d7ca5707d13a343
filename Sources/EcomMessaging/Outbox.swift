import EcomAPI
import EcomPostgres
import Foundation
import Synchronization

/// Writing events: always inside the transaction of the change they announce.
package enum Outbox {
    /// Adds `event` to this database's outbox, in the caller's transaction. The relay publishes
    /// it once that transaction has committed; if it rolls back, the event never existed.
    package static func enqueue<Payload>(_ event: Event<Payload>, on connection: SQLConnection) throws {
        try connection.execute(try insert(event))
    }

    /// An event as the outbox stores it.
    package static func encode<Payload>(_ event: Event<Payload>) throws -> OutgoingEvent {
        OutgoingEvent(eventID: event.id, routingKey: event.type, body: String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self))
    }

    /// Adds `events` to the outbox in their order, in one statement, in the caller's transaction.
    package static func enqueue(_ events: [OutgoingEvent], on connection: SQLConnection) throws {
        guard !events.isEmpty else { return }
        try connection.execute(insert(events))
    }

    /// The statement that `enqueue` runs, for a statement that does more in one round trip.
    package static func insert(_ events: [OutgoingEvent]) -> SQLQuery {
        """
        INSERT INTO outbox (event_id, routing_key, body)
        SELECT event_id, routing_key, body
        FROM unnest(\(SQLArray(events.map(\.eventID)))::uuid[], \(SQLArray(events.map(\.routingKey)))::text[],
            \(SQLArray(events.map(\.body)))::text[]) WITH ORDINALITY AS e (event_id, routing_key, body, position)
        ORDER BY position
        """
    }

    /// The statement that `enqueue` runs, for a statement that does more in one round trip (as a
    /// data-modifying `WITH` query).
    package static func insert<Payload>(_ event: Event<Payload>) throws -> SQLQuery {
        let body = String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self)
        return "INSERT INTO outbox (event_id, routing_key, body) VALUES (\(event.id), \(event.type), \(body))"
    }

    /// The statement that enqueues `event` once for each row of `relation` (a `WITH` query's name):
    /// the event of a change that a guarded statement before it may not have made.
    package static func insert<Payload>(_ event: Event<Payload>, when relation: String) throws -> SQLQuery {
        let body = String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self)
        var statement: SQLQuery = "INSERT INTO outbox (event_id, routing_key, body) SELECT \(event.id), \(event.type), \(body) FROM "
        statement.append("\(unescaped: relation)")
        return statement
    }
}

/// One outbox row on its way to the subscribers.
package struct OutgoingEvent: Sendable, Equatable {
    package var eventID: UUID
    package var routingKey: String
    package var body: String

    package init(eventID: UUID, routingKey: String, body: String) {
        self.eventID = eventID
        self.routingKey = routingKey
        self.body = body
    }
}

/// One event as a consumer receives it.
package struct Delivery: Sendable {
    package var header: EventHeader
    package var routingKey: String
    package var body: Data
    /// The last event `decode` made, shared by the copies: a batch's preparer and its handler read
    /// the same events.
    private let decoded = DecodedEvent()

    /// The whole event with its payload, decoded once for a payload type asked for again.
    package func decode<Payload: Codable & Sendable>(_ type: Payload.Type) throws -> Event<Payload> {
        if let event = decoded.value.withLock({ $0 }) as? Event<Payload> { return event }
        let event = try JSONDecoder.ecom.decode(Event<Payload>.self, from: body)
        decoded.value.withLock { $0 = event }
        return event
    }
}

/// Where a delivery keeps what it decoded.
private final class DecodedEvent: Sendable {
    let value = Mutex<(any Sendable)?>(nil)
}

extension Delivery {
    /// An event as stored or received: its header read from `body`.
    init(routingKey: String, body: Data) throws {
        self.init(header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: routingKey, body: body)
    }
}

/// Applies one event. It runs inside the transaction that also records the event as processed,
/// so its effect happens exactly once; throwing rolls both back and the delivery is retried.
package typealias EventHandler = @Sendable (_ delivery: Delivery, _ connection: SQLConnection) throws -> Void

/// Runs first in the transaction of a batch of two or more events, with all of them: locks what
/// they will touch in one fixed order, so that two processes applying batches cannot deadlock.
package typealias BatchPreparer = @Sendable (_ deliveries: [Delivery], _ connection: SQLConnection) throws -> Void

/// Applies a batch of two or more events at once, in place of `EventHandler` called on each, in
/// the transaction that marks them processed: for a consumer whose work on many events is one
/// statement. It must do exactly what the handler would do on each, in order.
package typealias BatchHandler = @Sendable (_ deliveries: [Delivery], _ connection: SQLConnection) throws -> Void

/// AMQP topic matching: `*` is one word, `#` is zero or more.
///
/// Every event is matched against each subscriber's patterns, and each stream's, so the common
/// patterns are matched without splitting either side into words: a pattern without wildcards is
/// the key itself, `#` is any key, and `prefix.*` is one word after `prefix.`.
package func routingKey(_ key: String, matches pattern: String) -> Bool {
    let star = UInt8(ascii: "*"), hash = UInt8(ascii: "#"), dot = UInt8(ascii: ".")
    let wildcards = pattern.utf8.lazy.filter { $0 == star || $0 == hash }.count
    if wildcards == 0 { return key == pattern }
    if pattern == "#" { return true }
    if wildcards == 1, pattern.hasSuffix(".*") {
        let prefix = pattern.utf8.dropLast()  // with its dot
        guard key.utf8.starts(with: prefix) else { return false }
        return !key.utf8.dropFirst(prefix.count).contains(dot)
    }
    return routingKeyWords(key, match: pattern)
}

/// AMQP topic matching word by word, for any pattern.
func routingKeyWords(_ key: String, match pattern: String) -> Bool {
    func match(_ key: ArraySlice<Substring>, _ pattern: ArraySlice<Substring>) -> Bool {
        guard let head = pattern.first else { return key.isEmpty }
        if head == "#" {
            return (0...key.count).contains { match(key.dropFirst($0), pattern.dropFirst()) }
        }
        guard let word = key.first, head == "*" || head == word else { return false }
        return match(key.dropFirst(), pattern.dropFirst())
    }
    let keyWords = key.split(separator: ".", omittingEmptySubsequences: false)
    let patternWords = pattern.split(separator: ".", omittingEmptySubsequences: false)
    return match(keyWords[...], patternWords[...])
}
