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

/// Delivers webhook events: each endpoint's in the order they were logged, one at a time, and
/// every endpoint on its own, so a slow, hanging or failing endpoint holds back only itself,
/// never the store or the other endpoints. The dispatcher reads an endpoint's events from the
/// event log past its cursor, a batch at a time, so that logging an event costs the same whatever
/// the number of endpoints; a delivery's row is written once it has been attempted (delivered, or
/// pending its retry), and the cursor moves past it in the same transaction.
///
/// A delivery is a POST of the event's JSON, signed (`WebhookSignature`), that must answer 2xx
/// within the timeout; redirects are not followed. A failure is retried after a wait that doubles
/// from `firstRetry` up to `maximumRetry`, for up to `giveUpAfter`, after which the delivery is
/// given up (`failed`) and the next one goes. `disableAfter` failed attempts in a row disable the
/// endpoint and announce `webhook.disabled`. A delivery whose outcome a crash kept from being
/// written is sent again (at least once; `Ecom-Event-Id` lets a receiver drop the repeat).
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
        /// The least time between two looks for due endpoints: events logged meanwhile go out in one
        /// batch per endpoint rather than one batch per commit that logged them, each batch costing
        /// its endpoint a lease, reads of its pending deliveries and of the log, and a write.
        var pause = Duration.milliseconds(100)
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

    /// Call after a commit that queued deliveries, or made or changed an endpoint.
    func deliveriesQueued() {
        endpointsEnabled.store(true, ordering: .relaxed)
        bell.yield()
    }

    /// Call after a commit that logged events: they are looked for at once if an endpoint is enabled,
    /// else at the next scan (each second), which also notices an endpoint another process made. A
    /// store without endpoints pays no statement per logged batch.
    func logAppended() {
        if endpointsEnabled.load(ordering: .relaxed) { bell.yield() }
    }

    /// Whether the last scan found an enabled endpoint (or one was made or changed here since).
    private let endpointsEnabled = Atomic(true)

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
                    // Rings that come meanwhile wait as one. An endpoint still draining when they
                    // are answered reads the log again before it stops, so it misses none.
                    try? await Task.sleep(for: settings.pause)
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

    /// Enabled, unleased endpoints with events logged past their cursor, or whose next delivery
    /// is due now. Only each endpoint's first pending delivery is looked at (one index probe
    /// each), as deliveries go in order: a backlog of thousands costs no more than one. Notes
    /// whether any endpoint is enabled at all (`logAppended`).
    private func dueEndpoints() async throws -> [UUID] {
        let rows = try await pool.query(
            """
            SELECT e.id, (e.leased_until IS NULL OR e.leased_until < now())
                AND (e.cursor < (SELECT COALESCE(max(seq), 0) FROM event_log)
                    OR (SELECT d.next_attempt_at <= now() FROM webhook_deliveries AS d
                        WHERE d.endpoint_id = e.id AND d.state = 'pending' ORDER BY d.event_seq, d.id LIMIT 1)) IS TRUE AS due
            FROM webhook_endpoints AS e WHERE e.enabled
            """)
        endpointsEnabled.store(!rows.isEmpty, ordering: .relaxed)
        return try rows.filter { try $0.decode("due", as: Bool.self) }.map { try $0.decode("id") }
    }

    /// Why a delivery whose event the log no longer keeps is given up.
    static let pastRetention = "the event is past the event log's retention"

    /// Events read from the log past an endpoint's cursor at a time.
    static let scanSize = 200

    /// The next logged events the endpoint wants, up to a batch, past its cursor, with their
    /// bodies, and how far the log was read (`through`, nil when the cursor was at its head). Only
    /// a read: what is sent of them is written down by `record`, which moves the cursor. The limits
    /// are part of the statement's text: as parameters, PostgreSQL's generic plan would assume a
    /// tenth of the log and never look cheaper than a plan made for the values, so every call
    /// would be planned again.
    private func fresh(_ endpoint: UUID) async throws -> (batch: [Due], through: Int64?) {
        let rows = try await pool.query(
            """
            WITH scanned AS (
                SELECT l.seq, l.event_id, l.type, l.body FROM event_log AS l
                WHERE l.seq > (SELECT cursor FROM webhook_endpoints WHERE id = \(endpoint))
                ORDER BY l.seq LIMIT \(unescaped: "\(Self.scanSize)"))
            SELECT w.seq, w.event_id, w.type, w.body, t.through
            FROM (SELECT max(seq) AS through FROM scanned) AS t
            LEFT JOIN (
                SELECT s.* FROM scanned AS s JOIN webhook_endpoints AS e ON e.id = \(endpoint) AND '.' || s.type ~ e.type_regex
                ORDER BY s.seq LIMIT \(unescaped: "\(Self.batchSize)")) AS w ON true
            ORDER BY w.seq
            """)
        guard let first = rows.first else { return ([], nil) }
        let through = try first.decode("through", as: Int64?.self)
        var batch: [Due] = []
        for row in rows {
            guard let seq = try row.decode("seq", as: Int64?.self) else { continue }
            batch.append(
                Due(
                    id: nil, seq: seq, eventID: try row.decode("event_id"), type: try row.decode("type"),
                    body: try row.decode("body", as: String?.self), attempts: 0, createdAt: Date()))
        }
        return (batch, through)
    }

    /// What a delivery needs of its endpoint, leased to this dispatcher.
    private struct Target {
        var url: String
        var secrets: [String]
    }

    /// Deliveries sent one after another before their outcomes are written down together.
    static let batchSize = 50

    /// A delivery due now: a pending row's, or (`id` nil) a logged event's first.
    private struct Due {
        var id: Int64?
        var seq: Int64
        var eventID: UUID
        var type: String
        /// The event's JSON, from the log (nil once the log no longer has it) or, for a test, its own.
        var body: String?
        /// Attempts before this one.
        var attempts: Int
        var createdAt: Date
    }

    /// Delivers the endpoint's due deliveries in order, until one must wait or none is left.
    private func drain(_ endpoint: UUID) async {
        do {
            guard var target = try await lease(endpoint) else { return }
            defer { Task { [pool] in _ = try? await pool.execute("UPDATE webhook_endpoints SET leased_until = NULL WHERE id = \(endpoint)") } }
            while !Task.isCancelled {
                let (pending, waiting) = try await due(endpoint)
                var batch = pending
                // The log past the cursor is read once no delivery is pending: during a burst the
                // backlog stays there, and a row is written for a delivery once it was attempted.
                var through: Int64?
                if batch.isEmpty {
                    guard !waiting else { return }
                    (batch, through) = try await fresh(endpoint)
                    guard through != nil else { return }
                }
                var sent: [(delivery: Due, attempt: Attempt)] = []
                // The lease lasts a minute from the last write: a slow endpoint's batch stops at
                // half of it, so that no other dispatcher takes the endpoint meanwhile.
                let leased = ContinuousClock.now
                // The URL's addresses are checked once a batch: resolving the name costs a thread
                // and a lookup, which a delivery to a receiver on the same network would double.
                let refusal = await WebhookAddressPolicy.refusal(of: target.url, allowInsecure: settings.allowInsecure)
                for delivery in batch {
                    let attempt: Attempt
                    if let refusal {
                        attempt = Attempt(status: nil, error: refusal, duration: ContinuousClock.now - leased)
                    } else if let body = delivery.body {
                        attempt = await send(body: body, eventID: delivery.eventID, type: delivery.type, to: target)
                    } else {
                        attempt = Attempt(status: nil, error: Self.pastRetention, duration: .zero)
                    }
                    sent.append((delivery, attempt))
                    guard attempt.succeeded, !Task.isCancelled, ContinuousClock.now - leased < .seconds(30) else { break }
                }
                // Past what was attempted; past the whole read when every event it wanted went out.
                let cursor = through.map { through in
                    sent.count == batch.count && batch.count < Self.batchSize && sent.last?.attempt.succeeded != false
                        ? through : sent.last?.delivery.seq ?? through
                }
                guard let renewed = try await record(sent, endpoint: endpoint, cursor: cursor) else { return }
                target = renewed
            }
        } catch {
            logger.debug("webhook delivery interrupted; will retry", metadata: ["endpoint": "\(endpoint.lowercased)", "error": "\(error)"])
        }
    }

    /// The endpoint's next pending deliveries, in order, as far as they are due: one that waits
    /// for its retry holds back those after it (`waiting`).
    private func due(_ endpoint: UUID) async throws -> (batch: [Due], waiting: Bool) {
        let rows = try await pool.query(
            """
            SELECT d.id, d.event_seq, d.event_id, d.type, COALESCE(d.body, l.body) AS body, d.attempts, d.created_at,
                d.next_attempt_at <= now() AS due
            FROM webhook_deliveries AS d LEFT JOIN event_log AS l ON d.body IS NULL AND l.seq = d.event_seq
            WHERE d.endpoint_id = \(endpoint) AND d.state = 'pending' ORDER BY d.event_seq, d.id LIMIT \(Self.batchSize)
            """)
        var batch: [Due] = []
        for row in rows {
            guard try row.decode("due", as: Bool.self) else { return (batch, true) }
            batch.append(
                Due(
                    id: try row.decode("id"), seq: try row.decode("event_seq"), eventID: try row.decode("event_id"), type: try row.decode("type"), body: try row.decode("body", as: String?.self),
                    attempts: try row.decode("attempts"), createdAt: try row.decode("created_at")))
        }
        return (batch, false)
    }

    /// Takes the endpoint's lease for a minute (`record` renews it), so that one dispatcher delivers to it.
    private func lease(_ endpoint: UUID) async throws -> Target? {
        let query: SQLQuery = """
            UPDATE webhook_endpoints SET leased_until = now() + interval '60 seconds'
            WHERE id = \(endpoint) AND enabled AND (leased_until IS NULL OR leased_until < now())
            RETURNING url, secret, CASE WHEN previous_secret_expires_at > now() THEN previous_secret END AS previous
            """
        // Committed without waiting for the disk, as `record`'s renewals are. A crash of this process
        // that undoes it leaves no dispatcher to hold it; a crash of PostgreSQL that undoes it (or a
        // renewal) may let another process's dispatcher take the endpoint while this one still
        // sends, which at-least-once delivery allows: receivers drop repeats by `Ecom-Event-Id`.
        return try await pool.queryCommittingLazily(query).first.map(Self.target)
    }

    private static func target(_ row: SQLRow) throws -> Target {
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

    /// POSTs one delivery; its URL was checked against the address policy for this batch.
    private func send(body: String, eventID: UUID, type: String, to target: Target) async -> Attempt {
        let start = ContinuousClock.now
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

    /// Records a batch's attempts: every one but perhaps the last succeeded. Each delivery's row
    /// keeps its last attempt (status, error, duration); `webhook_attempts` keeps the failed ones,
    /// so that a delivery that needed retries shows why. A batch of first attempts (`cursor` set)
    /// writes their rows, delivered or pending the retry, and moves the endpoint's cursor to
    /// `cursor`. Returns the endpoint, its lease renewed, to go on with; nil when it is to wait
    /// (the last attempt failed) or was disabled.
    ///
    /// The commit does not wait for the disk: a crash can forget that a delivery was made, and it
    /// is then made again, which at-least-once delivery allows (`Ecom-Event-Id` names the repeat);
    /// what is written stays consistent, as it is one transaction.
    private func record(_ sent: [(delivery: Due, attempt: Attempt)], endpoint: UUID, cursor: Int64?) async throws -> Target? {
        let settings = settings
        let milliseconds = sent.map { Self.milliseconds($0.attempt.duration) }
        let errors = sent.map { $0.attempt.error ?? ($0.attempt.succeeded ? nil : "answered \($0.attempt.status ?? 0)") }
        let delivered = sent.indices.filter { sent[$0].attempt.succeeded }
        let retry = sent.last.flatMap { last -> (attempts: Int, next: Date, givesUp: Bool)? in
            guard !last.attempt.succeeded else { return nil }
            let attempts = last.delivery.attempts + 1
            let wait = Backoff.delay(after: attempts, first: settings.firstRetry, maximum: settings.maximumRetry)
            let next = Date().addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
            let givesUp =
                next > last.delivery.createdAt.addingTimeInterval(Double(settings.giveUpAfter.components.seconds))
                || last.delivery.body == nil
            return (attempts, next, givesUp)
        }
        // The delivered rows: updated, or written for the first time; a prefix of the endpoint's update.
        let rows: SQLQuery =
            if delivered.isEmpty {
                ""
            } else if cursor == nil {
                """
                WITH delivered AS (
                    UPDATE webhook_deliveries AS d SET state = 'delivered', attempts = u.attempts, last_status = u.status,
                        last_error = NULL, last_duration_ms = u.duration_ms, delivered_at = now()
                    FROM unnest(
                        \(SQLArray(delivered.map { sent[$0].delivery.id }))::bigint[],
                        \(SQLArray(delivered.map { sent[$0].delivery.attempts + 1 }))::integer[],
                        \(SQLArray(delivered.map { sent[$0].attempt.status }))::integer[],
                        \(SQLArray(delivered.map { milliseconds[$0] }))::integer[]) AS u (id, attempts, status, duration_ms)
                    WHERE d.id = u.id)\n
                """
            } else {
                """
                WITH delivered AS (
                    INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, type, state, attempts, last_status, last_duration_ms, delivered_at)
                    SELECT \(endpoint), u.seq, u.event_id, u.type, 'delivered', 1, u.status, u.duration_ms, now()
                    FROM unnest(
                        \(SQLArray(delivered.map { sent[$0].delivery.seq }))::bigint[],
                        \(SQLArray(delivered.map { sent[$0].delivery.eventID }))::uuid[],
                        \(SQLArray(delivered.map { sent[$0].delivery.type }))::text[],
                        \(SQLArray(delivered.map { sent[$0].attempt.status }))::integer[],
                        \(SQLArray(delivered.map { milliseconds[$0] }))::integer[]) AS u (seq, event_id, type, status, duration_ms)
                    ON CONFLICT (endpoint_id, event_id) DO NOTHING)\n
                """
            }
        // Failures in a row before this batch's last attempt: a delivery made resets them.
        let failures: SQLQuery = delivered.isEmpty ? "failures" : "0"
        // Past a batch of first attempts; never back.
        let advance: SQLQuery = "cursor = GREATEST(cursor, COALESCE(\(cursor)::bigint, cursor))"
        let (target, disabled) = try await pool.transaction { [rows] connection -> (Target?, Bool) in
            try connection.commitWithoutWaitingForDisk()
            guard let last = sent.last, let retry else {
                // Every attempt succeeded: the rows, the cursor, the failures and the lease in one
                // statement. The cursor moves past what was sent even if the endpoint was disabled
                // meanwhile, so that enabling it again does not send those events twice.
                let renewed = try connection.query(
                    """
                    \(rows)UPDATE webhook_endpoints SET failures = \(failures), \(advance),
                        leased_until = CASE WHEN enabled THEN now() + interval '60 seconds' ELSE leased_until END
                    WHERE id = \(endpoint)
                    RETURNING enabled, url, secret, CASE WHEN previous_secret_expires_at > now() THEN previous_secret END AS previous
                    """)
                guard let row = renewed.first, try row.decode("enabled", as: Bool.self) else { return (nil, false) }
                return (try Self.target(row), false)
            }
            let state = retry.givesUp ? "failed" : "pending"
            let failed: Int64?
            if let id = last.delivery.id {
                try connection.execute(
                    """
                    UPDATE webhook_deliveries SET attempts = \(retry.attempts), last_status = \(last.attempt.status), last_error = \(errors.last!),
                        last_duration_ms = \(milliseconds.last!), next_attempt_at = \(retry.next), state = \(state)
                    WHERE id = \(id)
                    """)
                failed = id
            } else {
                failed = try connection.query(
                    """
                    INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, type, state, attempts, last_status, last_error, last_duration_ms, next_attempt_at)
                    VALUES (\(endpoint), \(last.delivery.seq), \(last.delivery.eventID), \(last.delivery.type), \(state), \(retry.attempts),
                        \(last.attempt.status), \(errors.last!), \(milliseconds.last!), \(retry.next))
                    ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id
                    """
                ).first?.decode("id")
            }
            if let failed {
                try connection.execute(
                    """
                    INSERT INTO webhook_attempts (delivery_id, status, error, duration_ms)
                    VALUES (\(failed), \(last.attempt.status), \(errors.last!), \(milliseconds.last!))
                    """)
            }
            let endpoints = try connection.query(
                """
                \(rows)UPDATE webhook_endpoints SET failures = \(failures) + 1,
                    enabled = enabled AND \(failures) + 1 < \(settings.disableAfter),
                    disabled_reason = CASE WHEN \(failures) + 1 >= \(settings.disableAfter) AND enabled
                        THEN (\(failures) + 1) || ' failed attempts in a row' ELSE disabled_reason END,
                    \(advance), updated_at = now()
                WHERE id = \(endpoint) RETURNING url, failures, enabled, disabled_reason
                """)
            guard let row = endpoints.first, !(try row.decode("enabled", as: Bool.self)), try row.decode("failures", as: Int.self) == settings.disableAfter
            else { return (nil, false) }
            let event = Event(
                type: WebhookEvents.disabled, requestID: nil,
                data: WebhookDisabled(
                    endpointID: endpoint, url: try row.decode("url"), failures: try row.decode("failures"),
                    reason: try row.decode("disabled_reason", as: String?.self) ?? "failed attempts"))
            try Outbox.enqueue(event, on: connection)
            return (nil, true)
        }
        if disabled {
            outboxChanged()
            logger.warning("webhook endpoint disabled after failed deliveries", metadata: ["endpoint": "\(endpoint.lowercased)"])
        }
        return target
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
