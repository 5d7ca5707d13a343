import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import Logging
import Synchronization

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
///
/// `appliedHere` holds the orders whose removal this process's direct call has committed: their
/// `order.created` would change nothing, so it costs no statement.
func makeOrderEventsHandler(appliedHere: AppliedOrders) -> EventHandler {
    { delivery, connection in try handleOrderEvent(delivery, appliedHere: appliedHere, on: connection) }
}

private func handleOrderEvent(_ delivery: Delivery, appliedHere: AppliedOrders, on connection: SQLConnection) throws {
    switch delivery.header.type {
    case EventType.orderCreated:
        let order = try delivery.decode(OrderCreated.self).data
        guard !appliedHere.contains(order.orderID) else { return }
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

/// Order ids whose removal from the cart has committed, as this process saw it; the oldest are
/// forgotten past `capacity`, which only costs a statement that changes nothing.
package final class AppliedOrders: Sendable {
    private struct State {
        var ids: Set<UUID> = []
        var order: [UUID] = []
        var next = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    package init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    func insert(_ id: UUID) {
        state.withLock { state in
            guard state.ids.insert(id).inserted else { return }
            if state.order.count < capacity {
                state.order.append(id)
            } else {
                state.ids.remove(state.order[state.next])
                state.order[state.next] = id
                state.next = (state.next + 1) % capacity
            }
        }
    }

    func contains(_ id: UUID) -> Bool {
        state.withLock { $0.ids.contains(id) }
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
