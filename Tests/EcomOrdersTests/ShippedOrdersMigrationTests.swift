import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import Testing

@testable import EcomOrders

@Suite(.enabled(if: ThrowawayDatabase.isAvailable, Comment(rawValue: ThrowawayDatabase.skipReason)))
struct ShippedOrdersMigrationTests {
    @Test("the upgrade announces each order shipped before shipping published order.shipped, once")
    func announcesShippedOrders() async throws {
        try await ThrowawayDatabase.withPool(prefix: "ecom_orders_test", size: 2) { pool in
            // The database as the release before made it, with an order in every status that matters.
            try await migrate(pool, migrations: ordersMigrations.filter { $0.version != 2 }, logger: Logger(label: "test"))
            var ids: [String: UUID] = [:]
            for (version, status) in ["confirmed", "shipped", "delivered", "cancelled"].enumerated() {
                let id = UUID()
                ids[status] = id
                try await pool.execute(
                    "INSERT INTO orders (id, user_id, status, total_cents, cart_version) VALUES (\(id), \(UUID()), \(status), 100, \(Int64(version)))")
            }
            try await migrate(pool, migrations: ordersMigrations, logger: Logger(label: "test"))
            try await migrate(pool, migrations: ordersMigrations, logger: Logger(label: "test"))

            let events = try await pool.query("SELECT event_id, routing_key, body FROM outbox ORDER BY seq").map { row in
                let event = try JSONDecoder.ecom.decode(Event<OrderShipment>.self, from: Data(try row.decode("body", as: String.self).utf8))
                #expect(try row.decode("event_id", as: UUID.self) == event.id)
                #expect(try row.decode("routing_key", as: String.self) == EventType.orderShipped && event.type == EventType.orderShipped)
                return event.data.orderID
            }
            #expect(Set(events) == [ids["shipped"]!, ids["delivered"]!])
            #expect(events.count == 2)
        }
    }
}
