import Foundation
import NIOPosix

/// A message in the dead-letter queue: one a consumer refused as not being an event, or (on quorum
/// queues) one delivered more times than the delivery limit allows.
package struct DeadLetter: Sendable, Equatable, Codable {
    /// The message id (an event's id), "" for a message published without one.
    package var id: String
    /// The routing key it was published with (an event's type).
    package var routingKey: String
    /// The queue that dead-lettered it, and why: `rejected` (not an event), `delivery_limit`.
    package var queue: String?
    package var reason: String?
    /// The body as text (bytes that are not UTF-8 replaced).
    package var body: String

    enum CodingKeys: String, CodingKey {
        case id, queue, reason, body
        case routingKey = "routing_key"
    }

    package init(id: String, routingKey: String, queue: String?, reason: String?, body: String) {
        self.id = id
        self.routingKey = routingKey
        self.queue = queue
        self.reason = reason
        self.body = body
    }
}

/// The dead-letter queue of ecom's topology, read and emptied by an operator.
///
/// Every operation takes the queue's messages on a consumer of its own and settles only those it
/// acts on: a message replayed is published again to the events exchange with its routing key
/// and id, confirmed by the broker, and only then acknowledged (so a failure in between leaves it
/// in both places, and the inboxes drop the second copy of an event); a message discarded is
/// acknowledged; every other message goes back to the queue when the connection closes. On a
/// quorum queue each time a message is taken and handed back counts as a delivery.
package struct DeadLetterQueue: Sendable {
    package enum Action: Sendable { case keep, replay, discard }

    private let endpoints: AMQPEndpoints
    private let topology: AMQPTopology
    private let timeout: Duration

    /// `authorities`: a PEM file of authorities trusted for `amqps://` besides the system's.
    package init(urls: String, authorities: String? = nil, topology: AMQPTopology = .ecom, timeout: Duration = .seconds(10)) throws {
        endpoints = try AMQPEndpoints(urls: urls, authorities: authorities)
        self.topology = topology
        self.timeout = timeout
    }

    /// Takes up to `limit` messages, asks `decide` what to do with each, does it, and returns them
    /// with what was done. The broker calls block, so they run on a thread of NIO's pool.
    package func process(limit: Int, _ decide: @escaping @Sendable (DeadLetter) -> Action) async throws -> [(DeadLetter, Action)] {
        try await NIOThreadPool.singleton.runIfActive { try processBlocking(limit: limit, decide) }
    }

    private func processBlocking(limit: Int, _ decide: (DeadLetter) -> Action) throws -> [(DeadLetter, Action)] {
        let (consumer, index) = try endpoints.connect(from: 0, heartbeat: 0, timeout: timeout)
        defer { consumer.close() }
        let queue = topology.deadLetterQueue
        guard (try? consumer.inspect(queue)) != nil else {
            throw AMQPError("no queue \(queue) on \(endpoints.all[index]): no ecom service has connected to this broker yet")
        }
        try consumer.consume(queue, prefetch: min(max(limit, 1), 65_535))
        var taken: [(AMQPMessage, DeadLetter, Action)] = []
        // The broker pushes what the queue holds at once; a quiet moment means it is all here.
        while taken.count < limit, let message = try consumer.next(timeout: .milliseconds(500)) {
            let letter = DeadLetter(
                id: message.messageID ?? "", routingKey: message.routingKey, queue: message.firstDeathQueue,
                reason: message.firstDeathReason, body: String(decoding: message.body, as: UTF8.self))
            taken.append((message, letter, decide(letter)))
        }
        let replays = taken.filter { $0.2 == .replay }
        if !replays.isEmpty {
            let (publisher, _) = try endpoints.connect(from: index, heartbeat: 0, timeout: timeout)
            defer { publisher.close() }
            try publisher.enableConfirms()
            try publisher.publishConfirmed(
                replays.map { (message, letter, _) in
                    (
                        routingKey: message.routingKey, messageID: letter.id.isEmpty ? UUID().uuidString.lowercased() : letter.id,
                        body: letter.body
                    )
                },
                exchange: topology.exchange, timeout: timeout)
        }
        // The broker handles them before the channel's close, which hands the kept ones back.
        for (message, _, action) in taken where action != .keep {
            try consumer.ack(message.deliveryTag, multiple: false)
        }
        return taken.map { ($0.1, $0.2) }
    }
}
