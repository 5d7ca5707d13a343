import EcomAPI
import EcomMessaging
import EcomPostgres

/// Settles pending orders from the products service's answers; a rejection is announced as
/// `order.rejected`, naming the lines that could not be reserved.
///
/// Only a pending order moves: one cancelled or timed out meanwhile stays as it is (its
/// `order.cancelled` makes the products service release a late reservation).
struct StockEvents: Sendable {
    let repository: PostgresOrderRepository

    /// The bus's `BatchHandler`: what `handle` does to each event, in order, with each run of
    /// consecutive `stock.reserved` confirmed by one statement.
    func handle(_ deliveries: [Delivery], on connection: SQLConnection) throws {
        var index = deliveries.startIndex
        while index < deliveries.endIndex {
            let run = deliveries[index...].prefix { $0.header.type == EventType.stockReserved }
            guard !run.isEmpty else {
                try handle(deliveries[index], on: connection)
                index += 1
                continue
            }
            try confirm(Array(run), on: connection)
            index += run.count
        }
    }

    /// Confirms the pending orders of `reserved`, each a `stock.reserved`, in one statement.
    private func confirm(_ reserved: [Delivery], on connection: SQLConnection) throws {
        let orders = try reserved.map { delivery in
            (id: try delivery.decode(StockReserved.self).data.orderID, requestID: delivery.header.requestID)
        }
        _ = try repository.confirm(orders, in: connection)
    }

    /// The bus's `EventHandler`: runs in the transaction that records the event as processed.
    func handle(_ delivery: Delivery, on connection: SQLConnection) throws {
        switch delivery.header.type {
        case EventType.stockReserved:
            try confirm([delivery], on: connection)
        case EventType.stockRejected:
            let event = try delivery.decode(StockRejected.self).data
            // Answers written before `lines` existed name one product, without quantities.
            let lines = try event.lines ?? event.productID.map { productID in
                let requested = try repository.orderedQuantity(of: productID, in: event.orderID, in: connection)
                return [RejectedLine(productID: productID, requested: requested ?? 0, available: nil)]
            } ?? []
            _ = try repository.reject(
                id: event.orderID, reason: event.reason, lines: lines, requestID: delivery.header.requestID, in: connection)
        default:
            break
        }
    }
}
