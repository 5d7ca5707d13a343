import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import Logging

/// The cart's consumer of `order.created` and `order.rejected`.
///
/// `order.created`: the same once-per-order removal as the orders service's direct call, inside
/// the transaction that records the event as processed. So a cart that was down during checkout
/// still loses the ordered lines once it is back, and whichever of the call and the event
/// arrives second changes nothing.
///
/// `order.rejected`: marks the order's lines to come back (DESIGN §6.3). Which products are still
/// for sale is the products service's to say, and a handler runs inside a transaction, so the
/// lines are put back by `CartRestorer` afterwards.
let orderEventsHandler: EventHandler = { delivery, connection in
    switch delivery.header.type {
    case EventType.orderCreated:
        let order = try delivery.decode(OrderCreated.self).data
        try PostgresCartRepository.applyOrder(
            CartOrderApplied(orderID: order.orderID, lines: order.lines), for: order.userID, on: connection)
    case EventType.orderRejected:
        let order = try delivery.decode(OrderRejected.self).data
        try PostgresCartRepository.markRejected(
            CartOrderApplied(orderID: order.orderID, lines: order.ordered), for: order.userID, on: connection)
    default:
        return
    }
}

/// Puts the lines of rejected orders back into their carts, leaving out products no longer for sale.
package struct CartRestorer: Sendable {
    let repository: any CartRepository
    let catalog: ProductCatalog

    package init(repository: any CartRepository, catalog: ProductCatalog) {
        self.repository = repository
        self.catalog = catalog
    }

    /// Restores what is waiting; returns how many orders it put back. An unreachable catalog
    /// throws and leaves every order waiting for the next round.
    @discardableResult
    package func restorePending(limit: Int = 100) async throws -> Int {
        let orders = try await repository.ordersToRestore(limit: limit)
        guard !orders.isEmpty else { return 0 }
        let products = try await catalog.products(orders.flatMap { $0.lines.map(\.productID) }, requestID: nil)
        let forSale = Set(products.values.filter(\.isActive).map(\.id))
        var restored = 0
        for order in orders where try await repository.restore(order, forSale: forSale) {
            restored += 1
        }
        return restored
    }
}
