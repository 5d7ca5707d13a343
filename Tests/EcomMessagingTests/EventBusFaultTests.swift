import EcomAPI
import EcomPostgres
import EcomServerKit
import EcomTestSupport
import Foundation
import Logging
import Prometheus
import Testing

@testable import EcomMessaging

/// Passing database faults are waited out however long they last; only failures a retry cannot fix park.
extension EventBusTests {
    /// An error type of its own that declares itself transient, as a pool that stays full might.
    struct PoolBusy: TransientError {}

    static let passingFaults: [any Error] = [
        SQLError(kind: .queryCanceled, sqlState: "57014", message: "canceling statement due to statement timeout"),
        SQLError(kind: .other, sqlState: "55P03", message: "canceling statement due to lock timeout"),
        SQLError(kind: .other, sqlState: "53100", message: "could not extend file: No space left on device"),
        SQLError(kind: .other, sqlState: "53300", message: "sorry, too many clients already"),
        SQLError(kind: .other, sqlState: "57P01", message: "terminating connection due to administrator command"),
        SQLError(kind: .other, sqlState: "57P03", message: "the database system is starting up"),
        SQLError(kind: .connectionFailure, sqlState: "08006", message: "connection failure"),
        SQLError(kind: .connectionFailure, message: "server closed the connection unexpectedly"),
        SQLError(kind: .deadlock, sqlState: "40P01", message: "deadlock detected"),
        PoolBusy(),
    ]

    static func settings(maximumAttempts: Int) -> EventBus.Settings {
        var settings = EventBus.Settings()
        settings.maximumAttempts = maximumAttempts
        settings.transientRetryDelay = .milliseconds(5)
        settings.maximumTransientRetryDelay = .milliseconds(50)
        return settings
    }

    /// Runs the worker until the subscriber has applied `count` events.
    static func work(_ sink: EventBus, until count: Int, in subscriber: PostgresPool) async throws {
        try await eventually("\(count) applied") {
            await sink.work()
            return try await AMQPTransportTests.count("applied", in: subscriber) == count
        }
    }

    @Test("thirty passing faults in a row, ten times the park limit, are retried until the event applies, and nothing parks")
    func passingFaultsNeverPark() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let faults = Counter()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: { delivery, connection in
                    if faults.value < 30 {
                        defer { faults.increment() }
                        try connection.execute("INSERT INTO applied (event_id, text) VALUES (\(UUID()), 'partial')")
                        throw Self.passingFaults[faults.value % Self.passingFaults.count]
                    }
                    try Self.recordNote(delivery, connection)
                }, settings: Self.settings(maximumAttempts: 3), logger: Self.logger)
            let ids = try await Self.enqueue(1, on: publisher)
            await source.relay()
            try await Self.work(sink, until: 1, in: subscriber)

            #expect(faults.value == 30)
            #expect(try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) } == ids)
            #expect(try await sink.parked(limit: 10, after: nil).items.isEmpty)
            // Only the attempt that applied it counts.
            #expect(try await subscriber.query("SELECT attempts FROM inbox")[0].decode("attempts", as: Int.self) == 1)
        }
    }

    @Test("a table locked for longer than many lock timeouts of the handler holds the event back, and it applies once the lock goes")
    func lockTimeoutsAreWaitedOut() async throws {
        try await Self.withPair { publisher, subscriber in
            let transport = LocalTransport()
            let timeouts = Counter()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let sink = EventBus(
                service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: { delivery, connection in
                    try connection.execute("SET LOCAL lock_timeout = '20ms'")
                    do {
                        try Self.recordNote(delivery, connection)
                    } catch let error as SQLError where error.sqlState == "55P03" {
                        timeouts.increment()
                        throw error
                    }
                }, settings: Self.settings(maximumAttempts: 3), logger: Self.logger)
            // Held until the handler has timed out ten times the park limit.
            let locked = Counter()
            async let lock: Void = subscriber.transaction { connection in
                try connection.execute("LOCK TABLE applied IN EXCLUSIVE MODE")
                locked.increment()
                let deadline = Date().addingTimeInterval(60)
                while timeouts.value < 30 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            }
            try await eventually("table locked") { locked.value == 1 }
            let ids = try await Self.enqueue(1, on: publisher)
            await source.relay()
            try await Self.work(sink, until: 1, in: subscriber)
            try await lock

            #expect(timeouts.value >= 30)
            #expect(try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) } == ids)
            #expect(try await sink.parked(limit: 10, after: nil).items.isEmpty)
        }
    }

    @Test("a failure a retry cannot fix parks after the limit, counted in ecom_events_parked_total and logged as an error")
    func unfixableFailureParks() async throws {
        EcomMetrics.bootstrap()
        try await Self.withPair { publisher, subscriber in
            let log = LogRecorder()
            let service = "sink-\(UUID().uuidString.prefix(8).lowercased())"
            let transport = LocalTransport()
            let source = EventBus(service: "source", pool: publisher, transport: transport, logger: Self.logger)
            let sink = EventBus(
                service: service, pool: subscriber, transport: transport, subscribesTo: ["note.*"],
                handler: { _, connection in
                    // A constraint the event's data breaks: the same every time.
                    try connection.execute("INSERT INTO applied (event_id, text) VALUES (NULL, 'broken')")
                }, settings: Self.settings(maximumAttempts: 3), logger: Logger(label: "test") { _ in log })
            let ids = try await Self.enqueue(1, on: publisher)
            await source.relay()
            try await eventually("parked") {
                try await subscriber.execute("UPDATE inbox SET next_attempt_at = now() WHERE parked_at IS NULL")
                await sink.work()
                return try await !sink.parked(limit: 10, after: nil).items.isEmpty
            }

            let parked = try await sink.parked(limit: 10, after: nil).items
            #expect(parked.map(\.id) == ids)
            #expect(parked.first?.attempts == 3)
            #expect(parked.first?.lastError?.contains("23502") == true)
            let line = try #require(log.messages.first { $0.hasPrefix("error event parked") })
            for part in ["service=\(service)", "event_id=\(ids[0].lowercased)", "type=note.added", "error=PostgreSQL notNullViolation [23502]"] {
                #expect(line.contains(part), "\(line) names \(part)")
            }
            #expect(Self.metric("ecom_events_parked_total", service: service) == 1)
            #expect(Self.metric("ecom_events_parked", service: service) == 1)
        }
    }

    /// The value of a metric of `service` in the process's Prometheus registry.
    static func metric(_ name: String, service: String) -> Double? {
        var buffer: [UInt8] = []
        EcomMetrics.registry.emit(into: &buffer)
        let prefix = "\(name){service=\"\(service)\"} "
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(prefix) }
            .flatMap { Double($0.dropFirst(prefix.count)) }
    }
}
