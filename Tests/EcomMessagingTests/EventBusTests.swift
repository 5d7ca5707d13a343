import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import EcomMessaging

@Suite struct RoutingKeyTests {
    @Test(
        "topic patterns match like AMQP's",
        arguments: [
            ("order.created", "order.created", true), ("order.created", "order.*", true), ("order.created", "stock.*", false),
            ("order.created", "#", true), ("order.created.v2", "order.*", false), ("order.created.v2", "order.#", true),
            ("order", "order.#", true), ("stock.reserved", "*.reserved", true),
            ("order", "order.*", false), ("order.", "order.*", true), ("orders.created", "order.*", false),
            ("order.created", "order.create", false), ("order.create", "order.created", false), ("", "#", true),
            ("stock.low", "*", false), ("stock", "*", true), ("a.b.c", "a.*.c", true), ("a.b.c", "a.*", false),
            ("a.b.c", "#.c", true), ("a.b.c", "*.*", false), ("x", "", false), ("", "", true),
        ])
    func matching(key: String, pattern: String, matches: Bool) {
        #expect(routingKey(key, matches: pattern) == matches)
        #expect(routingKeyWords(key, match: pattern) == matches)
    }

    @Test("the shortcuts for common patterns answer as matching word by word does, for every key and pattern of up to three words")
    func shortcutsAgree() {
        func phrases(of words: [String]) -> [String] {
            var all = words
            for _ in 1..<3 { all += all.flatMap { phrase in words.map { phrase + "." + $0 } } }
            return Array(Set(all))
        }
        let keys = phrases(of: ["a", "b", "ab", ""])
        let patterns = phrases(of: ["a", "b", "*", "#", ""])
        for key in keys {
            for pattern in patterns where routingKey(key, matches: pattern) != routingKeyWords(key, match: pattern) {
                Issue.record("\"\(key)\" against \"\(pattern)\": \(routingKey(key, matches: pattern)) by the shortcut")
            }
        }
    }
}

/// A publisher database and a subscriber database joined by the local transport.
@Suite(.enabled(if: ThrowawayDatabase.isAvailable, Comment(rawValue: ThrowawayDatabase.skipReason)))
struct EventBusTests {
    struct Note: Codable, Sendable, Equatable { var text: String }
    struct Refused: Error {}

    static let logger = Logger(label: "test")

    /// The messaging tables, and a table the subscriber's handler writes to.
    static let migrations = messagingMigrations(startingAt: 1) + [
        Migration(version: 2, name: "applied", sql: "CREATE TABLE applied (event_id uuid PRIMARY KEY, text text)")
    ]

    /// Two fresh databases with `migrations`.
    static func withPair(_ body: (_ publisher: PostgresPool, _ subscriber: PostgresPool) async throws -> Void) async throws {
        try await ThrowawayDatabase.withPool(size: 4, migrations: Self.migrations, logger: logger) { publisher in
            try await ThrowawayDatabase.withPool(size: 4, migrations: Self.migrations, logger: logger) { subscriber in
                try await body(publisher, subscriber)
            }
        }
    }

    static func enqueue(_ count: Int, on pool: PostgresPool, type: String = "note.added") async throws -> [UUID] {
        try await pool.transaction { connection in
            try (0..<count).map { index in
                let event = Event(type: type, requestID: "req-\(index)", data: Note(text: "note \(index)"))
                try Outbox.enqueue(event, on: connection)
                return event.id
            }
        }
    }

    static let recordNote: EventHandler = { delivery, connection in
        let event = try delivery.decode(Note.self)
        try connection.execute("INSERT INTO applied (event_id, text) VALUES (\(event.id), \(event.data.text))")
    }

    @Test("events reach the subscriber after commit, each applied once even when delivered twice")
    func exactlyOnce() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"], handler: Self.recordNote,
                logger: Self.logger)
            let ids = try await Self.enqueue(25, on: publisher)
            _ = try await Self.enqueue(3, on: publisher, type: "other.thing")
            await source.relay()
            #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 0)

            // A redelivery of everything, as a broker might do.
            let bodies = try await publisher.query("SELECT event_id, routing_key, body FROM outbox").map {
                OutgoingEvent(eventID: try $0.decode("event_id"), routingKey: try $0.decode("routing_key"), body: try $0.decode("body"))
            }
            try await transport.publish(bodies, logger: Self.logger)
            await sink.work()

            let applied = try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }
            #expect(Set(applied) == Set(ids))
            #expect(applied.count == 25)
        }
    }

    @Test("a subscriber that applies events on arrival applies each once, keeps no inbox row, and parks what it cannot read")
    func appliedOnArrival() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let commits = Atomic(0)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: Self.recordNote,
                applyBatch: { deliveries, connection in
                    for delivery in deliveries {
                        let event = try delivery.decode(Note.self)
                        try connection.execute(
                            "INSERT INTO applied (event_id, text) VALUES (\(event.id), \(event.data.text)) ON CONFLICT (event_id) DO NOTHING")
                    }
                },
                applyOnArrival: true, applied: { commits.add(1, ordering: .relaxed) }, logger: Self.logger)
            let ids = try await Self.enqueue(12, on: publisher)
            await source.relay()
            // Applied by the relay's delivery itself: no worker has run.
            let applied = try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }
            #expect(Set(applied) == Set(ids))
            #expect(commits.load(ordering: .relaxed) >= 1)

            // A redelivery, and an event whose header cannot be read.
            var again = try await publisher.query("SELECT event_id, routing_key, body FROM outbox").map {
                OutgoingEvent(eventID: try $0.decode("event_id"), routingKey: try $0.decode("routing_key"), body: try $0.decode("body"))
            }
            let garbled = UUID()
            again.append(OutgoingEvent(eventID: garbled, routingKey: "note.added", body: "{\"not\": \"an event\"}"))
            try await transport.publish(again, logger: Self.logger)
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == 12)
            let inbox = try await subscriber.query("SELECT event_id FROM inbox").map { try $0.decode("event_id", as: UUID.self) }
            #expect(inbox == [garbled])
            await sink.work()
            #expect(try await subscriber.query("SELECT count(*) AS n FROM inbox WHERE parked_at IS NOT NULL")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test("an on-arrival batch of two or more is prepared first, in its transaction, as the worker's batches are; one event alone is not")
    func arrivalBatchPrepared() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            // What each preparation saw: its batch's size, and how many of them were applied by then.
            let prepared = Mutex<[(events: Int, appliedBefore: Int)]>([])
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: Self.recordNote,
                prepareBatch: { deliveries, connection in
                    let applied: Int = try connection.query("SELECT count(*) AS n FROM applied")[0].decode("n")
                    prepared.withLock { $0.append((deliveries.count, applied)) }
                },
                applyOnArrival: true, logger: Self.logger)
            let ids = try await Self.enqueue(12, on: publisher)
            await source.relay()
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == ids.count)
            #expect(prepared.withLock { $0.map(\.events) } == [12])
            #expect(prepared.withLock { $0.map(\.appliedBefore) } == [0])

            _ = try await Self.enqueue(1, on: publisher)
            await source.relay()
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == 13)
            #expect(prepared.withLock { $0.count } == 1)
            withExtendedLifetime(sink) {}
        }
    }

    @Test("a batch an on-arrival subscriber fails to apply goes to its inbox: the publisher moves on, the worker applies the good events one at a time and parks the bad one")
    func appliedOnArrivalFailureGoesToTheInbox() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            var settings = EventBus.Settings()
            settings.maximumAttempts = 1
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            // Refuses the note of one text, whichever way it is applied.
            let handler: EventHandler = { delivery, connection in
                let event = try delivery.decode(Note.self)
                if event.data.text == "note 2" { throw Refused() }
                try connection.execute(
                    "INSERT INTO applied (event_id, text) VALUES (\(event.id), \(event.data.text)) ON CONFLICT (event_id) DO NOTHING")
            }
            let commits = Atomic(0)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"], handler: handler,
                applyOnArrival: true, onArrivalFailuresToInbox: true, applied: { commits.add(1, ordering: .relaxed) }, settings: settings,
                logger: Self.logger)
            let ids = try await Self.enqueue(5, on: publisher)
            await source.relay()
            // Published and marked sent all the same: nothing of the batch was applied, all of it is in the inbox.
            #expect(try await Self.unsent(on: publisher) == 0)
            #expect(commits.load(ordering: .relaxed) == 0)
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == 0)
            let stored = try await subscriber.query("SELECT event_id FROM inbox ORDER BY received_at, event_id").map {
                try $0.decode("event_id", as: UUID.self)
            }
            #expect(Set(stored) == Set(ids))

            await sink.work()
            let applied = try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }
            #expect(Set(applied) == Set(ids).subtracting([ids[2]]))
            #expect(try await sink.parked(limit: 10, after: nil).items.map(\.id) == [ids[2]])

            // Later events apply on arrival again (`applied` hears of the worker's commits too).
            let before = commits.load(ordering: .relaxed)
            let later = try await Self.enqueue(1, on: publisher, type: "note.more")
            await source.relay()
            #expect(commits.load(ordering: .relaxed) == before + 1)
            #expect(try await subscriber.query("SELECT count(*) AS n FROM inbox")[0].decode("n", as: Int.self) == 5)
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied WHERE event_id = \(later[0])")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test("a batch an on-arrival subscriber whose events keep their order fails to apply stays with the publisher, to be sent again")
    func appliedOnArrivalFailureStaysUnsent() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let refusing = Atomic(true)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: { delivery, connection in
                    if refusing.load(ordering: .relaxed) { throw Refused() }
                    try Self.recordNote(delivery, connection)
                },
                applyOnArrival: true, logger: Self.logger)
            _ = sink
            let ids = try await Self.enqueue(3, on: publisher)
            await source.relay()
            #expect(try await Self.unsent(on: publisher) == 3)
            #expect(try await subscriber.query("SELECT count(*) AS n FROM inbox")[0].decode("n", as: Int.self) == 0)

            refusing.store(false, ordering: .relaxed)
            try await publisher.execute("UPDATE outbox SET claimed_until = NULL")
            try await Task.sleep(for: .milliseconds(500))  // past the relay's first backoff
            await source.relay()
            #expect(try await Self.unsent(on: publisher) == 0)
            let applied = try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }
            #expect(Set(applied) == Set(ids))
        }
    }

    @Test("a subscriber whose inbox is not set up yet holds events back quietly, then gets them")
    func subscriberStillMigrating() async throws {
        try await ThrowawayDatabase.withPool(size: 4, migrations: Self.migrations, logger: Self.logger) { publisher in
            // The subscriber's database as at the first start, before its migrations ran.
            try await ThrowawayDatabase.withPool(size: 4, logger: Self.logger) { subscriber in
                let transport = LocalTransport()
                let log = LogRecorder()
                let source = EventBus(
                    service: "source", pool: publisher, transport: transport, logger: Logger(label: "test") { _ in log })
                let sink = EventBus(
                    service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"], handler: Self.recordNote,
                    logger: Self.logger)
                let ids = try await Self.enqueue(3, on: publisher)

                let error = await #expect(throws: InboxNotReady.self) {
                    try await transport.publish([OutgoingEvent(eventID: UUID(), routingKey: "note.added", body: "{}")], logger: Self.logger)
                }
                #expect(error?.service == "sink")
                await source.relay()
                #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 3)
                #expect(!log.messages.contains { $0.hasPrefix("warning") }, "\(log.messages)")

                try await migrate(subscriber, migrations: Self.migrations, logger: Self.logger)
                try await Task.sleep(for: .milliseconds(500))  // the relay's backoff after a failed attempt
                await source.relay()
                await sink.work()
                let applied = try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }
                #expect(Set(applied) == Set(ids))
            }
        }
    }

    @Test("a subscriber whose inbox is held up does not hold up another's")
    func inboxesFilledIndependently() async throws {
        try await Self.withPair { publisher, slow in
            try await ThrowawayDatabase.withPool(size: 4, migrations: Self.migrations, logger: Self.logger) { fast in
                let transport = LocalTransport()
                let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
                // Attached first, so a relay that filled inboxes one after another would wait on it.
                _ = EventBus(
                    service: "slow", pool: slow, transport: transport, subscribesTo: ["note.*"], handler: Self.recordNote, logger: Self.logger)
                _ = EventBus(
                    service: "fast", pool: fast, transport: transport, subscribesTo: ["note.*"], handler: Self.recordNote, logger: Self.logger)
                let count = { (pool: PostgresPool) in try await pool.query("SELECT count(*) AS n FROM inbox")[0].decode("n", as: Int.self) }
                _ = try await Self.enqueue(3, on: publisher)

                let locked = Counter()
                let fastFilled = Counter()
                async let lock: Void = slow.transaction { connection in
                    try connection.execute("LOCK TABLE inbox IN EXCLUSIVE MODE")
                    locked.increment()
                    let deadline = Date().addingTimeInterval(30)
                    while fastFilled.value == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                }
                try await eventually("slow inbox locked") { locked.value == 1 }
                async let relayed: Void = source.relay()
                try await eventually("the fast subscriber's inbox filled while the slow one is locked", timeout: .seconds(20)) {
                    try await count(fast) == 3
                }
                #expect(try await count(slow) == 0)
                fastFilled.increment()
                try await lock
                await relayed
                #expect(try await count(slow) == 3)
                #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 0)
            }
        }
    }

    @Test("an event rolled back with its transaction is never published")
    func rolledBack() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["#"], handler: Self.recordNote,
                logger: Self.logger)
            await #expect(throws: Refused.self) {
                try await publisher.transaction { connection in
                    try Outbox.enqueue(Event(type: "note.added", requestID: nil, data: Note(text: "never")), on: connection)
                    throw Refused()
                }
            }
            await source.relay()
            await sink.work()
            let delivered = try await subscriber.query("SELECT count(*) AS n FROM inbox")[0].decode("n", as: Int.self)
            #expect(delivered == 0)
        }
    }

    @Test("a failing handler is retried with backoff, parked after its attempts, and an admin retry applies it")
    func parking() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            var settings = EventBus.Settings()
            settings.maximumAttempts = 3
            let failing = Counter()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: { delivery, connection in
                    if failing.value < 3 {
                        failing.increment()
                        // The handler's partial work must not survive its failure.
                        try connection.execute("INSERT INTO applied (event_id, text) VALUES (\(UUID()), 'partial')")
                        throw Refused()
                    }
                    try Self.recordNote(delivery, connection)
                }, settings: settings, logger: Self.logger)
            let ids = try await Self.enqueue(1, on: publisher)
            await source.relay()
            for _ in 0..<3 {
                try await subscriber.execute("UPDATE inbox SET next_attempt_at = now() WHERE parked_at IS NULL")
                await sink.work()
            }
            let parked = try await sink.parked(limit: 10, after: nil)
            #expect(parked.items.map(\.id) == ids)
            #expect(parked.items.first?.attempts == 3)
            #expect(parked.items.first?.lastError?.contains("Refused") == true)
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == 0)

            try await subscriber.execute("UPDATE inbox SET parked_at = NULL, attempts = 0, next_attempt_at = now()")
            await sink.work()
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == 1)
            #expect(try await sink.parked(limit: 10, after: nil).items.isEmpty)
        }
    }

    /// Records what it is asked to publish; refuses the batches whose numbers (from 1) it is told to,
    /// and holds the first batch until `release()` when told to hold.
    final class RecordingTransport: EventTransport {
        let refusing: Set<Int>
        let batches = Synchronization.Mutex<[[OutgoingEvent]]>([])
        let holding: Bool
        let (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
        let (released, releasedContinuation) = AsyncStream.makeStream(of: Void.self)

        init(refusing: Set<Int> = [], holdingTheFirst holding: Bool = false) {
            self.refusing = refusing
            self.holding = holding
        }

        var description: String { "recording" }
        var isAvailable: Bool { true }
        var crossesProcesses: Bool { false }
        var service: (any Service)? { nil }
        func attach(_ inbox: Inbox, logger: Logger) -> (any Service)? { nil }

        func publish(_ events: [OutgoingEvent], logger: Logger) async throws {
            let number = batches.withLock { batches in
                batches.append(events)
                return batches.count
            }
            if holding && number == 1 {
                enteredContinuation.yield()
                for await _ in released { break }
            }
            if refusing.contains(number) { throw Refused() }
        }

        func release() { releasedContinuation.yield() }
        var counts: [Int] { batches.withLock { $0.map(\.count) } }
        var published: [UUID] { batches.withLock { $0.flatMap { $0.map(\.eventID) } } }
    }

    static func relay(_ pool: PostgresPool, through transport: RecordingTransport) async {
        await EventBus(service: "source", pool: pool, transport: transport, logger: logger).relay()
    }

    /// A relay run in a task of its own, returned once it is inside its first publish, which lasts
    /// until the transport is released.
    static func relayHeldInPublish(_ pool: PostgresPool) async -> (transport: RecordingTransport, task: Task<Void, Never>) {
        let held = RecordingTransport(holdingTheFirst: true)
        let task = Task { await relay(pool, through: held) }
        for await _ in held.entered { break }
        return (held, task)
    }

    static func unsent(on pool: PostgresPool) async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n")
    }

    @Test("the relay publishes batch after batch in order, each marked sent once published, and a refused batch only is left to retry")
    func relayBatches() async throws {
        try await ThrowawayDatabase.withPool(size: 2, migrations: Self.migrations, logger: Self.logger) { publisher in
            let ids = try await Self.enqueue(450, on: publisher)

            // The second batch refused: the first stays sent, the second and third are left unsent.
            let refusing = RecordingTransport(refusing: [2])
            await Self.relay(publisher, through: refusing)
            #expect(refusing.counts == [200, 200])
            #expect(try await Self.unsent(on: publisher) == 250)

            // Once accepted, the rest go out in order, and a batch shorter than the limit ends the round.
            let accepting = RecordingTransport()
            await Self.relay(publisher, through: accepting)
            #expect(accepting.counts == [200, 50])
            #expect(Array(refusing.published.prefix(200)) + accepting.published == ids)
            #expect(try await Self.unsent(on: publisher) == 0)
        }
    }

    @Test("rows being published stay unsent to others until the transport has them, and a second relay skips them")
    func relayHoldsItsBatch() async throws {
        try await ThrowawayDatabase.withPool(size: 4, migrations: Self.migrations, logger: Self.logger) { publisher in
            let ids = try await Self.enqueue(250, on: publisher)
            let (held, first) = await Self.relayHeldInPublish(publisher)

            // The first 200 are marked in a transaction still open: unsent as others see them, locked,
            // and written once (no lease column written before the mark).
            #expect(try await Self.unsent(on: publisher) == 250)
            #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE claimed_until IS NOT NULL")[0].decode("n", as: Int.self) == 0)
            let second = RecordingTransport()
            await Self.relay(publisher, through: second)
            #expect(second.published == Array(ids.suffix(50)))
            #expect(try await Self.unsent(on: publisher) == 200)

            held.release()
            await first.value
            #expect(held.published == Array(ids.prefix(200)))
            #expect(try await Self.unsent(on: publisher) == 0)
        }
    }

    @Test("a relay whose connection dies while it publishes leaves its batch unsent, and the next relay sends it")
    func relayDiesMidPublish() async throws {
        try await ThrowawayDatabase.withPool(size: 4, migrations: Self.migrations, logger: Self.logger) { publisher in
            let ids = try await Self.enqueue(30, on: publisher)
            let (held, first) = await Self.relayHeldInPublish(publisher)
            // As if its process were killed: the server ends the transaction that marked the batch.
            let killed = try await publisher.query(
                "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'")
            #expect(killed.count == 1)
            held.release()
            await first.value
            #expect(held.published == ids)
            #expect(try await Self.unsent(on: publisher) == 30)

            let next = RecordingTransport()
            await Self.relay(publisher, through: next)
            #expect(next.published == ids)
            #expect(try await Self.unsent(on: publisher) == 0)
        }
    }

    @Test("held events stay in the outbox until released")
    func hold() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            var settings = EventBus.Settings()
            settings.holdOutbox = true
            let held = EventBus(service: "source", pool: publisher, transport: transport, settings: settings, logger: Self.logger)
            let sink = EventBus(service: "sink", pool: subscriber, transport: transport, subscribesTo: ["#"], handler: Self.recordNote, logger: Self.logger)
            _ = try await Self.enqueue(4, on: publisher)
            await held.relay()
            #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 4)
            let released = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            await released.relay()
            await sink.work()
            #expect(try await subscriber.query("SELECT count(*) AS n FROM applied")[0].decode("n", as: Int.self) == 4)
        }
    }
}

final class Counter: Sendable {
    private let count = Synchronization.Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}
