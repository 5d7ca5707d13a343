import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import NIOCore

/// One event of the log, as the streams serve it.
package struct LoggedEvent: Sendable, Equatable {
    /// Its place in the log: the stream's event id, which `Last-Event-ID` resumes after.
    package var seq: Int64
    package var type: String
    package var orderID: UUID?
    /// The buyer of the order the event is about; only order events have one.
    package var userID: UUID?
    /// The event as a text/event-stream message, `id: <seq>`, `event: <type>` and `data: <the
    /// event's JSON envelope as its service published it>`: made once, however many streams send it.
    /// The envelope is one line of JSON, which has no raw line breaks, so it is one `data:` line.
    package var message: ByteBuffer

    package init(seq: Int64, type: String, orderID: UUID?, userID: UUID?, body: String) {
        self.seq = seq
        self.type = type
        self.orderID = orderID
        self.userID = userID
        var message = ByteBuffer()
        message.reserveCapacity(body.utf8.count + type.utf8.count + 32)
        message.writeString("id: \(seq)\nevent: \(type)\ndata: ")
        message.writeString(body)
        message.writeString("\n\n")
        self.message = message
    }
}

/// The notifications service's event log: every store event, kept for a retention period.
struct EventLog: Sendable {
    let pool: PostgresPool

    /// The advisory lock that `append` holds until commit, so that seq follows commit order.
    static let appendLock: Int64 = 0x6563_6f6d_6c6f_67  // "ecomlog"

    /// What the log reads of an event's payload: the order it is about and its buyer, when named.
    private struct References: Codable, Sendable {
        var orderID: UUID?
        var userID: UUID?

        enum CodingKeys: String, CodingKey {
            case orderID = "order_id"
            case userID = "user_id"
        }
    }

    /// The inbox's handler, for one event or a batch: logs each event once, in order, with the
    /// order it is about and, for an order's events, its buyer (named by `order.created`, and
    /// remembered for the order's later events), in one statement. A redelivered event is not
    /// logged again. Webhook deliveries are read from the log by their dispatcher.
    static func append(_ deliveries: [Delivery], on connection: SQLConnection) throws {
        guard !deliveries.isEmpty else { return }
        let references = deliveries.map { delivery in
            (try? JSONDecoder.ecom.decode(Event<References>.self, from: delivery.body))?.data
        }
        let headers = deliveries.map(\.header)
        try connection.execute(
            """
            WITH serial AS (SELECT pg_advisory_xact_lock(\(appendLock))),
            incoming AS (
                SELECT * FROM unnest(
                    \(SQLArray(headers.map(\.id)))::uuid[], \(SQLArray(headers.map(\.type)))::text[],
                    \(SQLArray(references.map { $0?.orderID }))::uuid[], \(SQLArray(references.map { $0?.userID }))::uuid[],
                    \(SQLArray(headers.map(\.occurredAt)))::timestamptz[],
                    \(SQLArray(deliveries.map { String(decoding: $0.body, as: UTF8.self) }))::text[]
                ) WITH ORDINALITY AS e (event_id, type, order_id, user_id, occurred_at, body, position)),
            named AS (
                INSERT INTO order_owners (order_id, user_id)
                SELECT DISTINCT ON (order_id) order_id, user_id FROM incoming
                WHERE type LIKE 'order.%' AND order_id IS NOT NULL AND user_id IS NOT NULL
                ON CONFLICT (order_id) DO NOTHING
                RETURNING order_id, user_id)
            INSERT INTO event_log (event_id, type, order_id, occurred_at, body, user_id)
            SELECT i.event_id, i.type, i.order_id, i.occurred_at, i.body,
                CASE WHEN i.type LIKE 'order.%' THEN COALESCE(i.user_id, known.user_id, named.user_id) END
            FROM incoming AS i CROSS JOIN serial
            LEFT JOIN order_owners AS known ON known.order_id = i.order_id
            LEFT JOIN named ON named.order_id = i.order_id
            ORDER BY i.position
            ON CONFLICT (event_id) DO NOTHING
            """)
    }

    /// The last seq logged, 0 for an empty log.
    func head() async throws -> Int64 {
        try await pool.query("SELECT COALESCE(max(seq), 0) AS head FROM event_log")[0].decode("head")
    }

    /// Up to `limit` events after `seq`, oldest first: all of them, or those of `userID`'s orders,
    /// or of one order.
    func events(after seq: Int64, userID: UUID? = nil, orderID: UUID? = nil, limit: Int) async throws -> [LoggedEvent] {
        var query: SQLQuery = "SELECT seq, type, order_id, user_id, body FROM event_log WHERE seq > \(seq)"
        if let userID { query.append(" AND user_id = \(userID)") }
        if let orderID { query.append(" AND order_id = \(orderID)") }
        query.append(" ORDER BY seq LIMIT \(limit)")
        return try await pool.query(query).map { row in
            LoggedEvent(
                seq: try row.decode("seq"), type: try row.decode("type"), orderID: try row.decode("order_id", as: UUID?.self),
                userID: try row.decode("user_id", as: UUID?.self), body: try row.decode("body"))
        }
    }

    /// Drops events logged longer ago than `retention`; returns how many.
    func purge(olderThan retention: Duration) async throws -> Int {
        try await pool.execute(
            "DELETE FROM event_log WHERE logged_at < now() - make_interval(secs => \(Int(retention.components.seconds))::double precision)")
    }
}
