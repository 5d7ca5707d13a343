import EcomAPI
import EcomMessaging
import EcomPostgres

/// Settles pending orders from the products service's answers.
///
/// Only a pending order moves: one cancelled or timed out meanwhile stays as it is (its
/// `order.cancelled` makes the products service release a late reservation).
enum StockEvents {
    static func handle(_ delivery: Delivery, on connection: PostgresConnection) throws {
        switch delivery.header.type {
        case EventType.stockReserved:
            let event = try delivery.decode(StockReserved.self)
            _ = try OrderRepository.transition(
                id: event.data.orderID, userID: nil, from: [.pending], to: .confirmed, reason: nil, on: connection)
        case EventType.stockRejected:
            let event = try delivery.decode(StockRejected.self)
            _ = try OrderRepository.transition(
                id: event.data.orderID, userID: nil, from: [.pending], to: .rejected, reason: event.data.reason, on: connection)
        default:
            break
        }
    }
}
