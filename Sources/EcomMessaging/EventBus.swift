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
        /// The most inbox events applied in one transaction.
        package var batchSize = 100
        /// How long a batch of two or more events waits, applied and not yet committed, before
        /// its commit (a switch for fault tests that stop the process there).
        package var batchCommitDelay: Duration?
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
    let prepareBatch: BatchPreparer?
    /// Applies a batch: `applyBatch` as given, or the handler on each event in turn.
    let applyBatch: BatchHandler?
    /// Runs after each commit that applied events, by the worker or on arrival, with their number:
    /// counts them, rings the relay when the handlers may have enqueued events of their own (so it
    /// looks at the outbox now rather than at its next poll), then calls the caller's `applied`.
    let afterApplying: @Sendable (_ count: Int) -> Void
    let settings: Settings
    let logger: Logger
    let relayBell: Doorbell
    let inboxBell = Doorbell()
    /// Consecutive publishing failures, and when the relay may try again.
    private let relayBackoff = Mutex(Backoff(first: .milliseconds(400), maximum: .seconds(10)))
    /// Consecutive failures to reach the inbox, and when the worker may try again.
    let inboxBackoff: Mutex<Backoff>
    /// How often each event was interrupted by a passing fault in a row, for its backoff; in
    /// memory, since such retries are no attempts, and forgetting them only shortens a wait.
    let interruptions = Mutex<[UUID: Int]>([:])
    private let consumer: (any Service)?

    /// With `applyOnArrival`, events are applied (by `applyBatch`, or `handler` on each, after
    /// `prepareBatch` for two or more) in the transaction that receives them rather than stored in
    /// the inbox for the worker: for a consumer whose statements themselves ignore an event they have
    /// seen (the notifications service's event log, the cart's removal of an order's lines, the
    /// products service's reservation row of each order, the orders service's moves of a pending
    /// order), it saves writing and updating each event's inbox row, and the worker's wake-up and
    /// read. Such events keep no inbox row; the worker still applies any that land there: an
    /// unreadable one (it parks it), and with `onArrivalFailuresToInbox`, for events that take the
    /// same effect in any order, those of a batch whose handler failed (one at a time, after any
    /// that arrive later and apply), rather than the publisher trying the batch again.
    package init(
        service: String, pool: PostgresPool, transport: any EventTransport, subscribesTo routingKeys: [String] = [],
        handler: EventHandler? = nil, prepareBatch: BatchPreparer? = nil, applyBatch: BatchHandler? = nil,
        applyOnArrival: Bool = false, onArrivalFailuresToInbox: Bool = false, applied: @escaping @Sendable () -> Void = {},
        handlersPublish: Bool = true,
        settings: Settings = Settings(), logger: Logger
    ) {
        self.service = service
        self.pool = pool
        self.transport = transport
        self.handler = handler
        self.prepareBatch = prepareBatch
        self.applyBatch = applyBatch ?? handler.map { handler in
            { @Sendable deliveries, connection in for delivery in deliveries { try handler(delivery, connection) } }
        }
        let relayBell = Doorbell()
        self.relayBell = relayBell
        let processed = Counter(label: "ecom_events_processed_total", dimensions: [("service", service)])
        afterApplying = { count in
            processed.increment(by: count)
            if handlersPublish { relayBell.ring() }
            applied()
        }
        self.settings = settings
        inboxBackoff = Mutex(Backoff(first: settings.transientRetryDelay, maximum: settings.maximumTransientRetryDelay))
        var logger = logger
        logger[metadataKey: "service"] = .string(service)
        self.logger = logger
        // With a handler there is always a batch applier (the handler on each event, if none was given).
        if handler != nil, let applyAll = self.applyBatch {
            consumer = transport.attach(
                Inbox(
                    service: service, routingKeys: routingKeys, pool: pool, doorbell: inboxBell,
                    applyOnArrival: applyOnArrival
                        ? Self.arrival(prepare: prepareBatch, apply: applyAll, commitDelay: settings.batchCommitDelay, logger: self.logger)
                        : nil,
                    applied: afterApplying, failuresToInbox: onArrivalFailuresToInbox),
                logger: logger)
        } else {
            consumer = nil
        }
    }

    /// How events are applied in the transaction that receives them, by `applyBatch`: two or more as
    /// the worker applies a batch, `prepareBatch` first and the fault tests' pause before the commit;
    /// one alone without either.
    private static func arrival(
        prepare: BatchPreparer?, apply: @escaping BatchHandler, commitDelay: Duration?, logger: Logger
    ) -> BatchHandler {
        { deliveries, connection in
            guard deliveries.count > 1 else { return try apply(deliveries, connection) }
            try prepare?(deliveries, connection)
            try apply(deliveries, connection)
            pauseBeforeCommit(of: deliveries.count, for: commitDelay, logger: logger)
        }
    }

    /// Holds an applied batch of `count` events before its commit when `Settings.batchCommitDelay` says so.
    static func pauseBeforeCommit(of count: Int, for delay: Duration?, logger: Logger) {
        guard let delay else { return }
        logger.warning(
            "event batch applied; its commit waits (ECOM_BATCH_COMMIT_DELAY)", metadata: ["events": "\(count)", "delay": "\(delay)"])
        Thread.sleep(forTimeInterval: delay.seconds)
    }

    /// What must run for events to flow: the relay, the inbox worker, the transport's consumer, housekeeping.
    package var services: [any Service] {
        var services: [any Service] = [Loop(name: "\(service) outbox relay", bell: relayBell, tick: settings.pollInterval) { [self] in
            await relay()
        } start: { [self] in
            // Rows an earlier version's relay claimed by a lease (`claimed_until`) and did not send
            // go out now rather than when the lease runs out; should that relay still be alive, the
            // duplicate is ignored by the inboxes. This version's relay holds its rows by a lock.
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
    ///
    /// A batch is marked sent by the statement that claims it, in a transaction that stays open
    /// while it is published and commits only once the transport has it: its rows are written
    /// once, and stay locked meanwhile, so another relay of the service skips them. A failed
    /// publish, or a process that dies, rolls the mark back, and the rows go out again later.
    func relay() async {
        guard !settings.holdOutbox else { return }
        guard relayBackoff.withLock({ $0.isDue }) else { return }
        let limit = 200
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let published = try await pool.withLease { lease in
                    let batch = try await lease.run { connection in
                        try connection.beginCommittingLazily()
                        return try Self.claimOutbox(limit: limit, on: connection)
                    }
                    if !batch.isEmpty { try await transport.publish(batch.map(\.event), logger: logger) }
                    // Committed without waiting for the disk: a crash that undoes the mark only sends
                    // the events again, and their inboxes drop the repeats.
                    try await lease.run { try $0.commit() }
                    return batch.count
                }
                guard published > 0 else { return }
                Counter(label: "ecom_events_published_total", dimensions: [("service", service)]).increment(by: published)
                relayBackoff.withLock { $0.succeeded() }
                // A short batch took every row there was: rows committed since ring the bell again.
                guard published == limit else { return }
            } catch {
                let failures = relayBackoff.withLock { $0.failed() }
                // The first failure, then one in twenty: a long outage is not a log flood. A
                // subscriber that is still migrating is expected at start: said only if it lasts.
                if error is InboxNotReady && failures < 20 {
                    logger.debug("a subscriber's inbox is not set up yet; will retry", metadata: ["error": "\(error)"])
                } else if failures % 20 == 1 {
                    logger.warning("publishing events failed; will retry", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                }
                return
            }
        }
    }

    /// Marks up to `limit` unsent rows sent, in order, in the open transaction, and returns them.
    /// Rows locked by another relay are skipped, and so are rows an earlier version's relay holds
    /// by `claimed_until`.
    private static func claimOutbox(limit: Int, on connection: SQLConnection) throws -> [(seq: Int64, event: OutgoingEvent)] {
        let rows = try connection.query(
            """
            UPDATE outbox SET sent_at = now()
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

    // MARK: - Housekeeping and metrics

    var parkedGauge: Gauge { Gauge(label: "ecom_events_parked", dimensions: [("service", service)]) }

    /// Brings the parked gauge up to date at once, rather than at the next housekeeping.
    func recordParked() async throws {
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
package struct Backoff: Sendable {
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

    package static func delay(after failures: Int, first: Duration, maximum: Duration) -> Duration {
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
