import EcomAPI
import EcomPostgres
import EcomServerKit
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// A service's events: the relay that publishes its outbox, and the worker that applies what
/// arrives in its inbox.
package final class EventBus: Sendable {
    package struct Settings: Sendable {
        /// Failed attempts after which a delivery is parked for an admin.
        package var maximumAttempts = 8
        /// How often the relay and the worker look for work when nothing wakes them.
        package var pollInterval: Duration = .seconds(1)
        /// Keeps events in the outbox instead of publishing them (a switch for fault tests).
        package var holdOutbox = false
        package var sentRetention: Duration = .seconds(24 * 3600)
        package var processedRetention: Duration = .seconds(7 * 24 * 3600)

        package init() {}
    }

    package let service: String
    let pool: PostgresPool
    let transport: any EventTransport
    let handler: EventHandler?
    let settings: Settings
    let logger: Logger
    let relayBell = Doorbell()
    let inboxBell = Doorbell()
    /// Consecutive publishing failures, and when the relay may try again.
    private let relayBackoff = Mutex<(failures: Int, retryAt: ContinuousClock.Instant?)>((0, nil))
    private let consumer: (any Service)?

    package init(
        service: String, pool: PostgresPool, transport: any EventTransport, subscribesTo routingKeys: [String] = [],
        handler: EventHandler? = nil, settings: Settings = Settings(), logger: Logger
    ) {
        self.service = service
        self.pool = pool
        self.transport = transport
        self.handler = handler
        self.settings = settings
        var logger = logger
        logger[metadataKey: "service"] = .string(service)
        self.logger = logger
        if handler != nil {
            consumer = transport.attach(
                Inbox(service: service, routingKeys: routingKeys, pool: pool, doorbell: inboxBell), logger: logger)
        } else {
            consumer = nil
        }
    }

    /// What must run for events to flow: the relay, the inbox worker, the transport's consumer, housekeeping.
    package var services: [any Service] {
        var services: [any Service] = [Loop(name: "\(service) outbox relay", bell: relayBell, tick: settings.pollInterval) { [self] in
            await relay()
        } start: { [self] in
            // Rows claimed by a relay that died mid-publish go out now rather than when its lease
            // runs out; should that relay still be alive, the duplicate is ignored by the inboxes.
            _ = try? await pool.execute("UPDATE outbox SET claimed_until = NULL WHERE sent_at IS NULL AND claimed_until IS NOT NULL")
        }]
        if handler != nil {
            services.append(Loop(name: "\(service) inbox worker", bell: inboxBell, tick: settings.pollInterval) { [self] in
                await work()
            })
        }
        if let consumer { services.append(consumer) }
        services.append(
            PeriodicTask(name: "\(service) event housekeeping", interval: .seconds(5), logger: logger) { [self] in
                try await housekeeping()
            })
        return services
    }

    /// Call after committing a transaction that enqueued events, so they go out at once rather than at the next poll.
    package func outboxChanged() {
        relayBell.ring()
    }

    /// Whether the transport can deliver; `/ready` reports a broker outage through it.
    package var readinessCheck: ReadinessCheck {
        { [transport] in ("events", await transport.isAvailable) }
    }

    // MARK: - Relay

    /// Publishes unsent outbox rows in order, a batch at a time, and marks them sent only once
    /// the transport has accepted them. A failure leaves them for a later attempt, after a
    /// backoff that grows while the transport keeps failing.
    func relay() async {
        guard !settings.holdOutbox else { return }
        if let retryAt = relayBackoff.withLock({ $0.retryAt }), ContinuousClock.now < retryAt { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var claimed = ""
            do {
                let batch = try await claimOutbox(limit: 200)
                guard !batch.isEmpty else { return }
                claimed = batch.map { String($0.seq) }.joined(separator: ",")
                try await transport.publish(batch.map(\.event), logger: logger)
                try await pool.execute(
                    "UPDATE outbox SET sent_at = now(), claimed_until = NULL WHERE seq = ANY(string_to_array($1, ',')::bigint[])",
                    [claimed])
                Counter(label: "ecom_events_published_total", dimensions: [("service", service)]).increment(by: batch.count)
                relayBackoff.withLock { $0 = (0, nil) }
            } catch {
                let failures = relayBackoff.withLock { state in
                    state.failures += 1
                    state.retryAt = ContinuousClock.now + .milliseconds(min(200 * (1 << min(state.failures, 6)), 10_000))
                    return state.failures
                }
                // The first failure, then one in twenty: a long outage is not a log flood.
                if failures % 20 == 1 {
                    logger.warning("publishing events failed; will retry", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                }
                if !claimed.isEmpty {
                    _ = try? await pool.execute(
                        "UPDATE outbox SET claimed_until = NULL WHERE seq = ANY(string_to_array($1, ',')::bigint[]) AND sent_at IS NULL",
                        [claimed])
                }
                return
            }
        }
    }

    private func claimOutbox(limit: Int) async throws -> [(seq: Int64, event: OutgoingEvent)] {
        let rows = try await pool.query(
            """
            UPDATE outbox SET claimed_until = now() + interval '10 seconds'
            WHERE seq IN (
                SELECT seq FROM outbox
                WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING seq, event_id, routing_key, body
            """, [limit])
        return try rows.map { row in
            (
                try row.decode("seq"),
                OutgoingEvent(eventID: try row.decode("event_id"), routingKey: try row.decode("routing_key"), body: try row.decode("body"))
            )
        }.sorted { $0.seq < $1.seq }
    }

    // MARK: - Inbox worker

    /// Applies due inbox rows one at a time until none is due.
    func work() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                guard try await processNext() else { return }
            } catch {
                logger.warning("inbox unavailable; will retry", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private enum Outcome: Sendable {
        case none, processed, failed(eventID: UUID, attempts: Int, error: String, park: Bool)
    }

    /// Claims the oldest due row, applies it and marks it processed in one transaction.
    /// Returns false when nothing is due.
    func processNext() async throws -> Bool {
        guard let handler else { return false }
        let maximumAttempts = settings.maximumAttempts
        let outcome: Outcome = try await pool.transaction { connection in
            let rows = try connection.query(
                """
                SELECT event_id, routing_key, body, attempts FROM inbox
                WHERE processed_at IS NULL AND parked_at IS NULL AND next_attempt_at <= clock_timestamp()
                ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED
                """)
            guard let row = rows.first else { return .none }
            let eventID: UUID = try row.decode("event_id")
            let attempts: Int = try row.decode("attempts")
            let body = Data(try row.decode("body", as: String.self).utf8)
            let header: EventHeader
            do {
                header = try JSONDecoder.ecom.decode(EventHeader.self, from: body)
            } catch {
                return .failed(eventID: eventID, attempts: attempts + 1, error: "unreadable event: \(error)", park: true)
            }
            let delivery = Delivery(header: header, routingKey: try row.decode("routing_key"), body: body)
            try connection.execute("SAVEPOINT handler")
            do {
                try handler(delivery, connection)
            } catch let error as PostgresError where error.kind == .serializationFailure || error.kind == .deadlock {
                throw error  // the whole transaction is retried by the pool
            } catch {
                try connection.execute("ROLLBACK TO SAVEPOINT handler")
                return .failed(
                    eventID: eventID, attempts: attempts + 1, error: String(describing: error),
                    park: attempts + 1 >= maximumAttempts)
            }
            try connection.execute(
                "UPDATE inbox SET processed_at = now(), attempts = attempts + 1 WHERE event_id = $1", [eventID])
            return .processed
        }
        switch outcome {
        case .none:
            return false
        case .processed:
            Counter(label: "ecom_events_processed_total", dimensions: [("service", service)]).increment()
            // The handler may have enqueued events of its own.
            relayBell.ring()
            return true
        case .failed(let eventID, let attempts, let error, let park):
            let delay = min(0.25 * pow(2, Double(attempts)), 60)
            try await pool.execute(
                """
                UPDATE inbox SET attempts = $2, last_error = $3,
                    next_attempt_at = clock_timestamp() + make_interval(secs => $4::double precision),
                    parked_at = CASE WHEN $5::boolean THEN now() END
                WHERE event_id = $1
                """, [eventID, attempts, String(error.prefix(2000)), String(delay), park])
            if park {
                logger.error("event parked after repeated failures", metadata: ["event_id": "\(eventID.lowercased)", "error": "\(error)"])
                Counter(label: "ecom_events_parked_total", dimensions: [("service", service)]).increment()
            } else {
                logger.warning("event failed; will retry", metadata: ["event_id": "\(eventID.lowercased)", "attempt": "\(attempts)", "error": "\(error)"])
            }
            return true
        }
    }

    // MARK: - Housekeeping and metrics

    func housekeeping() async throws {
        let rows = try await pool.query(
            """
            SELECT
                (SELECT count(*) FROM outbox WHERE sent_at IS NULL) AS backlog,
                (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::bigint FROM outbox WHERE sent_at IS NULL) AS oldest,
                (SELECT count(*) FROM inbox WHERE parked_at IS NOT NULL) AS parked,
                (SELECT count(*) FROM inbox WHERE processed_at IS NULL AND parked_at IS NULL) AS pending
            """)
        if let row = rows.first {
            Gauge(label: "ecom_outbox_backlog", dimensions: [("service", service)]).record(try row.decode("backlog", as: Int.self))
            Gauge(label: "ecom_outbox_oldest_age_seconds", dimensions: [("service", service)]).record(try row.decode("oldest", as: Int.self))
            Gauge(label: "ecom_events_parked", dimensions: [("service", service)]).record(try row.decode("parked", as: Int.self))
            Gauge(label: "ecom_inbox_pending", dimensions: [("service", service)]).record(try row.decode("pending", as: Int.self))
        }
        try await pool.execute(
            "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1::double precision)",
            [String(settings.sentRetention.components.seconds)])
        try await pool.execute(
            "DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1::double precision)",
            [String(settings.processedRetention.components.seconds)])
    }
}

/// A long-running loop woken by a doorbell, stopped by graceful shutdown.
struct Loop: Service {
    let name: String
    let bell: Doorbell
    let tick: Duration
    let body: @Sendable () async -> Void
    var start: @Sendable () async -> Void = {}

    func run() async throws {
        await start()
        await withGracefulShutdownHandler {
            await bell.serve(tick: tick, body)
        } onGracefulShutdown: {
            bell.close()
        }
    }
}
