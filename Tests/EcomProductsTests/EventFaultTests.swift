import EcomAPI
import EcomMessaging
import EcomPostgres
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import EcomProducts

extension EventHandlingTests {
    final class Tally: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func increment() { count.withLock { $0 += 1 } }
    }

    @Test("a cancelled order's stock comes back after a lock outlasts three times the park limit of lock timeouts, with no admin")
    func releaseAfterLockOutage() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await StockReservationTests.insertProduct(pool, stock: 3)
            let transport = LocalTransport()
            var settings = EventBus.Settings()
            settings.pollInterval = .milliseconds(50)
            settings.maximumTransientRetryDelay = .milliseconds(100)
            let timeouts = Tally()
            let reservations = StockReservations(logger: Logger(label: "test"))
            // The products handler as the service runs it, on a session that gives up on a lock after 20 ms.
            let bus = EventBus(
                service: "products", pool: pool, transport: transport, subscribesTo: [EventType.orderCreated, EventType.orderCancelled],
                handler: { delivery, connection in
                    try connection.execute("SET LOCAL lock_timeout = '20ms'")
                    do {
                        try reservations.handle(delivery, on: connection)
                    } catch let error as SQLError where error.sqlState == "55P03" {
                        timeouts.increment()
                        throw error
                    }
                }, settings: settings, logger: Logger(label: "test"))
            let group = ServiceGroup(configuration: .init(services: bus.services.map { .init(service: $0) }, logger: Logger(label: "test")))

            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let order = Event(type: EventType.orderCreated, requestID: "req-1", data: StockReservationTests.order([(product, 2)]))
                try await Self.publish(order, through: transport)
                #expect(try await Self.eventually { try await StockReservationTests.stock(pool, product) == 1 })

                // The product stays locked (a long import, say) while the cancel is retried 3 × 8 times.
                let locked = Tally()
                async let lock: Void = pool.transaction { connection in
                    try connection.execute("SELECT id FROM products WHERE id = \(product) FOR UPDATE")
                    locked.increment()
                    let deadline = Date().addingTimeInterval(60)
                    while timeouts.value < 3 * 8 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                }
                #expect(try await Self.eventually { locked.value == 1 })
                let cancel = Event(
                    type: EventType.orderCancelled, requestID: "req-2", data: OrderCancelled(orderID: order.data.orderID, reason: "customer"))
                try await Self.publish(cancel, through: transport)
                try await lock

                #expect(timeouts.value >= 3 * 8)
                #expect(try await Self.eventually { try await StockReservationTests.stock(pool, product) == 3 })
                #expect(try await StockReservationTests.state(pool, order.data.orderID) == "released")
                #expect(try await pool.query("SELECT count(*) AS n FROM inbox WHERE parked_at IS NOT NULL")[0].decode("n", as: Int.self) == 0)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    @Test("an order.created that finds its product locked past the wait goes to the inbox, the publisher moves on, and it is reserved once the lock goes")
    func arrivalWaitsNotForLongLocks() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await StockReservationTests.insertProduct(pool, stock: 3)
            try await Self.withBus(on: pool, pollInterval: .milliseconds(50)) { transport in
                // A long write holds the product (a catalog import, say) until the publish below has returned.
                let locked = Tally(), published = Tally()
                async let lock: Void = pool.transaction { connection in
                    try connection.execute("SELECT id FROM products WHERE id = \(product) FOR UPDATE")
                    locked.increment()
                    let deadline = Date().addingTimeInterval(30)
                    while published.value == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                }
                #expect(try await Self.eventually { locked.value == 1 })
                let order = Event(type: EventType.orderCreated, requestID: "req-1", data: StockReservationTests.order([(product, 2)]))
                try await Self.publish(order, through: transport)
                published.increment()
                // The publish returned while the lock was held: the event waits in the inbox, not applied.
                #expect(try await StockReservationTests.state(pool, order.data.orderID) == nil)
                #expect(try await pool.query("SELECT count(*) AS n FROM inbox")[0].decode("n", as: Int.self) == 1)
                try await lock

                #expect(try await Self.eventually { try await StockReservationTests.state(pool, order.data.orderID) == "reserved" })
                #expect(try await StockReservationTests.stock(pool, product) == 1)
                #expect(try await Self.eventually {
                    try await pool.query("SELECT count(*) AS n FROM inbox WHERE processed_at IS NOT NULL")[0].decode("n", as: Int.self) == 1
                })
            }
        }
    }
}
