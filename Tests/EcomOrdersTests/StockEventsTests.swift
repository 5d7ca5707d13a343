import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Testing

@testable import EcomMessaging
@testable import EcomOrders

@Suite(.enabled(if: ThrowawayDatabase.isAvailable, Comment(rawValue: ThrowawayDatabase.skipReason)))
struct StockEventsTests {
    /// Hands an event to the orders' handler in a transaction, as the inbox worker does.
    static func deliver(_ payload: some Codable & Sendable, as type: String, to store: OrderStore) async throws {
        let pool = try #require(store.pool)
        let body = try JSONEncoder.ecom.encode(Event(type: type, requestID: "stock-test", data: payload))
        let delivery = Delivery(header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: type, body: body)
        let handler = StockEvents(repository: PostgresOrderRepository(pool: pool))
        try await pool.transaction { connection in try handler.handle(delivery, on: connection) }
    }

    @Test("stock.reserved confirms a pending order once, announcing order.confirmed once")
    func reservedConfirms() async throws {
        try await Backend.postgres.run { store in
            let order = try await store.placeOrder()
            try await Self.deliver(StockReserved(orderID: order.id), as: EventType.stockReserved, to: store)
            try await Self.deliver(StockReserved(orderID: order.id), as: EventType.stockReserved, to: store)
            #expect(try await store.repository.find(id: order.id, userID: nil)?.status == .confirmed)
            #expect(try await store.announced(about: order.id) == [EventType.orderCreated, EventType.orderConfirmed])
        }
    }

    @Test("a batch confirms its pending orders, each once and announced in the batch's order, and applies a rejection between them in its place")
    func batchConfirms() async throws {
        try await Backend.postgres.run { store in
            let pool = try #require(store.pool)
            let (first, second, cancelled, rejected, last) = (
                try await store.placeOrder(), try await store.placeOrder(), try await store.placeOrder(), try await store.placeOrder(),
                try await store.placeOrder())
            try await store.move(cancelled, through: [.cancel])
            func delivery(_ payload: some Codable & Sendable, as type: String) throws -> Delivery {
                let body = try JSONEncoder.ecom.encode(Event(type: type, requestID: "stock-test", data: payload))
                return Delivery(header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: type, body: body)
            }
            let batch = [
                try delivery(StockReserved(orderID: second.id), as: EventType.stockReserved),
                try delivery(StockReserved(orderID: cancelled.id), as: EventType.stockReserved),
                try delivery(StockReserved(orderID: first.id), as: EventType.stockReserved),
                try delivery(StockReserved(orderID: second.id), as: EventType.stockReserved),
                try delivery(
                    StockRejected(orderID: rejected.id, reason: "insufficient_stock", productID: nil, lines: []), as: EventType.stockRejected),
                try delivery(StockReserved(orderID: last.id), as: EventType.stockReserved),
            ]
            let handler = StockEvents(repository: PostgresOrderRepository(pool: pool))
            try await pool.transaction { connection in try handler.handle(batch, on: connection) }
            for order in [first, second, last] {
                #expect(try await store.repository.find(id: order.id, userID: nil)?.status == .confirmed)
                #expect(try await store.announced(about: order.id) == [EventType.orderCreated, EventType.orderConfirmed])
            }
            #expect(try await store.repository.find(id: cancelled.id, userID: nil)?.status == .cancelled)
            #expect(try await store.repository.find(id: rejected.id, userID: nil)?.status == .rejected)
            let settled = try await store.announced().filter { $0.type != EventType.orderCreated && $0.type != EventType.orderCancelled }
            #expect(settled.map(\.orderID) == [second.id, first.id, rejected.id, last.id])
        }
    }

    @Test("stock.rejected rejects a pending order, naming the lines, and announces order.rejected with every ordered line")
    func rejectedRejects() async throws {
        try await Backend.postgres.run { store in
            let order = try await store.placeOrder()
            let short = RejectedLine(productID: Lines.kettle.productID, requested: 2, available: 1)
            try await Self.deliver(
                StockRejected(orderID: order.id, reason: "insufficient_stock", productID: short.productID, lines: [short]),
                as: EventType.stockRejected, to: store)
            let rejected = try #require(try await store.repository.find(id: order.id, userID: nil))
            #expect(rejected.status == .rejected && rejected.reason == "insufficient_stock")
            var named = short
            named.name = "Kettle"
            #expect(rejected.rejection == OrderRejection(reason: "insufficient_stock", lines: [named]))
            let event = try #require(try await Self.rejections(in: store).first)
            #expect(event.orderID == order.id && event.userID == order.userID && event.lines == [named])
            #expect(event.ordered == [Lines.kettle, Lines.mug].map { OrderedQuantity(productID: $0.productID, quantity: $0.quantity) })
        }
    }

    @Test("a stock.rejected written before answers named lines takes the requested quantity from the order")
    func legacyRejection() async throws {
        try await Backend.postgres.run { store in
            let order = try await store.placeOrder()
            try await Self.deliver(
                StockRejected(orderID: order.id, reason: "product_unavailable", productID: Lines.kettle.productID, lines: nil),
                as: EventType.stockRejected, to: store)
            let rejection = try #require(try await store.repository.find(id: order.id, userID: nil)?.rejection)
            #expect(rejection.lines == [RejectedLine(productID: Lines.kettle.productID, name: "Kettle", requested: 2, available: nil)])
        }
    }

    @Test("an answer for an order no longer pending changes nothing and announces nothing")
    func lateAnswers() async throws {
        try await Backend.postgres.run { store in
            let cancelled = try await store.placeOrder()
            try await store.move(cancelled, through: [.cancel])
            let confirmed = try await store.placeOrder()
            try await store.move(confirmed, through: [.confirm])
            for order in [cancelled, confirmed] {
                try await Self.deliver(StockReserved(orderID: order.id), as: EventType.stockReserved, to: store)
                try await Self.deliver(
                    StockRejected(orderID: order.id, reason: "insufficient_stock", productID: nil, lines: []),
                    as: EventType.stockRejected, to: store)
            }
            #expect(try await store.repository.find(id: cancelled.id, userID: nil)?.status == .cancelled)
            #expect(try await store.repository.find(id: confirmed.id, userID: nil)?.status == .confirmed)
            #expect(try await Self.rejections(in: store).isEmpty)
        }
    }

    /// The `order.rejected` events in the outbox, oldest first.
    static func rejections(in store: OrderStore) async throws -> [OrderRejected] {
        try await #require(store.pool).query(
            "SELECT body FROM outbox WHERE routing_key = \(EventType.orderRejected) ORDER BY seq"
        ).map { try JSONDecoder.ecom.decode(Event<OrderRejected>.self, from: Data(try $0.decode("body", as: String.self).utf8)).data }
    }
}
