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
        /// Failed attempts after which a delivery is parked for an admin. Only failures that a
        /// retry cannot fix count: a passing fault (any `TransientError`, such as a lost
        /// connection, a lock or statement timeout or a full disk) is waited out, however long it lasts.
        package var maximumAttempts = 8
        /// The first wait after a passing fault; it doubles while the fault lasts, up to the maximum.
        package var transientRetryDelay: Duration = .milliseconds(250)
        package var maximumTransientRetryDelay: Duration = .seconds(10)
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
    private let relayBackoff = Mutex(Backoff(first: .milliseconds(400), maximum: .seconds(10)))
    /// Consecutive failures to reach the inbox, and when the worker may try again.
    private let inboxBackoff: Mutex<Backoff>
    /// How often each event was interrupted by a passing fault in a row, for its backoff; in
    /// memory, since such retries are no attempts, and forgetting them only shortens a wait.
    private let interruptions = Mutex<[UUID: Int]>([:])
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
        inboxBackoff = Mutex(Backoff(first: settings.transientRetryDelay, maximum: settings.maximumTransientRetryDelay))
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
        guard relayBackoff.withLock({ $0.isDue }) else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var claimed: [Int64] = []
            do {
                let batch = try await claimOutbox(limit: 200)
                guard !batch.isEmpty else { return }
                claimed = batch.map(\.seq)
                try await transport.publish(batch.map(\.event), logger: logger)
                try await pool.execute(
                    "UPDATE outbox SET sent_at = now(), claimed_until = NULL WHERE seq = ANY(\(SQLArray(claimed))::bigint[])")
                Counter(label: "ecom_events_published_total", dimensions: [("service", service)]).increment(by: batch.count)
                relayBackoff.withLock { $0.succeeded() }
            } catch {
                let failures = relayBackoff.withLock { $0.failed() }
                // The first failure, then one in twenty: a long outage is not a log flood.
                if failures % 20 == 1 {
                    logger.warning("publishing events failed; will retry", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                }
                if !claimed.isEmpty {
                    _ = try? await pool.execute(
                        "UPDATE outbox SET claimed_until = NULL WHERE seq = ANY(\(SQLArray(claimed))::bigint[]) AND sent_at IS NULL")
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
                ORDER BY seq LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING seq, event_id, routing_key, body
            """)
        return try rows.map { row in
            (
                try row.decode("seq"),
                OutgoingEvent(eventID: try row.decode("event_id"), routingKey: try row.decode("routing_key"), body: try row.decode("body"))
            )
        }.sorted { $0.seq < $1.seq }
    }

    // MARK: - Inbox worker

    /// Applies due inbox rows one at a time until none is due. While the database cannot be
    /// reached, it tries again after a growing wait rather than at every poll.
    func work() async {
        guard inboxBackoff.withLock({ $0.isDue }) else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let more = try await processNext()
                inboxBackoff.withLock { $0.succeeded() }
                guard more else { return }
            } catch {
                let failures = inboxBackoff.withLock { $0.failed() }
                if failures % 20 == 1 {
                    logger.warning("inbox unavailable; will retry", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                }
                return
            }
        }
    }

    private enum Outcome: Sendable {
        case none
        case processed(eventID: UUID)
        /// The handler failed in a way a retry cannot fix: an attempt, parked once there are enough.
        case failed(eventID: UUID, type: String, attempts: Int, error: String, park: Bool)
        /// A passing fault stopped the handler: retried after a wait, whatever the number of attempts.
        case interrupted(eventID: UUID, type: String, error: String)
    }

    /// Claims the oldest due row, applies it and marks it processed in one transaction.
    /// Returns false when nothing is due.
    func processNext() async throws -> Bool {
        guard let handler else { return false }
        switch try await applyNext(handler) {
        case .none:
            return false
        case .processed(let eventID):
            interruptions.withLock { _ = $0.removeValue(forKey: eventID) }
            Counter(label: "ecom_events_processed_total", dimensions: [("service", service)]).increment()
            // The handler may have enqueued events of its own.
            relayBell.ring()
        case .interrupted(let eventID, let type, let error):
            try await recordInterruption(of: eventID, type: type, error: error)
        case .failed(let eventID, let type, let attempts, let error, let park):
            try await recordFailure(of: eventID, type: type, attempts: attempts, error: error, park: park)
        }
        return true
    }

    /// The transaction of `processNext`: the handler runs under a savepoint, so that a failure it
    /// reports is recorded without what it wrote.
    private func applyNext(_ handler: @escaping EventHandler) async throws -> Outcome {
        let maximumAttempts = settings.maximumAttempts
        return try await pool.transaction { connection in
            let rows = try connection.query(
                """
                SELECT event_id, routing_key, body, attempts FROM inbox
                WHERE processed_at IS NULL AND parked_at IS NULL AND next_attempt_at <= clock_timestamp()
                ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED
                """)
            guard let row = rows.first else { return .none }
            let eventID: UUID = try row.decode("event_id")
            let type: String = try row.decode("routing_key")
            let attempts: Int = try row.decode("attempts")
            let body = Data(try row.decode("body", as: String.self).utf8)
            let header: EventHeader
            do {
                header = try JSONDecoder.ecom.decode(EventHeader.self, from: body)
            } catch {
                return .failed(eventID: eventID, type: type, attempts: attempts + 1, error: "unreadable event: \(error)", park: true)
            }
            let delivery = Delivery(header: header, routingKey: type, body: body)
            try connection.execute("SAVEPOINT handler")
            do {
                try handler(delivery, connection)
            } catch let error as SQLError where error.isConcurrencyConflict {
                throw error  // the whole transaction is retried by the pool
            } catch let error where isTransient(error) {
                // On a connection the fault has broken, this throws too, and the worker backs off.
                try connection.execute("ROLLBACK TO SAVEPOINT handler")
                return .interrupted(eventID: eventID, type: type, error: String(describing: error))
            } catch {
                try connection.execute("ROLLBACK TO SAVEPOINT handler")
                return .failed(
                    eventID: eventID, type: type, attempts: attempts + 1, error: String(describing: error),
                    park: attempts + 1 >= maximumAttempts)
            }
            try connection.execute(
                "UPDATE inbox SET processed_at = now(), attempts = attempts + 1 WHERE event_id = \(eventID)")
            return .processed(eventID: eventID)
        }
    }

    /// A passing fault: the event is tried again after a wait that grows with each interruption.
    private func recordInterruption(of eventID: UUID, type: String, error: String) async throws {
        let count = interruptions.withLock { counts in
            // Bounded: rows another process finished never come back to be removed.
            if counts.count >= 10_000 { counts.removeAll() }
            counts[eventID, default: 0] += 1
            return counts[eventID]!
        }
        let delay = Backoff.delay(after: count, first: settings.transientRetryDelay, maximum: settings.maximumTransientRetryDelay)
        try await pool.execute(
            """
            UPDATE inbox SET last_error = \(String(error.prefix(2000))),
                next_attempt_at = clock_timestamp() + make_interval(secs => \(String(delay.seconds))::double precision)
            WHERE event_id = \(eventID)
            """)
        if count % 20 == 1 {
            logger.warning(
                "event interrupted by a passing fault; will retry until it passes",
                metadata: ["event_id": "\(eventID.lowercased)", "type": "\(type)", "retry": "\(count)", "error": "\(error)"])
        }
    }

    /// A failure a retry cannot fix: counted as an attempt, and parked once there are enough.
    private func recordFailure(of eventID: UUID, type: String, attempts: Int, error: String, park: Bool) async throws {
        let delay = min(0.25 * pow(2, Double(attempts)), 60)
        try await pool.execute(
            """
            UPDATE inbox SET attempts = \(attempts), last_error = \(String(error.prefix(2000))),
                next_attempt_at = clock_timestamp() + make_interval(secs => \(String(delay))::double precision),
                parked_at = CASE WHEN \(park)::boolean THEN now() END
            WHERE event_id = \(eventID)
            """)
        if park {
            interruptions.withLock { _ = $0.removeValue(forKey: eventID) }
            logger.error(
                "event parked after repeated failures; an admin can retry it once the cause is fixed",
                metadata: [
                    "service": "\(service)", "event_id": "\(eventID.lowercased)", "type": "\(type)", "attempts": "\(attempts)",
                    "error": "\(error)",
                ])
            Counter(label: "ecom_events_parked_total", dimensions: [("service", service)]).increment()
            try? await recordParked()
        } else {
            logger.warning(
                "event failed; will retry",
                metadata: ["event_id": "\(eventID.lowercased)", "type": "\(type)", "attempt": "\(attempts)", "error": "\(error)"])
        }
    }

    // MARK: - Housekeeping and metrics

    private var parkedGauge: Gauge { Gauge(label: "ecom_events_parked", dimensions: [("service", service)]) }

    /// Brings the parked gauge up to date at once, rather than at the next housekeeping.
    private func recordParked() async throws {
        let rows = try await pool.query("SELECT count(*) AS parked FROM inbox WHERE parked_at IS NOT NULL")
        parkedGauge.record(try rows[0].decode("parked", as: Int.self))
    }

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
            parkedGauge.record(try row.decode("parked", as: Int.self))
            Gauge(label: "ecom_inbox_pending", dimensions: [("service", service)]).record(try row.decode("pending", as: Int.self))
        }
        try await pool.execute(
            "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => \(String(settings.sentRetention.components.seconds))::double precision)")
        try await pool.execute(
            "DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => \(String(settings.processedRetention.components.seconds))::double precision)")
    }
}

/// Consecutive failures, and when to try again: the wait doubles from `first` up to `maximum`.
struct Backoff: Sendable {
    let first: Duration
    let maximum: Duration
    private(set) var failures = 0
    private var retryAt: ContinuousClock.Instant?

    init(first: Duration, maximum: Duration) {
        self.first = first
        self.maximum = maximum
    }

    var isDue: Bool { remaining == .zero }

    /// How long until the next try; zero when it is due.
    var remaining: Duration { retryAt.map { max($0 - ContinuousClock.now, .zero) } ?? .zero }

    /// Counts a failure and returns how many there have been in a row.
    mutating func failed() -> Int {
        failures += 1
        retryAt = ContinuousClock.now + Self.delay(after: failures, first: first, maximum: maximum)
        return failures
    }

    mutating func succeeded() {
        failures = 0
        retryAt = nil
    }

    static func delay(after failures: Int, first: Duration, maximum: Duration) -> Duration {
        min(first * (1 << min(max(failures - 1, 0), 30)), maximum)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
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
