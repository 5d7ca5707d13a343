import AsyncHTTPClient
import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Delivers queued webhook events: each endpoint's in the order they were logged, one at a time,
/// and every endpoint on its own, so a slow, hanging or failing endpoint holds back only itself,
/// never the store or the other endpoints.
///
/// A delivery is a POST of the event's JSON, signed (`WebhookSignature`), that must answer 2xx
/// within the timeout; redirects are not followed. A failure is retried after a wait that doubles
/// from `firstRetry` up to `maximumRetry`, for up to `giveUpAfter`, after which the delivery is
/// given up (`failed`) and the next one goes. `disableAfter` failed attempts in a row disable the
/// endpoint and announce `webhook.disabled`. Deliveries are rows: one whose answer a crash cut
/// off is sent again (at least once; `Ecom-Event-Id` lets a receiver drop the repeat).
final class WebhookDispatcher: Service, Sendable {
    struct Settings: Sendable {
        var timeout: Duration = .seconds(10)
        var firstRetry: Duration = .seconds(60)
        var maximumRetry: Duration = .seconds(6 * 3600)
        var giveUpAfter: Duration = .seconds(3 * 24 * 3600)
        var disableAfter = 20
        /// Allows `http://` endpoints and private, loopback and link-local addresses.
        var allowInsecure = false
        /// Endpoints delivered to at once.
        var concurrency = 32
    }

    let pool: PostgresPool
    let settings: Settings
    let client: HTTPClient
    let logger: Logger
    /// Called after a commit that wrote an event to the outbox (`webhook.disabled`).
    let outboxChanged: @Sendable () -> Void
    private let busy = Mutex<Set<UUID>>([])
    private let bell: AsyncStream<Void>.Continuation
    private let rings: AsyncStream<Void>

    init(pool: PostgresPool, settings: Settings, client: HTTPClient, logger: Logger, outboxChanged: @escaping @Sendable () -> Void) {
        self.pool = pool
        self.settings = settings
        self.client = client
        self.logger = logger
        self.outboxChanged = outboxChanged
        (rings, bell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Call after a commit that queued deliveries.
    func deliveriesQueued() {
        bell.yield()
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { [bell] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        bell.yield()
                    }
                }
                for await _ in rings {
                    let due: [UUID]
                    do {
                        due = try await dueEndpoints()
                    } catch {
                        logger.debug("reading due webhook deliveries failed; will retry", metadata: ["error": "\(error)"])
                        continue
                    }
                    for endpoint in due where claim(endpoint) {
                        group.addTask { [self] in
                            await drain(endpoint)
                            _ = busy.withLock { $0.remove(endpoint) }
                        }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [bell] in
            bell.finish()
        }
    }

    private func claim(_ endpoint: UUID) -> Bool {
        busy.withLock { busy in
            guard busy.count < settings.concurrency else { return false }
            return busy.insert(endpoint).inserted
        }
    }

    /// Enabled endpoints with a delivery due now.
    private func dueEndpoints() async throws -> [UUID] {
        try await pool.query(
            """
            SELECT DISTINCT d.endpoint_id FROM webhook_deliveries AS d JOIN webhook_endpoints AS e ON e.id = d.endpoint_id
            WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND e.enabled
                AND (e.leased_until IS NULL OR e.leased_until < now())
            """
        ).map { try $0.decode("endpoint_id") }
    }

    /// What a delivery needs of its endpoint, leased to this dispatcher.
    private struct Target {
        var url: String
        var secrets: [String]
    }

    /// Delivers the endpoint's due deliveries in order, until one must wait or none is left.
    private func drain(_ endpoint: UUID) async {
        do {
            guard var target = try await lease(endpoint) else { return }
            defer { Task { [pool] in _ = try? await pool.execute("UPDATE webhook_endpoints SET leased_until = NULL WHERE id = \(endpoint)") } }
            while !Task.isCancelled {
                let rows = try await pool.query(
                    """
                    SELECT id, event_id, type, body, attempts, created_at, next_attempt_at <= now() AS due FROM webhook_deliveries
                    WHERE endpoint_id = \(endpoint) AND state = 'pending' ORDER BY event_seq, id LIMIT 1
                    """)
                guard let row = rows.first, try row.decode("due", as: Bool.self) else { return }
                let attempt = await send(
                    body: try row.decode("body"), eventID: try row.decode("event_id"), type: try row.decode("type"), to: target)
                let keepsGoing = try await record(
                    attempt, delivery: try row.decode("id"), attempts: try row.decode("attempts", as: Int.self) + 1,
                    createdAt: try row.decode("created_at"), endpoint: endpoint)
                guard keepsGoing else { return }
                guard let renewed = try await lease(endpoint, renewing: true) else { return }
                target = renewed
            }
        } catch {
            logger.debug("webhook delivery interrupted; will retry", metadata: ["endpoint": "\(endpoint.lowercased)", "error": "\(error)"])
        }
    }

    /// Takes (or renews) the endpoint's lease for a minute, so that one dispatcher delivers to it.
    private func lease(_ endpoint: UUID, renewing: Bool = false) async throws -> Target? {
        let free: SQLQuery = renewing ? "true" : "(leased_until IS NULL OR leased_until < now())"
        var query: SQLQuery = "UPDATE webhook_endpoints SET leased_until = now() + interval '60 seconds' WHERE id = \(endpoint) AND enabled AND "
        query.append(free)
        query.append(" RETURNING url, secret, CASE WHEN previous_secret_expires_at > now() THEN previous_secret END AS previous")
        guard let row = try await pool.query(query).first else { return nil }
        let previous = try row.decode("previous", as: String?.self)
        return Target(url: try row.decode("url"), secrets: [try row.decode("secret")] + (previous.map { [$0] } ?? []))
    }

    /// One attempt's outcome.
    struct Attempt: Sendable {
        var status: Int?
        var error: String?
        var duration: Duration

        var succeeded: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    private func send(body: String, eventID: UUID, type: String, to target: Target) async -> Attempt {
        let start = ContinuousClock.now
        if let refusal = await WebhookAddressPolicy.refusal(of: target.url, allowInsecure: settings.allowInsecure) {
            return Attempt(status: nil, error: refusal, duration: ContinuousClock.now - start)
        }
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ecom-webhooks")
        request.headers.add(name: WebhookSignature.eventIDHeader, value: eventID.lowercased)
        request.headers.add(name: WebhookSignature.eventTypeHeader, value: type)
        request.headers.add(
            name: WebhookSignature.header,
            value: WebhookSignature.value(secrets: target.secrets, timestamp: Int(Date().timeIntervalSince1970), body: body))
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: TimeAmount(settings.timeout))
            // What the receiver says is not kept; reading a little of it lets the connection be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return Attempt(status: Int(response.status.code), error: nil, duration: ContinuousClock.now - start)
        } catch {
            let reason = (error as? HTTPClientError).map { $0 == .deadlineExceeded ? "timed out" : "\($0)" } ?? "\(error)"
            return Attempt(status: nil, error: reason, duration: ContinuousClock.now - start)
        }
    }

    /// Records an attempt; false when the endpoint is to wait (a failure) or was disabled.
    private func record(_ attempt: Attempt, delivery: Int64, attempts: Int, createdAt: Date, endpoint: UUID) async throws -> Bool {
        let milliseconds = Int(attempt.duration.components.seconds * 1000 + attempt.duration.components.attoseconds / 1_000_000_000_000_000)
        let error = attempt.error ?? (attempt.succeeded ? nil : "answered \(attempt.status ?? 0)")
        let settings = settings
        let disabled = try await pool.transaction { connection -> Bool in
            try connection.execute(
                """
                INSERT INTO webhook_attempts (delivery_id, status, error, duration_ms)
                VALUES (\(delivery), \(attempt.status), \(error), \(milliseconds))
                """)
            if attempt.succeeded {
                try connection.execute(
                    """
                    WITH delivered AS (
                        UPDATE webhook_deliveries SET state = 'delivered', attempts = \(attempts), last_status = \(attempt.status),
                            last_error = NULL, last_duration_ms = \(milliseconds), delivered_at = now()
                        WHERE id = \(delivery))
                    UPDATE webhook_endpoints SET failures = 0 WHERE id = \(endpoint)
                    """)
                return false
            }
            let wait = Backoff.delay(after: attempts, first: settings.firstRetry, maximum: settings.maximumRetry)
            let next = Date().addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
            let givesUp = next > createdAt.addingTimeInterval(Double(settings.giveUpAfter.components.seconds))
            try connection.execute(
                """
                UPDATE webhook_deliveries SET attempts = \(attempts), last_status = \(attempt.status), last_error = \(error),
                    last_duration_ms = \(milliseconds), next_attempt_at = \(next), state = \(givesUp ? "failed" : "pending")
                WHERE id = \(delivery)
                """)
            let rows = try connection.query(
                """
                UPDATE webhook_endpoints SET failures = failures + 1,
                    enabled = enabled AND failures + 1 < \(settings.disableAfter),
                    disabled_reason = CASE WHEN failures + 1 >= \(settings.disableAfter) AND enabled
                        THEN (failures + 1) || ' failed attempts in a row' ELSE disabled_reason END,
                    updated_at = now()
                WHERE id = \(endpoint) RETURNING url, failures, enabled, disabled_reason
                """)
            guard let row = rows.first, !(try row.decode("enabled", as: Bool.self)), try row.decode("failures", as: Int.self) == settings.disableAfter
            else { return false }
            let event = Event(
                type: WebhookEvents.disabled, requestID: nil,
                data: WebhookDisabled(
                    endpointID: endpoint, url: try row.decode("url"), failures: try row.decode("failures"),
                    reason: try row.decode("disabled_reason", as: String?.self) ?? "failed attempts"))
            try Outbox.enqueue(event, on: connection)
            return true
        }
        if disabled {
            outboxChanged()
            logger.warning("webhook endpoint disabled after failed deliveries", metadata: ["endpoint": "\(endpoint.lowercased)"])
        }
        return attempt.succeeded
    }
}
