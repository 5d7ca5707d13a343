import EcomAPI
import EcomMessaging
import EcomPostgres

/// The cart's consumer of `order.created`: the same once-per-order removal as the orders
/// service's direct call, inside the transaction that records the event as processed. So a cart
/// that was down during checkout still loses the ordered lines once it is back, and whichever
/// of the call and the event arrives second changes nothing.
let orderCreatedHandler: EventHandler = { delivery, connection in
    guard delivery.header.type == EventType.orderCreated else { return }
    let order = try delivery.decode(OrderCreated.self).data
    try PostgresCartRepository.applyOrder(
        CartOrderApplied(orderID: order.orderID, lines: order.lines), for: order.userID, on: connection)
}
