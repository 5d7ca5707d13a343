import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation

/// The events that announce changes of the catalog and of stock, written in the transaction that
/// makes the change: `product.created|changed|archived`, `stock.changed` with the new available
/// count, and `stock.low` when a product's available units fall below the threshold.
package struct ProductEvents: Sendable {
    package static let defaultLowStockThreshold = 5

    /// `stock.low` is announced when available units go from this many or more to fewer.
    package var lowStockThreshold: Int

    package init(lowStockThreshold: Int = Self.defaultLowStockThreshold) {
        self.lowStockThreshold = lowStockThreshold
    }

    /// One product's available units before and after a change.
    struct StockMove {
        var productID: UUID
        var before: Int
        var after: Int
    }

    /// `stock.changed` for each product whose available units moved, and `stock.low` for those
    /// that fell below the threshold.
    func stock(_ moves: [StockMove], cause: String, orderID: UUID? = nil, requestID: String? = nil) throws -> [OutgoingEvent] {
        var events: [OutgoingEvent] = []
        for move in moves where move.before != move.after {
            events.append(
                try Outbox.encode(
                    Event(
                        type: EventType.stockChanged, requestID: requestID,
                        data: StockChanged(productID: move.productID, available: move.after, cause: cause, orderID: orderID))))
            if move.before >= lowStockThreshold, move.after < lowStockThreshold {
                events.append(
                    try Outbox.encode(
                        Event(
                            type: EventType.stockLow, requestID: requestID,
                            data: StockLow(productID: move.productID, available: move.after, threshold: lowStockThreshold))))
            }
        }
        return events
    }

    /// `product.created`, `product.changed` or `product.archived` for `product` as it now stands.
    static func product(_ product: ProductRecord, _ type: String) throws -> OutgoingEvent {
        try Outbox.encode(
            Event(
                type: type, requestID: nil,
                data: ProductChanged(
                    productID: product.id, sku: product.sku, name: product.name, priceCents: product.priceCents,
                    available: product.available, isActive: product.isActive && product.archivedAt == nil,
                    archived: product.archivedAt != nil)))
    }
}
