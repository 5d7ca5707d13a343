import EcomAPI

/// The events each of ecom's consuming services takes, and no more: its event bus subscribes to
/// them, and on RabbitMQ its queue is bound to them (`AMQPTopology.ecom`), so no service stores
/// or receives an event only to drop it.
package enum Subscriptions {
    /// Reservations are made for new orders, released for cancelled ones and taken out of stock
    /// for shipped ones.
    package static let products = [EventType.orderCreated, EventType.orderCancelled, EventType.orderShipped]
    /// Pending orders are settled by the products service's answer.
    package static let orders = [EventType.stockReserved, EventType.stockRejected]
    /// New orders' lines leave the cart; a rejected order's come back.
    package static let cart = [EventType.orderCreated, EventType.orderRejected]
}
