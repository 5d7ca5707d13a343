import EcomAPI
import Foundation
import Logging
import Metrics
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Events over RabbitMQ, for services in separate processes (or machines).
///
/// Publishing: persistent JSON messages on the `orders` topic exchange, `message_id` = event id,
/// on a confirm channel; `publish` returns only once the broker has confirmed every message,
/// so the relay marks outbox rows sent only then. Consuming: one durable queue per service,
/// manual acknowledgements sent after the delivered events are committed to the service's
/// inbox (whose primary key drops redeliveries), a prefetch limit, and a dead-letter queue for
/// messages that are not events. Connections that fail are rebuilt with backoff, topology
/// included; meanwhile events wait in the outboxes and `/ready` reports the outage.
package final class AMQPTransport: EventTransport {
    package struct Settings: Sendable {
        /// Seconds between heartbeats; a dead connection is noticed after about two.
        package var heartbeat = 5
        /// Unacknowledged messages a consumer holds at once.
        package var prefetch = 64
        /// Bound on connecting, each broker round trip, and waiting for confirms.
        package var timeout: Duration = .seconds(10)
        /// Longest wait between reconnection attempts.
        package var maximumBackoff: Duration = .seconds(10)

        package init() {}
    }

    package let endpoint: AMQPEndpoint
    let settings: Settings
    let logger: Logger
    private let topology: Locked<AMQPTopology>
    private let publisher: AMQPPublisher
    private let consumers = Mutex<[AMQPConsumer]>([])

    package init(url: String, topology: AMQPTopology = .ecom, settings: Settings = Settings(), logger: Logger) throws {
        endpoint = try AMQPEndpoint(url: url)
        self.settings = settings
        var logger = logger
        logger[metadataKey: "broker"] = .string(endpoint.description)
        self.logger = logger
        let topology = Locked(topology)
        self.topology = topology
        publisher = AMQPPublisher(endpoint: endpoint, settings: settings, topology: { topology.value }, logger: logger)
    }

    package func publish(_ events: [OutgoingEvent], logger: Logger) async throws {
        guard !events.isEmpty else { return }
        try await publisher.publish(events)
    }

    package func attach(_ inbox: Inbox, logger: Logger) -> (any Service)? {
        let current = topology.update { topology in
            topology = topology.adding(service: inbox.service, routingKeys: inbox.routingKeys)
            return topology
        }
        var logger = logger
        logger[metadataKey: "broker"] = .string(endpoint.description)
        let consumer = AMQPConsumer(
            inbox: inbox, queue: AMQPTopology.queueName(of: inbox.service), endpoint: endpoint, settings: settings,
            topology: current, logger: logger)
        consumers.withLock { $0.append(consumer) }
        return consumer
    }

    package var isAvailable: Bool {
        publisher.isConnected && consumers.withLock { $0 }.allSatisfy(\.isConnected)
    }

    package var crossesProcesses: Bool { true }

    package var description: String { "RabbitMQ at \(endpoint)" }

    /// A queue's ready messages and consumers, as the broker counts them; nil if there is no such queue.
    package static func queueState(url: String, queue: String) async throws -> (messages: Int, consumers: Int)? {
        let endpoint = try AMQPEndpoint(url: url)
        return try await NIOThreadPool.singleton.runIfActive {
            let connection = try AMQPConnection(endpoint, heartbeat: 0, timeout: .seconds(10))
            defer { connection.close() }
            do {
                let state = try connection.inspect(queue)
                return (state.messages, state.consumers)
            } catch let error as AMQPError where error.description.contains("404") {
                return nil
            }
        }
    }

    /// Keeps the publishing connection alive (heartbeats, reconnection) for as long as it runs.
    package var service: (any Service)? { publisher }
}

/// The publishing side: one connection on one thread, shared by every relay of the process.
final class AMQPPublisher: Service, @unchecked Sendable {
    private let endpoint: AMQPEndpoint
    private let settings: AMQPTransport.Settings
    private let topology: @Sendable () -> AMQPTopology
    private let logger: Logger
    /// rabbitmq-c blocks: all of its calls for this connection run on this one thread.
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// Touched only on `thread`.
    private var connection: AMQPConnection?
    private let connected = Atomic(false)
    private let failures = Atomic(0)

    init(endpoint: AMQPEndpoint, settings: AMQPTransport.Settings, topology: @escaping @Sendable () -> AMQPTopology, logger: Logger) {
        self.endpoint = endpoint
        self.settings = settings
        self.topology = topology
        self.logger = logger
        thread.start()
    }

    var isConnected: Bool { connected.load(ordering: .relaxed) }

    func publish(_ events: [OutgoingEvent]) async throws {
        let exchange = topology().exchange
        try await thread.runIfActive { [self] in
            let connection = try connectIfNeeded()
            do {
                try connection.publishConfirmed(
                    events.map { ($0.routingKey, $0.eventID.lowercased, $0.body) }, exchange: exchange, timeout: settings.timeout)
            } catch {
                disconnect(after: error)
                throw error
            }
        }
    }

    /// Connects at start, then beats and checks the connection every second, reconnecting with
    /// backoff while the broker is away.
    func run() async throws {
        var nextAttempt = ContinuousClock.now
        var backoff = Duration.milliseconds(250)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if ContinuousClock.now >= nextAttempt {
                let healthy = (try? await thread.runIfActive { [self] () -> Bool in
                    if let connection {
                        do {
                            try connection.poll()
                        } catch {
                            disconnect(after: error)
                            return false
                        }
                        return true
                    }
                    do {
                        _ = try connectIfNeeded()
                        return true
                    } catch {
                        noteFailure(error)
                        return false
                    }
                }) ?? false
                if healthy {
                    backoff = .milliseconds(250)
                } else {
                    nextAttempt = ContinuousClock.now + backoff.jittered
                    backoff = min(backoff * 2, settings.maximumBackoff)
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        _ = try? await thread.runIfActive { [self] in
            connection?.close()
            connection = nil
            connected.store(false, ordering: .relaxed)
        }
        try? await thread.shutdownGracefully()
    }

    /// On `thread` only.
    private func connectIfNeeded() throws -> AMQPConnection {
        if let connection { return connection }
        let connection = try AMQPConnection(endpoint, heartbeat: settings.heartbeat, timeout: settings.timeout)
        do {
            try connection.declare(topology())
            try connection.enableConfirms()
        } catch {
            connection.close()
            throw error
        }
        self.connection = connection
        connected.store(true, ordering: .relaxed)
        failures.store(0, ordering: .relaxed)
        logger.info("publishing events to RabbitMQ")
        return connection
    }

    /// On `thread` only.
    private func disconnect(after error: any Error) {
        connection?.close()
        connection = nil
        connected.store(false, ordering: .relaxed)
        noteFailure(error)
    }

    private func noteFailure(_ error: any Error) {
        let count = failures.wrappingAdd(1, ordering: .relaxed).newValue
        // The first failure, then one in twenty: a broker that is down for long is not a log flood.
        if count % 20 == 1 {
            logger.warning("event publisher cannot reach RabbitMQ; retrying", metadata: ["error": "\(error)", "attempt": "\(count)"])
        }
    }
}

/// One service's queue consumer: it stores what arrives in the service's inbox, then acknowledges.
final class AMQPConsumer: Service, @unchecked Sendable {
    private let inbox: Inbox
    private let queue: String
    private let endpoint: AMQPEndpoint
    private let settings: AMQPTransport.Settings
    private let topology: AMQPTopology
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let connected = Atomic(false)
    private let stopping = Atomic(false)

    init(inbox: Inbox, queue: String, endpoint: AMQPEndpoint, settings: AMQPTransport.Settings, topology: AMQPTopology, logger: Logger) {
        self.inbox = inbox
        self.queue = queue
        self.endpoint = endpoint
        self.settings = settings
        self.topology = topology
        var logger = logger
        logger[metadataKey: "queue"] = .string(queue)
        self.logger = logger
    }

    var isConnected: Bool { connected.load(ordering: .relaxed) }

    func run() async throws {
        thread.start()
        await withGracefulShutdownHandler {
            var backoff = Duration.milliseconds(250)
            var failures = 0
            while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
                do {
                    try await consume {
                        backoff = .milliseconds(250)
                        failures = 0
                    }
                } catch {
                    connected.store(false, ordering: .relaxed)
                    failures += 1
                    if failures % 20 == 1 {
                        logger.warning("event consumer lost RabbitMQ; reconnecting", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                    }
                    let wait = backoff.jittered
                    backoff = min(backoff * 2, settings.maximumBackoff)
                    let deadline = ContinuousClock.now + wait
                    while ContinuousClock.now < deadline && !stopping.load(ordering: .relaxed) && !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        connected.store(false, ordering: .relaxed)
        try? await thread.shutdownGracefully()
    }

    /// One connection's life: declare, consume, and store-then-acknowledge until it fails or
    /// the service stops. Unacknowledged messages go back to the queue when it closes.
    ///
    /// While the inbox's database cannot take them, deliveries are held unacknowledged: the
    /// prefetch limit then stops the broker from sending more, the connection stays up, and
    /// storing is tried again with backoff, so an outage of the database neither drops events
    /// nor cycles them through redeliveries.
    private func consume(connected onConnected: () -> Void) async throws {
        let connection = try await thread.runIfActive { [endpoint, settings, topology, queue] in
            let connection = try AMQPConnection(endpoint, heartbeat: settings.heartbeat, timeout: settings.timeout)
            do {
                try connection.declare(topology)
                try connection.consume(queue, prefetch: settings.prefetch)
            } catch {
                connection.close()
                throw error
            }
            return connection
        }
        connected.store(true, ordering: .relaxed)
        onConnected()
        logger.info("consuming events from RabbitMQ")
        do {
            var held: [Held] = []
            var outage = Backoff(first: .milliseconds(250), maximum: settings.maximumBackoff)
            while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
                let wait: Duration = held.isEmpty ? .seconds(1) : min(outage.remaining, .seconds(1))
                held += try await take(try await thread.runIfActive { [prefetch = settings.prefetch] in
                    try Self.receive(from: connection, upTo: prefetch, wait: wait)
                }, from: connection)
                guard !held.isEmpty, outage.isDue else { continue }
                let (stored, arrived) = try await store(held.compactMap(\.event), servicing: connection)
                switch stored {
                case .success:
                    // Only up to the last message taken: a dead-lettered one after it is settled
                    // already, and acknowledging its tag again would make the broker close the channel.
                    if let last = held.last {
                        try await thread.runIfActive { try connection.ack(last.deliveryTag, multiple: true) }
                    }
                    held = []
                    if outage.failures > 0 {
                        logger.notice("the inbox takes events again; consuming", metadata: ["attempts": "\(outage.failures + 1)"])
                    }
                    outage.succeeded()
                case .failure(let error):
                    let failures = outage.failed()
                    if failures % 20 == 1 {
                        logger.warning(
                            "cannot store events in the inbox; holding them unacknowledged until the database answers",
                            metadata: ["error": "\(error)", "attempt": "\(failures)", "held": "\(held.count)"])
                    }
                }
                held += try await take(arrived, from: connection)
            }
        } catch {
            _ = try? await thread.runIfActive { connection.close() }
            throw error
        }
        _ = try? await thread.runIfActive { connection.close() }
    }

    /// A delivery taken for the inbox, to be acknowledged once stored; `event` is nil for an event
    /// this service does not subscribe to, which is only acknowledged.
    private struct Held: Sendable {
        var deliveryTag: UInt64
        var event: OutgoingEvent?
    }

    /// The events among `messages`; the other messages go to the dead-letter queue at once.
    private func take(_ messages: [AMQPMessage], from connection: AMQPConnection) async throws -> [Held] {
        var taken: [Held] = []
        for message in messages {
            switch Self.event(in: message) {
            case .success(let event):
                taken.append(Held(deliveryTag: message.deliveryTag, event: inbox.accepts(event.routingKey) ? event : nil))
            case .failure(let reason):
                logger.error(
                    "message is not an event; sent to the dead-letter queue",
                    metadata: [
                        "reason": "\(reason)", "routing_key": "\(message.routingKey)",
                        "message_id": "\(message.messageID ?? "none")", "dead_letter_queue": "\(topology.deadLetterQueue)",
                    ])
                Counter(label: "ecom_events_dead_lettered_total", dimensions: [("service", inbox.service)]).increment()
                try await thread.runIfActive { try connection.deadLetter(message.deliveryTag) }
            }
        }
        return taken
    }

    /// Stores `events` in the inbox (committed before acknowledged: a crash in between
    /// redelivers, and the inbox drops the copy). Should the database take long, the connection
    /// is serviced meanwhile so that its heartbeats go on; what arrives then is returned.
    private func store(_ events: [OutgoingEvent], servicing connection: AMQPConnection) async throws -> (
        stored: Result<Void, any Error>, arrived: [AMQPMessage]
    ) {
        enum Step: Sendable {
            case stored(Result<Void, any Error>)
            case slow
        }
        return try await withThrowingTaskGroup(of: Step.self) { group in
            group.addTask { [inbox] in
                do {
                    try await inbox.store(events)
                    return .stored(.success(()))
                } catch {
                    return .stored(.failure(error))
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(1))
                return .slow
            }
            var arrived: [AMQPMessage] = []
            while let step = try await group.next() {
                switch step {
                case .stored(let result):
                    group.cancelAll()
                    return (result, arrived)
                case .slow:
                    arrived += try await thread.runIfActive { [prefetch = settings.prefetch] in
                        try Self.receive(from: connection, upTo: prefetch, wait: .milliseconds(100))
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(1))
                        return .slow
                    }
                }
            }
            throw CancellationError()
        }
    }

    /// Waits up to `wait` for a message, then takes whatever else has already arrived.
    private static func receive(from connection: AMQPConnection, upTo limit: Int, wait: Duration) throws -> [AMQPMessage] {
        guard let first = try connection.next(timeout: wait) else { return [] }
        var batch = [first]
        while batch.count < limit, let message = try connection.next(timeout: .zero) {
            batch.append(message)
        }
        return batch
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// The event a message carries, or why it is not one.
    static func event(in message: AMQPMessage) -> Result<OutgoingEvent, Malformed> {
        guard let body = String(data: message.body, encoding: .utf8) else {
            return .failure(Malformed(description: "body is not UTF-8"))
        }
        let header: EventHeader
        do {
            header = try JSONDecoder.ecom.decode(EventHeader.self, from: message.body)
        } catch {
            return .failure(Malformed(description: "body is not an event envelope: \(error)"))
        }
        if let messageID = message.messageID, messageID.lowercased() != header.id.lowercased {
            return .failure(Malformed(description: "message_id \(messageID) differs from the event id \(header.id.lowercased)"))
        }
        guard header.type == message.routingKey else {
            return .failure(Malformed(description: "event type \(header.type) differs from the routing key"))
        }
        return .success(OutgoingEvent(eventID: header.id, routingKey: message.routingKey, body: body))
    }
}

/// A value behind a lock, shareable between closures.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    func update<Result: Sendable>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

extension Duration {
    /// This duration give or take a quarter, so that processes that lost the broker together
    /// do not all come back in the same instant.
    var jittered: Duration { self * Double.random(in: 0.75...1.25) }
}
