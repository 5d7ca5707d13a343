import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import Testing

@testable import EcomMessaging

/// The consumer's connection survives what it receives and what its database does.
extension AMQPTransportTests {
    /// How often the consumer connected, by its log.
    static func connections(in log: LogRecorder) -> Int {
        log.messages.filter { $0.contains("consuming events from RabbitMQ") }.count
    }

    @Test("junk right after an event, last in the consumer's batch, is dead-lettered without closing its channel")
    func junkLastInBatch() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                // Published before the consumer starts, so that it takes them in batches that end with junk.
                let publishing = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: EventBusTests.logger)
                for index in 0..<5 {
                    let event = Event(type: "note.added", requestID: nil, data: EventBusTests.Note(text: "note \(index)"))
                    let body = String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self)
                    try await publishing.publish(
                        [OutgoingEvent(eventID: event.id, routingKey: event.type, body: body)], logger: EventBusTests.logger)
                    try await host.publish(exchange: "orders", routingKey: "note.added", body: "{junk \(index)", messageID: "junk-\(index)")
                }
                try await eventually("all ten queued") { try await host.queue("ecom.sink")?.messages == 10 }

                let log = LogRecorder()
                let logger = Logger(label: "test") { _ in log }
                let consuming = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: logger)
                let source = EventBus(service: "source", pool: publisher, transport: publishing, logger: EventBusTests.logger)
                let sink = EventBus(
                    service: "sink", pool: subscriber, transport: consuming, subscribesTo: ["note.*"], handler: EventBusTests.recordNote,
                    logger: logger)
                try await running(source.services + sink.services + [publishing.service!, consuming.service!]) {
                    try await eventually("events applied") { try await Self.count("applied", in: subscriber) == 5 }
                    try await eventually("junk dead-lettered") { try await host.queue("ecom.dead-letter")?.messages == 5 }

                    _ = try await EventBusTests.enqueue(3, on: publisher)
                    source.outboxChanged()
                    try await eventually("later events applied") { try await Self.count("applied", in: subscriber) == 8 }
                    #expect(try await host.queue("ecom.sink")?.messages == 0)
                    #expect(Self.connections(in: log) == 1)
                    #expect(!log.messages.contains { $0.contains("lost RabbitMQ") }, "\(log.messages)")
                }
            }
        }
    }

    @Test("a consumer whose database refuses connections holds its deliveries on the same connection, and applies them once it answers")
    func databaseOutage() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                let log = LogRecorder()
                let logger = Logger(label: "test") { _ in log }
                let transport = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: logger)
                let source = EventBus(service: "source", pool: publisher, transport: transport, logger: EventBusTests.logger)
                let sink = EventBus(
                    service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"], handler: EventBusTests.recordNote,
                    settings: EventBusTests.settings(maximumAttempts: 3), logger: logger)
                let database: String = try await subscriber.query("SELECT current_database() AS name")[0].decode("name")
                let admin = PostgresPool(url: ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"]!, size: 1, logger: logger)
                func allowConnections(_ allowed: Bool) async throws {
                    try await admin.execute("ALTER DATABASE \"\(unescaped: database)\" ALLOW_CONNECTIONS \(unescaped: String(allowed))")
                    if !allowed {
                        try await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(database)")
                    }
                }
                let result = await Result {
                    try await running(source.services + sink.services + [transport.service!]) {
                        try await eventually("consumer attached") { try await host.queue("ecom.sink")?.consumers == 1 }
                        try await allowConnections(false)
                        let ids = try await EventBusTests.enqueue(5, on: publisher)
                        source.outboxChanged()
                        try await eventually("deliveries held") {
                            guard log.messages.contains(where: { $0.contains("cannot store events in the inbox") }) else { return false }
                            return try await host.queue("ecom.sink")?.messages == 0
                        }
                        // Long enough for several store attempts, each of which used to cost a reconnection.
                        try await Task.sleep(for: .seconds(3))
                        #expect(Self.connections(in: log) == 1)
                        #expect(try await host.queue("ecom.sink")?.consumers == 1)

                        try await allowConnections(true)
                        try await eventually("applied once the database answers") { try await Self.count("applied", in: subscriber) == 5 }
                        #expect(Set(try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }) == Set(ids))
                        #expect(try await sink.parked(limit: 10, after: nil).items.isEmpty)
                        #expect(Self.connections(in: log) == 1)
                        #expect(!log.messages.contains { $0.contains("lost RabbitMQ") }, "\(log.messages)")
                    }
                }
                try? await allowConnections(true)
                await admin.shutdown()
                try result.get()
            }
        }
    }
}
