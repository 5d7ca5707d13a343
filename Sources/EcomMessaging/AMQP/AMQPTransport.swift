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

    package let endpoints: AMQPEndpoints
    let settings: Settings
    let logger: Logger
    private let topology: Locked<AMQPTopology>
    private let publisher: AMQPPublisher
    private let consumers = Mutex<[AMQPConsumer]>([])

    /// `url` is one `amqp://` or `amqps://` URL, or several separated by commas (a cluster's
    /// nodes), tried in turn; `authorities` a PEM file of authorities trusted for `amqps://`
    /// besides the system's.
    package init(
        url: String, authorities: String? = nil, topology: AMQPTopology = .ecom, settings: Settings = Settings(), logger: Logger
    ) throws {
        endpoints = try AMQPEndpoints(urls: url, authorities: authorities)
        self.settings = settings
        var logger = logger
        logger[metadataKey: "broker"] = .string(endpoints.description)
        self.logger = logger
        let topology = Locked(topology)
        self.topology = topology
        publisher = AMQPPublisher(endpoints: endpoints, settings: settings, topology: { topology.value }, logger: logger)
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
        logger[metadataKey: "broker"] = .string(endpoints.description)
        let consumer = AMQPConsumer(
            inbox: inbox, queue: AMQPTopology.queueName(of: inbox.service), endpoints: endpoints, settings: settings,
            topology: current, logger: logger)
        consumers.withLock { $0.append(consumer) }
        return consumer
    }

    package var isAvailable: Bool {
        publisher.isConnected && consumers.withLock { $0 }.allSatisfy(\.isConnected)
    }

    package var crossesProcesses: Bool { true }

    package var description: String { "RabbitMQ at \(endpoints)" }

    /// A queue's ready messages and consumers, as the broker counts them; nil if there is no such queue.
    package static func queueState(url: String, queue: String) async throws -> (messages: Int, consumers: Int)? {
        let endpoints = try AMQPEndpoints(urls: url)
        return try await NIOThreadPool.singleton.runIfActive {
            let connection = try endpoints.connect(from: 0, heartbeat: 0, timeout: .seconds(10)).0
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
    private let endpoints: AMQPEndpoints
    private let settings: AMQPTransport.Settings
    private let topology: @Sendable () -> AMQPTopology
    private let logger: Logger
    /// rabbitmq-c blocks: all of its calls for this connection run on this one thread.
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// Touched only on `thread`.
    private var connection: AMQPConnection?
    /// The endpoint tried first: the last one that answered. Touched only on `thread`.
    private var preferred = 0
    private let connected = Atomic(false)
    private let failures = Atomic(0)

    init(endpoints: AMQPEndpoints, settings: AMQPTransport.Settings, topology: @escaping @Sendable () -> AMQPTopology, logger: Logger) {
        self.endpoints = endpoints
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
        let (connection, index) = try endpoints.connect(from: preferred, heartbeat: settings.heartbeat, timeout: settings.timeout)
        preferred = index
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
        logger.info("publishing events to RabbitMQ", metadata: ["node": "\(endpoints.all[index])"])
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
