import EcomAPI
import EcomMessaging
import EcomPostgres

/// Settles pending orders from the products service's answers; a rejection is announced as
/// `order.rejected`, naming the lines that could not be reserved.
///
/// Only a pending order moves: one cancelled or timed out meanwhile stays as it is (its
/// `order.cancelled` makes the products service release a late reservation).
enum StockEvents {
    static func handle(_ delivery: Delivery, on connection: SQLConnection) throws {
        switch delivery.header.type {
        case EventType.stockReserved:
            let event = try delivery.decode(StockReserved.self)
            _ = try OrderRepository.transition(
                id: event.data.orderID, userID: nil, from: [.pending], to: .confirmed, reason: nil, on: connection)
        case EventType.stockRejected:
            let event = try delivery.decode(StockRejected.self).data
            // Answers written before `lines` existed name one product, without quantities.
            let lines = try event.lines ?? event.productID.map { productID in
                let requested = try connection.query(
                    "SELECT quantity FROM order_lines WHERE order_id = \(event.orderID) AND product_id = \(productID)"
                ).first?.decode("quantity", as: Int.self)
                return [RejectedLine(productID: productID, requested: requested ?? 0, available: nil)]
            } ?? []
            _ = try OrderRepository.reject(
                id: event.orderID, reason: event.reason, lines: lines, requestID: delivery.header.requestID, on: connection)
        default:
            break
        }
    }
}
