/// The exchanges, queues and bindings events travel through on RabbitMQ.
///
/// Every connection declares all of it, publishers included, so an event published before
/// its consumer's first start waits in that consumer's durable queue instead of being dropped.
package struct AMQPTopology: Sendable, Equatable {
    package struct Queue: Sendable, Equatable {
        package var name: String
        /// Topic patterns routed to this queue from the events exchange.
        package var bindings: [String]
        /// Patterns an earlier ecom bound this queue to and this one does not: unbound when the
        /// topology is declared, so a broker set up before stops routing there what the service drops.
        package var retired: [String]

        package init(name: String, bindings: [String], retired: [String] = []) {
            self.name = name
            self.bindings = bindings
            self.retired = retired
        }
    }

    /// The durable topic exchange every event is published to, by its type.
    package var exchange = "orders"
    /// Where queues send what their consumer rejects: messages that are not events.
    package var deadLetterExchange = "orders.dead-letter"
    package var deadLetterQueue = "ecom.dead-letter"
    package var queues: [Queue]
    /// The type of every queue declared, the dead-letter queue included.
    package var queueType = AMQPQueueType.classic
    /// Deliveries of one message a quorum queue allows before it dead-letters it: a guard against
    /// a message that kills its consumer, high enough never to trip on reconnections.
    package var deliveryLimit = 1000

    package init(queues: [Queue]) {
        self.queues = queues
    }

    /// The queue a consuming service reads: one per service, shared by all its processes.
    package static func queueName(of service: String) -> String { "ecom.\(service)" }

    /// ecom's own, each queue bound to what its service takes (`Subscriptions`): products take
    /// new, cancelled and shipped orders, orders take the products service's answers, and the cart
    /// takes new orders (to remove their lines) and rejected ones (to put them back).
    package static let ecom = AMQPTopology(queues: [
        Queue(name: queueName(of: "products"), bindings: Subscriptions.products, retired: ["order.*"]),
        Queue(name: queueName(of: "orders"), bindings: Subscriptions.orders, retired: ["stock.*"]),
        Queue(name: queueName(of: "cart"), bindings: Subscriptions.cart),
    ])

    /// This topology with `service`'s queue bound to `routingKeys` as well.
    func adding(service: String, routingKeys: [String]) -> AMQPTopology {
        var topology = self
        let name = Self.queueName(of: service)
        if let index = topology.queues.firstIndex(where: { $0.name == name }) {
            for key in routingKeys where !topology.queues[index].bindings.contains(key) {
                topology.queues[index].bindings.append(key)
            }
        } else {
            topology.queues.append(Queue(name: name, bindings: routingKeys))
        }
        return topology
    }
}

/// What kind of queues events wait in.
package enum AMQPQueueType: String, Sendable, CaseIterable {
    /// One node holds a queue: the broker's default, fine for a single broker.
    case classic
    /// Replicated across a cluster's nodes (Raft), so a queue survives losing a minority of them.
    case quorum
}
