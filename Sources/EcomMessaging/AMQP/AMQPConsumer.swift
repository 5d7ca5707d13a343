import EcomAPI
import Foundation
import Logging
import Metrics
import NIOPosix
import ServiceLifecycle
import Synchronization

/// One service's queue consumer: it stores what arrives in the service's inbox, then acknowledges.
final class AMQPConsumer: Service, @unchecked Sendable {
    private let inbox: Inbox
    private let queue: String
    private let endpoints: AMQPEndpoints
    /// The endpoint tried first: the last one that answered.
    private let preferred = Atomic(0)
    private let settings: AMQPTransport.Settings
    private let topology: AMQPTopology
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let connected = Atomic(false)
    private let stopping = Atomic(false)

    init(inbox: Inbox, queue: String, endpoints: AMQPEndpoints, settings: AMQPTransport.Settings, topology: AMQPTopology, logger: Logger) {
        self.inbox = inbox
        self.queue = queue
        self.endpoints = endpoints
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
        let (connection, index) = try await thread.runIfActive { [self, endpoints, settings, topology, queue] in
            let (connection, index) = try endpoints.connect(
                from: preferred.load(ordering: .relaxed), heartbeat: settings.heartbeat, timeout: settings.timeout)
            preferred.store(index, ordering: .relaxed)
            do {
                try connection.declare(topology)
                try connection.consume(queue, prefetch: settings.prefetch)
            } catch {
                connection.close()
                throw error
            }
            return (connection, index)
        }
        connected.store(true, ordering: .relaxed)
        onConnected()
        logger.info("consuming events from RabbitMQ", metadata: ["node": "\(endpoints.all[index])"])
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
