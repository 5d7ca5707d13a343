import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import EcomMessaging

@Suite struct AMQPEndpointTests {
    @Test("AMQP URLs are parsed like RabbitMQ's, and printed without the password")
    func parsing() throws {
        let endpoint = try AMQPEndpoint(url: "amqp://shop:s%40cret@broker.internal:5673/ecom%2Fprod")
        #expect(endpoint.host == "broker.internal")
        #expect(endpoint.port == 5673)
        #expect(endpoint.user == "shop")
        #expect(endpoint.password == "s@cret")
        #expect(endpoint.virtualHost == "ecom/prod")
        #expect(!endpoint.description.contains("cret"))

        let defaults = try AMQPEndpoint(url: "amqp://localhost")
        #expect(defaults.port == 5672)
        #expect(defaults.user == "guest")
        #expect(defaults.virtualHost == "/")

        #expect(throws: AMQPError.self) { try AMQPEndpoint(url: "http://localhost:5672") }
        #expect(!defaults.tls)
        let tls = try AMQPEndpoint(url: "amqps://shop:secret@mq.internal/ecom")
        #expect(tls.tls && tls.port == 5671 && tls.host == "mq.internal")
        #expect(tls.description == "amqps://shop@mq.internal:5671/ecom")
        #expect(throws: AMQPError.self) { try AMQPEndpoint(url: "amqp://localhost:notaport") }
    }

    @Test("several URLs separated by commas are a cluster's nodes, printed without their passwords")
    func severalURLs() throws {
        let endpoints = try AMQPEndpoints(urls: "amqp://shop:one@mq1:5672/ecom, amqp://shop:two@mq2:5673/ecom,")
        #expect(endpoints.all.map(\.host) == ["mq1", "mq2"])
        #expect(endpoints.all.map(\.port) == [5672, 5673])
        #expect(endpoints.description == "amqp://shop@mq1:5672/ecom,amqp://shop@mq2:5673/ecom")
        #expect(throws: AMQPError.self) { try AMQPEndpoints(urls: " , ") }
        #expect(throws: AMQPError.self) { try AMQPEndpoints(urls: "amqp://mq1,http://mq2") }
    }

    @Test("a message that is not an event of its routing key is refused with the reason")
    func malformed() throws {
        let event = Event(type: "note.added", requestID: nil, data: EventBusTests.Note(text: "hi"))
        let body = try JSONEncoder.ecom.encode(event)
        func message(_ body: Data, key: String = "note.added", id: String? = nil) -> AMQPMessage {
            AMQPMessage(deliveryTag: 1, routingKey: key, messageID: id, body: body, redelivered: false)
        }
        let good = try AMQPConsumer.event(in: message(body, id: event.id.lowercased)).get()
        #expect(good.eventID == event.id)
        #expect(good.routingKey == "note.added")
        #expect(throws: AMQPConsumer.Malformed.self) { try AMQPConsumer.event(in: message(Data("not json".utf8))).get() }
        #expect(throws: AMQPConsumer.Malformed.self) { try AMQPConsumer.event(in: message(Data([0xff, 0xfe]))).get() }
        #expect(throws: AMQPConsumer.Malformed.self) { try AMQPConsumer.event(in: message(body, id: UUID().lowercased)).get() }
        #expect(throws: AMQPConsumer.Malformed.self) { try AMQPConsumer.event(in: message(body, key: "note.removed")).get() }
    }

    @Test("ecom's topology routes each event type to the services that take it")
    func topology() {
        func queues(for key: String) -> [String] {
            AMQPTopology.ecom.queues.filter { $0.bindings.contains { routingKey(key, matches: $0) } }.map(\.name).sorted()
        }
        #expect(queues(for: EventType.orderCreated) == ["ecom.cart", "ecom.products"])
        #expect(queues(for: EventType.orderCancelled) == ["ecom.products"])
        #expect(queues(for: EventType.orderShipped) == ["ecom.products"])
        // The cart puts a rejected order's lines back.
        #expect(queues(for: EventType.orderRejected) == ["ecom.cart"])
        #expect(queues(for: EventType.stockReserved) == ["ecom.orders"])
        #expect(queues(for: EventType.stockRejected) == ["ecom.orders"])
        // Taken by no service of the store's own: none of its queues holds them.
        for type in [EventType.orderConfirmed, EventType.orderDelivered, EventType.stockChanged, EventType.stockLow, EventType.productChanged] {
            #expect(queues(for: type).isEmpty, "\(type)")
        }
        let extended = AMQPTopology.ecom.adding(service: "products", routingKeys: ["order.created", "product.*"])
        #expect(extended.queues.first { $0.name == "ecom.products" }?.bindings == Subscriptions.products + ["product.*"])
    }
}

/// Events between two databases over a real RabbitMQ, each test on a virtual host of its own.
@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"] != nil, "set ECOM_TEST_DATABASE_URL to run PostgreSQL tests"),
    .enabled(if: TestBroker.isAvailable, Comment(rawValue: TestBroker.skipReason)))
struct AMQPTransportTests {
    static let sinkTopology = AMQPTopology(queues: [.init(name: AMQPTopology.queueName(of: "sink"), bindings: ["note.*"])])

    @Test("a binding an earlier topology made and this one retires is taken away when it is declared")
    func retiredBinding() async throws {
        try await TestBroker.withVirtualHost { host in
            func publish(_ type: String, with transport: AMQPTransport) async throws {
                let event = Event(type: type, requestID: nil, data: EventBusTests.Note(text: type))
                let body = String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self)
                try await transport.publish([OutgoingEvent(eventID: event.id, routingKey: type, body: body)], logger: EventBusTests.logger)
            }
            let sink = AMQPTopology.queueName(of: "sink")
            let before = try AMQPTransport(
                url: host.amqpURL, topology: AMQPTopology(queues: [.init(name: sink, bindings: ["note.*"])]), logger: EventBusTests.logger)
            let after = try AMQPTransport(
                url: host.amqpURL, topology: AMQPTopology(queues: [.init(name: sink, bindings: ["note.added"], retired: ["note.*", "other.*"])]),
                logger: EventBusTests.logger)
            try await running([before.service!]) {
                try await publish("note.removed", with: before)
                #expect(try await host.queue(sink)?.messages == 1)
            }
            try await running([after.service!]) {
                // Declared when it connects: `note.*` is unbound (`other.*`, never bound, is no error).
                try await publish("note.added", with: after)
                try await publish("note.removed", with: after)
                #expect(try await host.queue(sink)?.messages == 2)
                let bodies = try await host.peek(sink)
                #expect(bodies.count == 2 && bodies[1].contains("note.added"))
            }
        }
    }

    @Test("events cross the broker and are applied once, with two consumers competing for the queue")
    func competingConsumers() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                let first = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: EventBusTests.logger)
                let second = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: EventBusTests.logger)
                let source = EventBus(service: "source", pool: publisher, transport: first, logger: EventBusTests.logger)
                let sinks = [first, second].map {
                    EventBus(
                        service: "sink", pool: subscriber, transport: $0, subscribesTo: ["note.*"], handler: EventBusTests.recordNote,
                        logger: EventBusTests.logger)
                }
                try await running(source.services + sinks.flatMap(\.services) + [first.service!, second.service!]) {
                    try await eventually("both consumers attached") { try await host.queue("ecom.sink")?.consumers == 2 }
                    let ids = try await EventBusTests.enqueue(300, on: publisher)
                    _ = try await EventBusTests.enqueue(5, on: publisher, type: "other.thing")
                    source.outboxChanged()
                    try await eventually("all applied") { try await Self.count("applied", in: subscriber) == 300 }
                    #expect(Set(try await subscriber.query("SELECT event_id FROM applied").map { try $0.decode("event_id", as: UUID.self) }) == Set(ids))
                    #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 0)
                    #expect(first.isAvailable && second.isAvailable)

                    // A redelivery of everything, as after a crash between commit and acknowledgement.
                    let events = try await publisher.query("SELECT event_id, routing_key, body FROM outbox WHERE routing_key LIKE 'note.%'").map {
                        OutgoingEvent(eventID: try $0.decode("event_id"), routingKey: try $0.decode("routing_key"), body: try $0.decode("body"))
                    }
                    try await second.publish(events, logger: EventBusTests.logger)
                    try await eventually("queue drained") { try await host.queue("ecom.sink")?.messages == 0 }
                    try await Task.sleep(for: .milliseconds(500))
                    #expect(try await Self.count("applied", in: subscriber) == 300)
                    #expect(try await sinks[0].parked(limit: 10, after: nil).items.isEmpty)
                }
            }
        }
    }

    @Test("over amqps:// with the broker's authority trusted, events cross on TLS connections; without it, or by another name than the certificate's, no connection")
    func tls() async throws {
        let authority = try #require(TestBroker.authority, "the test broker has a TLS listener (.ci/lib.sh starts it)")
        try await TestBroker.withVirtualHost { host in
            let url = try #require(host.amqpsURL)
            try await EventBusTests.withPair { publisher, subscriber in
                let transport = try AMQPTransport(url: url, authorities: authority, topology: Self.sinkTopology, logger: EventBusTests.logger)
                try await AMQPTransportTests.runningNotes(on: transport, from: publisher, to: subscriber) { source in
                    try await eventually("consumer attached") { try await host.queue("ecom.sink")?.consumers == 1 }
                    _ = try await EventBusTests.enqueue(20, on: publisher)
                    source.outboxChanged()
                    try await eventually("all applied") { try await Self.count("applied", in: subscriber) == 20 }
                    #expect(transport.isAvailable)
                    // The transport's publishing connection and its consumer's.
                    #expect(try await host.connectionsUseTLS() == [true, true])
                }
            }
            // The system's authorities alone do not vouch for the test broker's certificate.
            let endpoints = try AMQPEndpoints(urls: url)
            #expect { _ = try endpoints.connect(from: 0, heartbeat: 0, timeout: .seconds(5)) } throws: { error in
                "\(error)".contains("peer cert verification failed")
            }
            // Trusted, but reached by a name the certificate does not hold as a DNS name (rabbitmq-c
            // matches DNS names only, so an address is another name).
            let byAddress = try AMQPEndpoints(urls: url.replacingOccurrences(of: "@localhost:", with: "@127.0.0.1:"), authorities: authority)
            #expect { _ = try byAddress.connect(from: 0, heartbeat: 0, timeout: .seconds(5)) } throws: { error in
                "\(error)".contains("hostname verification failed")
            }
        }
    }

    @Test("a message that is not an event goes to the dead-letter queue, logged, and the consumer carries on")
    func poisonMessage() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                let log = LogRecorder()
                let logger = Logger(label: "test") { _ in log }
                let transport = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: logger)
                try await AMQPTransportTests.runningNotes(on: transport, from: publisher, to: subscriber, logger: logger) { source in
                    try await eventually("consumer attached") { try await host.queue("ecom.sink")?.consumers == 1 }
                    try await host.publish(exchange: "orders", routingKey: "note.added", body: "{not an event", messageID: "poison-1")
                    try await eventually("dead-lettered") { try await host.queue("ecom.dead-letter")?.messages == 1 }
                    #expect(try await host.peek("ecom.dead-letter") == ["{not an event"])
                    #expect(log.messages.contains { $0.contains("dead-letter") && $0.contains("not an event envelope") && $0.contains("poison-1") })

                    _ = try await EventBusTests.enqueue(3, on: publisher)
                    source.outboxChanged()
                    try await eventually("later events applied") { try await Self.count("applied", in: subscriber) == 3 }
                    #expect(try await host.queue("ecom.sink")?.messages == 0)
                    #expect(try await host.queue("ecom.dead-letter")?.messages == 1)
                }
            }
        }
    }

    @Test("with several broker URLs, one that does not answer is passed over, by the publisher and the consumer alike")
    func failover() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                let url = try #require(URL(string: host.amqpURL))
                // A port nothing listens on, then the broker: every connection starts with the dead one.
                let dead = host.amqpURL.replacingOccurrences(of: ":\(try #require(url.port))/", with: ":1/")
                let log = LogRecorder()
                let logger = Logger(label: "test") { _ in log }
                let transport = try AMQPTransport(url: dead + "," + host.amqpURL, topology: Self.sinkTopology, logger: logger)
                #expect(transport.endpoints.all.count == 2)
                try await AMQPTransportTests.runningNotes(on: transport, from: publisher, to: subscriber, logger: logger) { source in
                    try await eventually("connected") { transport.isAvailable }
                    _ = try await EventBusTests.enqueue(10, on: publisher)
                    source.outboxChanged()
                    try await eventually("applied") { try await Self.count("applied", in: subscriber) == 10 }
                }
                let port = url.port!
                #expect(log.messages.contains { $0.contains("publishing events to RabbitMQ") && $0.contains(":\(port)/") })
                #expect(log.messages.contains { $0.contains("consuming events from RabbitMQ") && $0.contains(":\(port)/") })
            }
        }
    }

    @Test("an event published before its consumer ever started waits in the consumer's queue")
    func consumerStartsLater() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                let publishing = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: EventBusTests.logger)
                let source = EventBus(service: "source", pool: publisher, transport: publishing, logger: EventBusTests.logger)
                _ = try await EventBusTests.enqueue(4, on: publisher)
                await source.relay()
                #expect(try await host.queue("ecom.sink")?.messages == 4)

                let consuming = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: EventBusTests.logger)
                let sink = EventBus(
                    service: "sink", pool: subscriber, transport: consuming, subscribesTo: ["note.*"], handler: EventBusTests.recordNote,
                    logger: EventBusTests.logger)
                try await running(sink.services + [consuming.service!]) {
                    try await eventually("applied") { try await Self.count("applied", in: subscriber) == 4 }
                }
            }
        }
    }

    @Test("quorum queues: declared replicated with a delivery limit and at-least-once dead-lettering; a classic queue of the same name is named as the obstacle")
    func quorumQueues() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                var topology = Self.sinkTopology
                topology.queueType = .quorum
                let transport = try AMQPTransport(url: host.amqpURL, topology: topology, logger: EventBusTests.logger)
                try await AMQPTransportTests.runningNotes(on: transport, from: publisher, to: subscriber) { source in
                    try await eventually("consumer attached") { try await host.queue("ecom.sink")?.consumers == 1 }
                    let queue = try await host.definition(of: "ecom.sink")
                    #expect(queue["type"] as? String == "quorum")
                    let arguments = try #require(queue["arguments"] as? [String: Any])
                    #expect(arguments["x-delivery-limit"] as? Int == 1000)
                    #expect(arguments["x-dead-letter-strategy"] as? String == "at-least-once")
                    #expect(arguments["x-overflow"] as? String == "reject-publish")
                    #expect(arguments["x-dead-letter-exchange"] as? String == "orders.dead-letter")
                    #expect(try await host.definition(of: "ecom.dead-letter")["type"] as? String == "quorum")

                    _ = try await EventBusTests.enqueue(50, on: publisher)
                    source.outboxChanged()
                    try await host.publish(exchange: "orders", routingKey: "note.added", body: "{not an event", messageID: "poison-q")
                    try await eventually("applied") { try await Self.count("applied", in: subscriber) == 50 }
                    try await eventually("dead-lettered") { try await host.queue("ecom.dead-letter")?.messages == 1 }
                    #expect(try await host.peek("ecom.dead-letter") == ["{not an event"])
                }

                // The same names declared classic (a process not yet told of the change) are refused, saying why.
                let log = LogRecorder()
                let classic = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: Logger(label: "test") { _ in log })
                try await running([classic.service!]) {
                    try await eventually("refusal logged") { log.messages.contains { $0.contains("From classic to quorum queues") } }
                    #expect(!classic.isAvailable)
                }
                #expect(log.messages.contains { $0.contains("declaring queue ecom.dead-letter") && $0.contains("another type than classic") })
            }
        }
    }

    @Test("dead letters: listed with the queue and reason, and left in place; a replayed event is applied; discarded ones are gone")
    func deadLetters() async throws {
        try await TestBroker.withVirtualHost { host in
            try await EventBusTests.withPair { _, subscriber in
                let transport = try AMQPTransport(url: host.amqpURL, topology: Self.sinkTopology, logger: EventBusTests.logger)
                let sink = EventBus(
                    service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"], handler: EventBusTests.recordNote,
                    logger: EventBusTests.logger)
                try await running(sink.services + [transport.service!]) {
                    try await eventually("consumer attached") { try await host.queue("ecom.sink")?.consumers == 1 }
                    // Junk the consumer refuses, and an event put straight into the dead-letter exchange (as a
                    // quorum queue does with one past its delivery limit).
                    try await host.publish(exchange: "orders", routingKey: "note.added", body: "{junk", messageID: "junk-1")
                    let event = Event(type: "note.added", requestID: nil, data: EventBusTests.Note(text: "parked in the broker"))
                    try await host.publish(
                        exchange: "orders.dead-letter", routingKey: "note.added",
                        body: String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self), messageID: event.id.lowercased)
                    try await eventually("both dead-lettered") { try await host.queue("ecom.dead-letter")?.messages == 2 }

                    let queue = try DeadLetterQueue(urls: host.amqpURL, topology: Self.sinkTopology)
                    let listed = try await queue.process(limit: 100) { _ in .keep }.map(\.0)
                    #expect(listed.count == 2)
                    let junk = try #require(listed.first { $0.id == "junk-1" })
                    #expect(junk.routingKey == "note.added" && junk.queue == "ecom.sink" && junk.reason == "rejected" && junk.body == "{junk")
                    #expect(listed.contains { $0.id == event.id.lowercased && $0.queue == nil && $0.body.contains("parked in the broker") })
                    try await eventually("a listing leaves them") { try await host.queue("ecom.dead-letter")?.messages == 2 }

                    let replayed = try await queue.process(limit: 100) { [id = event.id.lowercased] in $0.id == id ? .replay : .keep }
                    #expect(replayed.filter { $0.1 == .replay }.map(\.0.id) == [event.id.lowercased])
                    try await eventually("the replayed event applied") {
                        try await subscriber.query("SELECT text FROM applied").map { try $0.decode("text", as: String.self) } == ["parked in the broker"]
                    }
                    try await eventually("the junk stays") { try await host.queue("ecom.dead-letter")?.messages == 1 }

                    let discarded = try await queue.process(limit: 100) { _ in .discard }
                    #expect(discarded.map(\.0.id) == ["junk-1"])
                    try await eventually("none left") { try await host.queue("ecom.dead-letter")?.messages == 0 }
                }
            }
        }
    }

    /// Runs `body` while a source bus relays notes from `publisher` over `transport` and a sink
    /// bus applies them in `subscriber`; `body` rings the source.
    static func runningNotes(
        on transport: AMQPTransport, from publisher: PostgresPool, to subscriber: PostgresPool, logger: Logger = EventBusTests.logger,
        _ body: (EventBus) async throws -> Void
    ) async throws {
        let source = EventBus(service: "source", pool: publisher, transport: transport, logger: logger)
        let sink = EventBus(
            service: "sink", pool: subscriber, transport: transport, subscribesTo: ["note.*"], handler: EventBusTests.recordNote, logger: logger)
        try await running(source.services + sink.services + [transport.service!]) { try await body(source) }
    }

    static func count(_ table: String, in pool: PostgresPool) async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM \(unescaped: table)")[0].decode("n", as: Int.self)
    }
}

/// Broker faults, on a private broker of each test's own; one at a time, since each runs a node.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["ECOM_TEST_DATABASE_URL"] != nil, "set ECOM_TEST_DATABASE_URL to run PostgreSQL tests"),
    .enabled(if: TestBroker.isAvailable, Comment(rawValue: TestBroker.skipReason)))
struct AMQPBrokerFaultTests {
    @Test("a broker restart loses nothing: events wait in the outbox, readiness reports it, connections come back on their own")
    func brokerRestart() async throws {
        let broker = try await PrivateBroker.start()
        defer { Task { await broker.remove() } }
        try await broker.withVirtualHost { host in
            try await EventBusTests.withPair { publisher, subscriber in
                var settings = AMQPTransport.Settings()
                settings.heartbeat = 2
                settings.maximumBackoff = .seconds(2)
                let transport = try AMQPTransport(
                    url: host.amqpURL, topology: AMQPTransportTests.sinkTopology, settings: settings, logger: EventBusTests.logger)
                try await AMQPTransportTests.runningNotes(on: transport, from: publisher, to: subscriber) { source in
                    try await eventually("connected") { transport.isAvailable }
                    _ = try await EventBusTests.enqueue(20, on: publisher)
                    source.outboxChanged()
                    try await eventually("first events applied") { try await AMQPTransportTests.count("applied", in: subscriber) == 20 }

                    try await broker.pause()
                    try await eventually("outage noticed") { !transport.isAvailable }
                    _ = try await EventBusTests.enqueue(20, on: publisher)
                    source.outboxChanged()
                    try await Task.sleep(for: .seconds(2))
                    #expect(try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 20)

                    try await broker.resume()
                    try await eventually("reconnected") { transport.isAvailable }
                    try await eventually("held events applied") { try await AMQPTransportTests.count("applied", in: subscriber) == 40 }
                    // The relay marks rows sent once the broker has confirmed them, which may be after their consumer applied them.
                    try await eventually("outbox marked sent") {
                        try await publisher.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 0
                    }
                }
            }
        }
        await broker.remove()
    }
}

/// Runs `services` until `body` returns, then shuts them down gracefully.
func running(_ services: [any Service], _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(
        configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: EventBusTests.logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result = await Result { try await body() }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        try result.get()
    }
}

/// Polls `condition` every 100 ms for up to `timeout`, and fails the test if it never holds.
func eventually(_ what: Comment, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out waiting: \(what)")
    throw CancellationError()
}
