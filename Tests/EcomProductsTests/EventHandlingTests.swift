import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import EcomProducts

/// The reservation handler behind the real event bus, over the local transport.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct EventHandlingTests {
    static func publish<Payload>(_ event: Event<Payload>, through transport: LocalTransport) async throws {
        let body = String(decoding: try JSONEncoder.ecom.encode(event), as: UTF8.self)
        try await transport.publish([OutgoingEvent(eventID: event.id, routingKey: event.type, body: body)], logger: Logger(label: "test"))
    }

    /// Runs the products service's event bus on `pool` (over a local transport, which `body` publishes
    /// through) while `body` runs, then shuts it down.
    static func withBus(
        on pool: PostgresPool, pollInterval: Duration = .milliseconds(100), events: ProductEvents = ProductEvents(),
        _ body: (LocalTransport) async throws -> Void
    ) async throws {
        let transport = LocalTransport()
        var settings = EventBus.Settings()
        settings.pollInterval = pollInterval
        let bus = makeProductsEventBus(pool: pool, transport: transport, settings: settings, logger: Logger(label: "test"), events: events)
        let group = ServiceGroup(configuration: .init(services: bus.services.map { .init(service: $0) }, logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(transport)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Polls `condition` for up to 30 seconds.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test("order events become reservations and releases, answered in the outbox once per order")
    func throughTheBus() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await StockReservationTests.insertProduct(pool, stock: 3)
            let fits = Event(type: EventType.orderCreated, requestID: "req-1", data: StockReservationTests.order([(product, 2)]))
            let tooBig = Event(type: EventType.orderCreated, requestID: "req-2", data: StockReservationTests.order([(product, 2)]))
            let cancel = Event(type: EventType.orderCancelled, requestID: "req-3", data: OrderCancelled(orderID: fits.data.orderID, reason: "customer"))
            try await Self.withBus(on: pool) { transport in
                try await Self.publish(fits, through: transport)
                try await Self.publish(fits, through: transport)  // a redelivery
                try await Self.publish(tooBig, through: transport)
                // Applied as they arrive: the redelivery finds the order's reservation row and changes nothing.
                #expect(try await Self.eventually {
                    try await pool.query("SELECT count(*) AS n FROM reservations")[0].decode("n", as: Int.self) == 2
                })
                #expect(try await pool.query("SELECT count(*) AS n FROM inbox")[0].decode("n", as: Int.self) == 0)
                try await Self.publish(cancel, through: transport)
                #expect(try await Self.eventually { try await StockReservationTests.stock(pool, product) == 3 })
                #expect(try await Self.eventually {
                    try await pool.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 0
                })
            }

            let answers = try await pool.query("SELECT routing_key, body FROM outbox ORDER BY seq").map {
                (try $0.decode("routing_key", as: String.self), Data(try $0.decode("body", as: String.self).utf8))
            }
            #expect(answers.map(\.0) == [EventType.stockReserved, EventType.stockChanged, EventType.stockRejected, EventType.stockChanged])
            let reserved = try JSONDecoder.ecom.decode(Event<StockReserved>.self, from: answers[0].1)
            #expect(reserved.data.orderID == fits.data.orderID && reserved.requestID == "req-1")
            // The reservation and the release each announce the product's new available count.
            let changes = try [answers[1].1, answers[3].1].map { try JSONDecoder.ecom.decode(Event<StockChanged>.self, from: $0).data }
            #expect(changes == [
                StockChanged(productID: product, available: 1, cause: "reservation", orderID: fits.data.orderID),
                StockChanged(productID: product, available: 3, cause: "release", orderID: fits.data.orderID),
            ])
            let rejected = try JSONDecoder.ecom.decode(Event<StockRejected>.self, from: answers[2].1)
            #expect(rejected.data == StockRejected(
                orderID: tooBig.data.orderID, reason: "insufficient_stock", productID: product,
                lines: [RejectedLine(productID: product, requested: 2, available: 1)]))
            #expect(try await StockReservationTests.state(pool, fits.data.orderID) == "released")
        }
    }

    @Test("a reservation and its release announce stock.low against the product's own threshold, or else the store's")
    func lowStockThresholds() async throws {
        try await TestDatabase.withPool { pool in
            let own = try await StockReservationTests.insertProduct(pool, stock: 3)
            _ = try await pool.execute("UPDATE products SET low_stock_threshold = 2 WHERE id = \(own)")
            let store = try await StockReservationTests.insertProduct(pool, stock: 10)
            try await Self.withBus(on: pool, events: ProductEvents(lowStockThreshold: 5)) { transport in
                // 3 → 1 crosses the product's 2; 10 → 4 crosses the store's 5; 1 → 3 and back crosses nothing new.
                let first = Event(type: EventType.orderCreated, requestID: nil, data: StockReservationTests.order([(own, 2), (store, 6)]))
                try await Self.publish(first, through: transport)
                #expect(try await Self.eventually { try await StockReservationTests.stock(pool, store) == 4 })
                try await Self.publish(
                    Event(type: EventType.orderCancelled, requestID: nil, data: OrderCancelled(orderID: first.data.orderID, reason: "customer")),
                    through: transport)
                #expect(try await Self.eventually { try await StockReservationTests.stock(pool, own) == 3 })
                #expect(try await Self.eventually {
                    try await pool.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0].decode("n", as: Int.self) == 0
                })
            }

            let lows = try await pool.query("SELECT body FROM outbox WHERE routing_key = \(EventType.stockLow) ORDER BY seq").map {
                try JSONDecoder.ecom.decode(Event<StockLow>.self, from: Data(try $0.decode("body", as: String.self).utf8)).data
            }
            #expect(lows.count == 2)
            #expect(lows.contains(StockLow(productID: own, available: 1, threshold: 2)))
            #expect(lows.contains(StockLow(productID: store, available: 4, threshold: 5)))
        }
    }

    @Test("order.shipped through the bus consumes the reservation once: a redelivery and a second ship event change nothing")
    func shipThroughTheBus() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await StockReservationTests.insertProduct(pool, stock: 5)
            let order = Event(type: EventType.orderCreated, requestID: "req-1", data: StockReservationTests.order([(product, 2)]))
            let shipped = Event(type: EventType.orderShipped, requestID: "req-2", data: OrderShipment(orderID: order.data.orderID))
            let again = Event(type: EventType.orderShipped, requestID: "req-3", data: OrderShipment(orderID: order.data.orderID))
            try await Self.withBus(on: pool) { transport in
                try await Self.publish(order, through: transport)
                #expect(try await Self.eventually { try await StockReservationTests.state(pool, order.data.orderID) == "reserved" })
                try await Self.publish(shipped, through: transport)
                try await Self.publish(shipped, through: transport)  // a redelivery
                try await Self.publish(again, through: transport)
                #expect(try await Self.eventually { try await StockReservationTests.state(pool, order.data.orderID) == "shipped" })
            }

            let row = try await pool.query("SELECT on_hand, held FROM products WHERE id = \(product)")[0]
            #expect(try row.decode("on_hand", as: Int.self) == 3 && row.decode("held", as: Int.self) == 0)
            #expect(try await StockReservationTests.state(pool, order.data.orderID) == "shipped")
            #expect(try await pool.query("SELECT count(*) AS n FROM stock_ledger WHERE delta < 0")[0].decode("n", as: Int.self) == 1)
            #expect(try await pool.query("SELECT count(*) AS n FROM inbox WHERE parked_at IS NOT NULL")[0].decode("n", as: Int.self) == 0)
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
        }
    }
}
