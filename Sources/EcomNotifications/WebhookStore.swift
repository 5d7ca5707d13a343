import EcomAPI
import EcomMessaging
import EcomPostgres
import EcomServerKit
import Foundation

/// Webhook endpoints and their deliveries in the notifications database.
struct WebhookStore: Sendable {
    let pool: PostgresPool

    static let endpointColumns = "id, url, types, enabled, disabled_reason, failures, created_at, updated_at"

    static func endpoint(_ row: SQLRow, secret: String? = nil) throws -> WebhookEndpoint {
        WebhookEndpoint(
            id: try row.decode("id"), url: try row.decode("url"), types: try SQLTextArray.parse(try row.decode("types")),
            enabled: try row.decode("enabled"), disabledReason: try row.decode("disabled_reason", as: String?.self),
            failures: try row.decode("failures"), secret: secret, createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"))
    }

    func create(url: String, types: [String]) async throws -> WebhookEndpoint {
        let secret = WebhookSignature.newSecret()
        let rows = try await pool.query(
            """
            INSERT INTO webhook_endpoints (id, url, types, type_regex, secret, cursor)
            VALUES (
                \(UUID.random()), \(url), \(SQLArray(types))::text[], \(EventTypePattern.regex(types)), \(secret),
                (SELECT COALESCE(max(seq), 0) FROM event_log))
            RETURNING \(unescaped: Self.endpointColumns)
            """)
        return try Self.endpoint(rows[0], secret: secret)
    }

    func list() async throws -> [WebhookEndpoint] {
        try await pool.query("SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints ORDER BY created_at, id").map { try Self.endpoint($0) }
    }

    func find(_ id: UUID) async throws -> WebhookEndpoint? {
        try await pool.query("SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE id = \(id)").first.map { try Self.endpoint($0) }
    }

    /// Changes what is given; enabling again clears the failures and the reason. A disabled
    /// endpoint's cursor stays where it stopped, so enabling it sends what was logged meanwhile
    /// (within the log's retention), in order.
    func update(_ id: UUID, _ changes: WebhookUpdate) async throws -> WebhookEndpoint? {
        let types = changes.types
        let rows = try await pool.query(
            """
            UPDATE webhook_endpoints SET
                url = COALESCE(\(changes.url), url),
                types = COALESCE(\(types.map(SQLArray.init))::text[], types),
                type_regex = COALESCE(\(types.map(EventTypePattern.regex)), type_regex),
                enabled = COALESCE(\(changes.enabled)::boolean, enabled),
                failures = CASE WHEN \(changes.enabled)::boolean THEN 0 ELSE failures END,
                disabled_reason = CASE WHEN \(changes.enabled)::boolean IS NOT NULL THEN NULL ELSE disabled_reason END,
                updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: Self.endpointColumns)
            """)
        return try rows.first.map { try Self.endpoint($0) }
    }

    func delete(_ id: UUID) async throws -> Bool {
        try await pool.execute("DELETE FROM webhook_endpoints WHERE id = \(id)") > 0
    }

    /// A new secret; the one it replaces still signs deliveries for `grace`.
    func rotateSecret(_ id: UUID, grace: Duration) async throws -> WebhookEndpoint? {
        let secret = WebhookSignature.newSecret()
        let rows = try await pool.query(
            """
            UPDATE webhook_endpoints SET previous_secret = secret, secret = \(secret),
                previous_secret_expires_at = now() + make_interval(secs => \(Int(grace.components.seconds))::double precision),
                updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: Self.endpointColumns)
            """)
        return try rows.first.map { try Self.endpoint($0, secret: secret) }
    }

    /// Queues a `webhook.test` event for the endpoint, ahead of its other deliveries.
    func queueTest(_ id: UUID) async throws -> WebhookDelivery? {
        let event = Event(type: WebhookEvents.test, requestID: nil, data: ["endpoint_id": id.lowercased])
        let body = String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self)
        let rows = try await pool.query(
            """
            INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, type, body)
            SELECT id, 0, \(event.id), \(event.type), \(body) FROM webhook_endpoints WHERE id = \(id)
            RETURNING \(unescaped: Self.deliveryColumns)
            """)
        return try rows.first.map(Self.delivery)
    }

    static let deliveryColumns =
        "id, event_id, type, state, attempts, last_status, last_error, last_duration_ms, next_attempt_at, created_at, delivered_at"

    static func delivery(_ row: SQLRow) throws -> WebhookDelivery {
        let state: String = try row.decode("state")
        return WebhookDelivery(
            id: try row.decode("id"), eventID: try row.decode("event_id"), type: try row.decode("type"), state: state,
            attempts: try row.decode("attempts"), lastStatus: try row.decode("last_status", as: Int?.self),
            lastError: try row.decode("last_error", as: String?.self), lastDurationMs: try row.decode("last_duration_ms", as: Int?.self),
            nextAttemptAt: state == "pending" ? try row.decode("next_attempt_at", as: Date?.self) : nil,
            createdAt: try row.decode("created_at"), deliveredAt: try row.decode("delivered_at", as: Date?.self))
    }

    /// A page of the endpoint's deliveries, newest first, after the one `after` names (its
    /// `created_at` as PostgreSQL prints it, and its event id).
    func deliveries(of id: UUID, after: (timestamp: String, id: UUID)?, limit: Int) async throws -> Page<WebhookDelivery> {
        var query: SQLQuery =
            "SELECT \(unescaped: Self.deliveryColumns), created_at::text AS created_key FROM webhook_deliveries WHERE endpoint_id = \(id)"
        if let after { query.append(" AND (created_at, event_id) < (\(after.timestamp)::timestamptz, \(after.id))") }
        query.append(" ORDER BY created_at DESC, event_id DESC LIMIT \(limit + 1)")
        let rows = try await pool.query(query)
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = Cursor.encode(timestamp: try last.decode("created_key"), id: try last.decode("event_id"))
        }
        return Page(items: try rows.prefix(limit).map(Self.delivery), nextCursor: next)
    }

    /// Drops deliveries that ended (delivered or given up) longer ago than `retention`.
    func purge(olderThan retention: Duration) async throws -> Int {
        try await pool.execute(
            """
            DELETE FROM webhook_deliveries WHERE state <> 'pending'
                AND created_at < now() - make_interval(secs => \(Int(retention.components.seconds))::double precision)
            """)
    }
}

/// The notifications service's own event types.
enum WebhookEvents {
    static let test = "webhook.test"
    static let disabled = "webhook.disabled"
}

/// Reading PostgreSQL's text form of a `text[]` of simple words (`{order.*,stock.#}`).
enum SQLTextArray {
    static func parse(_ text: String) throws -> [String] {
        guard text.hasPrefix("{"), text.hasSuffix("}") else { throw SQLDecodingError(message: "not an array: \(text)") }
        let inner = text.dropFirst().dropLast()
        guard !inner.isEmpty else { return [] }
        return inner.split(separator: ",").map { $0.hasPrefix("\"") && $0.hasSuffix("\"") ? String($0.dropFirst().dropLast()) : String($0) }
    }
}
