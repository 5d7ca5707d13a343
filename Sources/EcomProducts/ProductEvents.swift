import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation

/// The events that announce changes of the catalog and of stock, written in the transaction that
/// makes the change: `product.created|changed|archived`, `stock.changed` with the new available
/// count, and `stock.low` when a product's available units fall below the threshold.
package struct ProductEvents: Sendable {
    package static let defaultLowStockThreshold = 5

    /// `stock.low` is announced when available units go from this many or more to fewer, for a
    /// product without a threshold of its own.
    package var lowStockThreshold: Int

    package init(lowStockThreshold: Int = Self.defaultLowStockThreshold) {
        self.lowStockThreshold = lowStockThreshold
    }

    /// One product's available units before and after a change, and its own low-stock threshold.
    struct StockMove {
        var productID: UUID
        var before: Int
        var after: Int
        var threshold: Int?
    }

    /// `stock.changed` for each product whose available units moved, and `stock.low` for those
    /// that fell below their threshold (their own, or else the store's).
    func stock(_ moves: [StockMove], cause: String, orderID: UUID? = nil, requestID: String? = nil) throws -> [OutgoingEvent] {
        var events: [OutgoingEvent] = []
        for move in moves where move.before != move.after {
            events.append(
                try Outbox.encode(
                    Event(
                        type: EventType.stockChanged, requestID: requestID,
                        data: StockChanged(productID: move.productID, available: move.after, cause: cause, orderID: orderID))))
            let threshold = move.threshold ?? lowStockThreshold
            if move.before >= threshold, move.after < threshold {
                events.append(
                    try Outbox.encode(
                        Event(
                            type: EventType.stockLow, requestID: requestID,
                            data: StockLow(productID: move.productID, available: move.after, threshold: threshold))))
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
