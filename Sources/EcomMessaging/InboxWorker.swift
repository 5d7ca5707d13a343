import EcomAPI
import EcomPostgres
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The inbox worker: applies what arrives in the inbox, a batch per transaction.
///
/// A batch takes the oldest due rows (up to `Settings.batchSize`), lets `prepareBatch` lock what
/// they will touch in a fixed order, applies each in turn and marks them all processed, in one
/// transaction: one commit for many events, and none of them applied unless all are. When any
/// event of a batch fails, the batch is rolled back and its events are taken one at a time,
/// each under a savepoint, so that one bad event is retried or parked without holding back its
/// neighbours.
extension EventBus {
    /// Applies due inbox rows until none is due. While the database cannot be reached, it tries
    /// again after a growing wait rather than at every poll.
    func work() async {
        guard inboxBackoff.withLock({ $0.isDue }) else { return }
        // After a batch failed, how many events to take one at a time.
        var singly = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let more: Bool
                if singly > 0 {
                    singly -= 1
                    more = try await processNext()
                } else {
                    switch try await processBatch() {
                    case .empty:
                        more = false
                    case .applied:
                        more = true
                    case .failed(let count):
                        singly = count
                        more = true
                    case .single(let outcome):
                        more = try await settle(outcome)
                    }
                }
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

    enum BatchOutcome: Sendable {
        case empty
        case applied(count: Int)
        /// Nothing was applied: an event failed, and the `count` events are to be taken one at a time.
        case failed(count: Int)
        /// Only one event was due, and it was taken as `processNext` takes one.
        case single(Outcome)
    }

    /// Claims up to a batch of the oldest due rows, applies them and marks them processed, in
    /// one transaction. A conflict with a concurrent transaction retries the batch (the pool
    /// does); any other failure rolls it all back.
    func processBatch() async throws -> BatchOutcome {
        guard let handler, let applyAll = applyBatch else { return .empty }
        let limit = settings.batchSize
        let maximumAttempts = settings.maximumAttempts
        let prepare = prepareBatch
        let commitDelay = settings.batchCommitDelay
        let logger = logger
        let claimed = Mutex(0)
        do {
            let applied = try await pool.transaction { connection -> BatchOutcome in
                let rows = try connection.query(Self.due(limit: limit))
                claimed.withLock { $0 = rows.count }
                guard !rows.isEmpty else { return .empty }
                if rows.count == 1 {
                    return .single(try Self.apply(rows[0], handler, maximumAttempts: maximumAttempts, on: connection))
                }
                var ids: [UUID] = []
                var deliveries: [Delivery] = []
                for row in rows {
                    ids.append(try row.decode("event_id"))
                    deliveries.append(
                        try Delivery(routingKey: try row.decode("routing_key"), body: Data(try row.decode("body", as: String.self).utf8)))
                }
                try prepare?(deliveries, connection)
                try applyAll(deliveries, connection)
                try connection.execute(
                    "UPDATE inbox SET processed_at = now(), attempts = attempts + 1 WHERE event_id = ANY(\(SQLArray(ids))::uuid[])")
                Self.pauseBeforeCommit(of: ids.count, for: commitDelay, logger: logger)
                return .applied(count: ids.count)
            }
            if case .applied(let count) = applied { afterApplying(count) }
            return applied
        } catch {
            let count = claimed.withLock { $0 }
            // Nothing claimed: the inbox itself could not be read.
            guard count > 0 else { throw error }
            if count > 1 {
                logger.debug("a batch of events failed; applying them one at a time", metadata: ["error": "\(error)", "events": "\(count)"])
            }
            return .failed(count: count)
        }
    }

    enum Outcome: Sendable {
        case none
        case processed(eventID: UUID)
        /// The handler failed in a way a retry cannot fix: an attempt, parked once there are enough.
        case failed(eventID: UUID, type: String, attempts: Int, error: String, park: Bool)
        /// A passing fault stopped the handler: retried after a wait, whatever the number of attempts.
        case interrupted(eventID: UUID, type: String, error: String)
    }

    /// Claims the oldest due row, applies it and marks it processed in one transaction.
    /// Returns false when nothing is due. The way events of a failed batch are taken.
    func processNext() async throws -> Bool {
        guard let handler else { return false }
        let maximumAttempts = settings.maximumAttempts
        let outcome = try await pool.transaction { connection -> Outcome in
            guard let row = try connection.query(Self.due(limit: 1)).first else { return .none }
            return try Self.apply(row, handler, maximumAttempts: maximumAttempts, on: connection)
        }
        return try await settle(outcome)
    }

    /// Records what became of one event after its transaction; false when there was none.
    private func settle(_ outcome: Outcome) async throws -> Bool {
        switch outcome {
        case .none:
            return false
        case .processed(let eventID):
            interruptions.withLock { _ = $0.removeValue(forKey: eventID) }
            afterApplying(1)
        case .interrupted(let eventID, let type, let error):
            try await recordInterruption(of: eventID, type: type, error: error)
        case .failed(let eventID, let type, let attempts, let error, let park):
            try await recordFailure(of: eventID, type: type, attempts: attempts, error: error, park: park)
        }
        return true
    }

    /// The oldest due rows, locked, skipping those another worker holds.
    private static func due(limit: Int) -> SQLQuery {
        """
        SELECT event_id, routing_key, body, attempts FROM inbox
        WHERE processed_at IS NULL AND parked_at IS NULL AND next_attempt_at <= clock_timestamp()
        ORDER BY received_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
        """
    }

    /// Applies one claimed row in the open transaction: the handler runs under a savepoint, so
    /// that a failure it reports is recorded without what it wrote or asked to run after the commit.
    private static func apply(
        _ row: SQLRow, _ handler: EventHandler, maximumAttempts: Int, on connection: SQLConnection
    ) throws -> Outcome {
        let eventID: UUID = try row.decode("event_id")
        let type: String = try row.decode("routing_key")
        let attempts: Int = try row.decode("attempts")
        let delivery: Delivery
        do {
            delivery = try Delivery(routingKey: type, body: Data(try row.decode("body", as: String.self).utf8))
        } catch {
            return .failed(eventID: eventID, type: type, attempts: attempts + 1, error: "unreadable event: \(error)", park: true)
        }
        let savepoint = try connection.savepoint()
        do {
            try handler(delivery, connection)
        } catch let error as SQLError where error.isConcurrencyConflict {
            throw error  // the whole transaction is retried by the pool
        } catch let error where isTransient(error) {
            // On a connection the fault has broken, this throws too, and the worker backs off.
            try connection.rollback(to: savepoint)
            return .interrupted(eventID: eventID, type: type, error: String(describing: error))
        } catch {
            try connection.rollback(to: savepoint)
            return .failed(
                eventID: eventID, type: type, attempts: attempts + 1, error: String(describing: error),
                park: attempts + 1 >= maximumAttempts)
        }
        try connection.execute(
            "UPDATE inbox SET processed_at = now(), attempts = attempts + 1 WHERE event_id = \(eventID)")
        return .processed(eventID: eventID)
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
}
