import EcomAPI
import EcomPostgres
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Where a consuming service's deliveries go: its inbox table, and the doorbell of its worker;
/// or, for a consumer that applies events as they arrive, that consumer's statement.
package struct Inbox: Sendable {
    package var service: String
    package var routingKeys: [String]
    let pool: PostgresPool
    let doorbell: Doorbell
    /// Applies events in the transaction that receives them, instead of their inbox rows.
    var applyOnArrival: BatchHandler?
    /// Called after each commit of `applyOnArrival`, with the number of events it applied.
    var applied: @Sendable (Int) -> Void = { _ in }
    /// Whether a batch that `applyOnArrival` fails goes to the inbox rather than back to the
    /// publisher: for a consumer whose events take the same effect in any order, since the events
    /// that arrive after it are applied before the worker gets to it.
    var failuresToInbox = false
    /// With `failuresToInbox`, the longest `applyOnArrival` waits for a lock another transaction holds
    /// (a long catalog import, say) before its batch goes to the inbox, where the worker waits for
    /// it instead: the publisher, which in one process is the relay of another service, moves on.
    var arrivalLockWait: Duration = .milliseconds(250)

    /// Takes events in, in their order, so that each takes effect once: stored in the inbox in
    /// one statement (an event already there, a redelivery, is ignored), or applied at once by
    /// `applyOnArrival`, whose own statements ignore a redelivery. An event whose header cannot
    /// be read goes to the inbox either way, where the worker parks it. A batch `applyOnArrival`
    /// fails throws, and the publisher tries again later; with `failuresToInbox`, one it fails for
    /// a reason of its own rather than the database's goes to the inbox instead, where the worker
    /// applies its events one at a time and parks one that keeps failing, so that one bad event
    /// never holds up its publisher; so does one that waits for a lock longer than `arrivalLockWait`.
    /// `read` holds each event as already read (nil for one whose header cannot be), when the caller
    /// reads the events once for several subscribers, which then also share what a payload decodes to.
    package func store(_ events: [OutgoingEvent], read: [Delivery?]? = nil) async throws {
        guard let applyOnArrival else { return try await insert(events) }
        precondition(read.map { $0.count == events.count } ?? true, "one read delivery for each event")
        var deliveries: [Delivery] = []
        var readable: [OutgoingEvent] = []
        var toInbox: [OutgoingEvent] = []
        for (index, event) in events.enumerated() {
            let delivery = if let read { read[index] } else { try? Delivery(routingKey: event.routingKey, body: Data(event.body.utf8)) }
            if let delivery {
                deliveries.append(delivery)
                readable.append(event)
            } else {
                toInbox.append(event)
            }
        }
        if !deliveries.isEmpty {
            let lockWait = failuresToInbox ? arrivalLockWait : nil
            do {
                try await pool.transaction { [deliveries] connection in
                    if let lockWait { try connection.limitLockWaits(to: lockWait) }
                    try applyOnArrival(deliveries, connection)
                }
                applied(deliveries.count)
            } catch where failuresToInbox && (!isTransient(error) || (error as? SQLError)?.isLockTimeout == true)
                && !(error is CancellationError)
            {
                // The inbox keeps the publisher's order: the unreadable ones can go first, since
                // the worker only parks them.
                toInbox += readable
            }
        }
        try await insert(toInbox)
    }

    private func insert(_ events: [OutgoingEvent]) async throws {
        guard !events.isEmpty else { return }
        try await pool.execute(
            """
            INSERT INTO inbox (event_id, routing_key, body)
            SELECT event_id, routing_key, body
            FROM unnest(\(SQLArray(events.map(\.eventID)))::uuid[], \(SQLArray(events.map(\.routingKey)))::text[],
                \(SQLArray(events.map(\.body)))::text[]) WITH ORDINALITY AS e (event_id, routing_key, body, position)
            ORDER BY position
            ON CONFLICT (event_id) DO NOTHING
            """)
        doorbell.ring()
    }

    func accepts(_ routingKey: String) -> Bool {
        routingKeys.contains { EcomMessaging.routingKey(routingKey, matches: $0) }
    }
}

/// Carries events from the outbox relays to the inboxes of the subscribed services.
///
/// Its description says where events travel, as `ecom serve`'s start message puts it.
package protocol EventTransport: Sendable, CustomStringConvertible {
    /// Returns once every event is durably accepted (stored in each subscriber's inbox, or
    /// confirmed by the broker); throws if any may not have been, so the relay retries.
    func publish(_ events: [OutgoingEvent], logger: Logger) async throws

    /// Connects a service's inbox; returns the service (a queue consumer, say) that must run for
    /// deliveries to arrive, if the transport needs one.
    func attach(_ inbox: Inbox, logger: Logger) -> (any Service)?

    /// Whether the transport can deliver right now (for `/ready`).
    var isAvailable: Bool { get async }

    /// Whether this transport reaches services in other processes.
    var crossesProcesses: Bool { get }

    /// What must run once per process for the transport to work (the upkeep of a broker
    /// connection), if anything.
    var service: (any Service)? { get }
}

/// The in-process transport of an all-in-one `ecom serve`: a relay writes each event straight
/// into the inbox of every subscriber whose routing keys match, one row per subscriber, after
/// the publisher's transaction has committed.
package final class LocalTransport: EventTransport {
    private let inboxes = Mutex<[Inbox]>([])

    package init() {}

    package func attach(_ inbox: Inbox, logger: Logger) -> (any Service)? {
        inboxes.withLock { $0.append(inbox) }
        return nil
    }

    /// Stores the events in every subscriber's inbox at once (each is a database of its own), so a
    /// subscriber's worker is woken as soon as its own inbox has them, not after the others'.
    /// Each event is read once, for every subscriber that applies it on arrival.
    package func publish(_ events: [OutgoingEvent], logger: Logger) async throws {
        let inboxes = inboxes.withLock { $0 }
        let read = inboxes.contains { $0.applyOnArrival != nil }
            ? events.map { try? Delivery(routingKey: $0.routingKey, body: Data($0.body.utf8)) } : nil
        let deliveries = inboxes.map { inbox in (inbox, events.indices.filter { inbox.accepts(events[$0].routingKey) }) }
            .filter { !$0.1.isEmpty }
        try await withThrowingDiscardingTaskGroup { group in
            for (inbox, accepted) in deliveries {
                group.addTask {
                    do {
                        try await inbox.store(accepted.map { events[$0] }, read: read.map { read in accepted.map { read[$0] } })
                    } catch let error as SQLError where error.sqlState == "42P01" {
                        // undefined_table: the subscriber's migrations have not made its inbox yet.
                        throw InboxNotReady(service: inbox.service, underlying: error)
                    }
                }
            }
        }
    }

    package var isAvailable: Bool { true }
    package var crossesProcesses: Bool { false }
    package var service: (any Service)? { nil }
    package var description: String { "in-process" }
}

/// A subscriber in this process whose inbox does not exist yet: its service is still setting up
/// its database, as at the first start of `ecom serve`, when one service's relay may publish
/// before another's migrations have run. The relay tries again, as after any failure.
package struct InboxNotReady: Error, CustomStringConvertible {
    package var service: String
    package var underlying: SQLError

    package var description: String { "the \(service) service's inbox is not set up yet (\(underlying))" }
}
