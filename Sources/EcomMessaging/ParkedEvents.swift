import EcomAPI
import EcomPostgres
import EcomServerKit
import Foundation
import Hummingbird
import Logging

extension EventBus {
    /// `GET /admin/events/<service>` lists parked deliveries; `POST /admin/events/<service>/{id}/retry`
    /// puts one back in line with a fresh attempt count.
    package func addAdminRoutes(to router: Router<EcomRequestContext>) {
        router.get("/admin/events/\(service)") { [self] request, context -> Page<ParkedEvent> in
            _ = try context.requireAdmin()
            let limit = try request.pageLimit()
            let after = try request.queryString("cursor").map(Cursor.decodeTimestampKey)
            return try await parked(limit: limit, after: after.map { ($0.timestamp, $0.id) })
        }
        router.post("/admin/events/\(service)/:id/retry") { [self] _, context -> Response in
            _ = try context.requireAdmin()
            let id = try context.uuidParameter()
            let retried = try await pool.execute(
                """
                UPDATE inbox SET parked_at = NULL, attempts = 0, last_error = NULL, next_attempt_at = clock_timestamp()
                WHERE event_id = \(id) AND parked_at IS NOT NULL
                """)
            guard retried == 1 else { throw APIError.notFound("parked event") }
            context.logger.notice("parked event retried", metadata: ["event_id": "\(id.lowercased)"])
            inboxBell.ring()
            return Response(status: .noContent)
        }
    }

    func parked(limit: Int, after: (String, UUID)?) async throws -> Page<ParkedEvent> {
        let select = """
            SELECT event_id, routing_key, attempts, last_error, parked_at, parked_at::text AS parked_key, body FROM inbox
            """
        let rows: [SQLRow]
        if let after {
            rows = try await pool.query(
                "\(unescaped: select) WHERE parked_at IS NOT NULL AND (parked_at, event_id) > (\(after.0)::timestamptz, \(after.1)) ORDER BY parked_at, event_id LIMIT \(limit + 1)")
        } else {
            rows = try await pool.query(
                "\(unescaped: select) WHERE parked_at IS NOT NULL ORDER BY parked_at, event_id LIMIT \(limit + 1)")
        }
        let events = try rows.prefix(limit).map { row in
            ParkedEvent(
                id: try row.decode("event_id"), service: service, type: try row.decode("routing_key"),
                attempts: try row.decode("attempts"), lastError: try row.decode("last_error", as: String?.self),
                parkedAt: try row.decode("parked_at", as: Date?.self), body: try row.decode("body"))
        }
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = Cursor.encode(timestamp: try last.decode("parked_key"), id: try last.decode("event_id"))
        }
        return Page(items: events, nextCursor: next)
    }
}

