import EcomAPI
import EcomPostgres
import Foundation
import Testing

@testable import EcomMessaging
@testable import EcomProducts

@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct StockReservationTests {
    static func insertProduct(_ pool: PostgresPool, stock: Int, active: Bool = true, archived: Bool = false) async throws -> UUID {
        let id = UUID()
        try await pool.transaction { connection in
            try connection.execute(
                """
                INSERT INTO products (id, sku, name, price_cents, on_hand, is_active, archived_at)
                VALUES (\(id), \("SKU-\(id.uuidString.prefix(8))"), 'Product', 1000, \(stock), \(active), CASE WHEN \(archived)::boolean THEN now() END)
                """)
            if stock > 0 {
                try connection.execute("INSERT INTO stock_ledger (product_id, delta, reason) VALUES (\(id), \(stock), 'opening stock')")
            }
        }
        return id
    }

    static func order(_ lines: [(UUID, Int)], id: UUID = UUID()) -> OrderCreated {
        OrderCreated(orderID: id, userID: UUID(), cartVersion: 1, lines: lines.map { OrderedQuantity(productID: $0.0, quantity: $0.1) })
    }

    /// Units available: on hand less held.
    static func stock(_ pool: PostgresPool, _ id: UUID) async throws -> Int {
        try await pool.query("SELECT on_hand - held AS stock FROM products WHERE id = \(id)")[0].decode("stock")
    }

    static func state(_ pool: PostgresPool, _ orderID: UUID) async throws -> String? {
        try await pool.query("SELECT state FROM reservations WHERE order_id = \(orderID)").first?.decode("state")
    }

    @Test("50 concurrent orders for 20 units never oversell: each order is reserved or rejected")
    func concurrentOrders() async throws {
        try await TestDatabase.withPool(size: 8) { pool in
            let product = try await Self.insertProduct(pool, stock: 20)
            let orders = (0..<50).map { _ in Self.order([(product, Int.random(in: 1...3))]) }
            let outcomes = try await withThrowingTaskGroup(of: (OrderCreated, StockReservations.Outcome).self) { group in
                for order in orders {
                    group.addTask { (order, try await pool.transaction { try StockReservations.reserve(order, on: $0) }) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let reservedUnits = outcomes.filter { $0.1 == .reserved }.map { $0.0.lines[0].quantity }.reduce(0, +)
            let stock = try await Self.stock(pool, product)
            #expect(reservedUnits <= 20)
            #expect(stock == 20 - reservedUnits)
            // Rejections happen only when what is left cannot cover the order.
            for (order, outcome) in outcomes where outcome != .reserved {
                guard case .rejected(let reason, let productID, let lines) = outcome else {
                    Issue.record("unexpected outcome \(outcome)")
                    continue
                }
                #expect(reason == "insufficient_stock" && productID == product)
                #expect(lines.map(\.productID) == [product])
                #expect(lines.map(\.requested) == [order.lines[0].quantity])
                #expect(order.lines[0].quantity > stock)
            }
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
            let states = try await pool.query("SELECT state, count(*) AS n FROM reservations GROUP BY state").map {
                (try $0.decode("state", as: String.self), try $0.decode("n", as: Int.self))
            }
            #expect(Dictionary(uniqueKeysWithValues: states).values.reduce(0, +) == 50)
        }
    }

    @Test("an order is reserved whole or not at all, and names the product that stopped it")
    func allOrNothing() async throws {
        try await TestDatabase.withPool { pool in
            let plenty = try await Self.insertProduct(pool, stock: 10)
            let scarce = try await Self.insertProduct(pool, stock: 1)
            let archived = try await Self.insertProduct(pool, stock: 10, archived: true)
            let inactive = try await Self.insertProduct(pool, stock: 10, active: false)
            let cases: [(OrderCreated, StockReservations.Outcome)] = [
                (Self.order([(plenty, 3), (scarce, 2)]),
                 .rejected(reason: "insufficient_stock", productID: scarce, lines: [.init(productID: scarce, requested: 2, available: 1)])),
                (Self.order([(plenty, 3), (archived, 1)]), .rejected(reason: "product_unavailable", productID: archived, lines: [.init(productID: archived, requested: 1, available: 0)])),
                (Self.order([(inactive, 1)]), .rejected(reason: "product_unavailable", productID: inactive, lines: [.init(productID: inactive, requested: 1, available: 0)])),
                (Self.order([(plenty, 1), (UUID(uuidString: "00000000-0000-0000-0000-000000000001")!, 1)]),
                 .rejected(
                    reason: "product_unavailable", productID: UUID(uuidString: "00000000-0000-0000-0000-000000000001")!,
                    lines: [.init(productID: UUID(uuidString: "00000000-0000-0000-0000-000000000001")!, requested: 1, available: 0)])),
                // Two lines of one product count together: 1 + 1 is more than the one unit left.
                (Self.order([(scarce, 1), (scarce, 1)]),
                 .rejected(reason: "insufficient_stock", productID: scarce, lines: [.init(productID: scarce, requested: 2, available: 1)])),
            ]
            for (order, expected) in cases {
                #expect(try await pool.transaction { try StockReservations.reserve(order, on: $0) } == expected)
                #expect(try await Self.state(pool, order.orderID) == "rejected")
            }
            #expect(try await Self.stock(pool, plenty) == 10)
            #expect(try await Self.stock(pool, scarce) == 1)

            let merged = Self.order([(plenty, 2), (scarce, 1), (plenty, 3)])
            #expect(try await pool.transaction { try StockReservations.reserve(merged, on: $0) } == .reserved)
            #expect(try await Self.stock(pool, plenty) == 5)
            #expect(try await Self.stock(pool, scarce) == 0)
            let lines = try await pool.query("SELECT quantity FROM reservation_lines WHERE order_id = \(merged.orderID) AND product_id = \(plenty)")
            #expect(try lines.map { try $0.decode("quantity", as: Int.self) } == [5])
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
        }
    }

    @Test("a cancel handled before its order.created leaves stock untouched and makes the order rejected")
    func cancelBeforeCreate() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await Self.insertProduct(pool, stock: 5)
            let order = Self.order([(product, 2)])
            #expect(try await pool.transaction { try StockReservations.release(orderID: order.orderID, on: $0) } == .cancelledBeforeReserved)
            #expect(try await pool.transaction { try StockReservations.reserve(order, on: $0) } == .rejected(reason: "order_cancelled", productID: nil))
            #expect(try await Self.stock(pool, product) == 5)
            #expect(try await Self.state(pool, order.orderID) == "cancelled_before_reserved")
            #expect(try await pool.transaction { try StockReservations.release(orderID: order.orderID, on: $0) } == .nothingHeld)
            #expect(try await Self.stock(pool, product) == 5)
        }
    }

    @Test("a repeated order.created or order.cancelled for the same order changes nothing")
    func duplicates() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await Self.insertProduct(pool, stock: 5)
            let order = Self.order([(product, 2)])
            #expect(try await pool.transaction { try StockReservations.reserve(order, on: $0) } == .reserved)
            #expect(try await pool.transaction { try StockReservations.reserve(order, on: $0) } == .alreadyDecided)
            #expect(try await Self.stock(pool, product) == 3)
            #expect(try await pool.transaction { try StockReservations.release(orderID: order.orderID, on: $0) } == .released)
            #expect(try await pool.transaction { try StockReservations.release(orderID: order.orderID, on: $0) } == .nothingHeld)
            #expect(try await pool.transaction { try StockReservations.reserve(order, on: $0) } == .alreadyDecided)
            #expect(try await Self.stock(pool, product) == 5)
            #expect(try await Self.state(pool, order.orderID) == "released")

            let rejected = Self.order([(product, 50)])
            #expect(try await pool.transaction { try StockReservations.reserve(rejected, on: $0) } == .rejected(reason: "insufficient_stock", productID: product, lines: [.init(productID: product, requested: 50, available: 5)]))
            #expect(try await pool.transaction { try StockReservations.reserve(rejected, on: $0) } == .alreadyDecided)
            #expect(try await pool.transaction { try StockReservations.release(orderID: rejected.orderID, on: $0) } == .nothingHeld)
            #expect(try await Self.stock(pool, product) == 5)
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
        }
    }

    @Test("racing creates and cancels of the same orders release exactly what was reserved")
    func racingCancels() async throws {
        try await TestDatabase.withPool(size: 8) { pool in
            let product = try await Self.insertProduct(pool, stock: 100)
            let orders = (0..<30).map { _ in Self.order([(product, 2)]) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in orders {
                    group.addTask { _ = try await pool.transaction { try StockReservations.reserve(order, on: $0) } }
                    for _ in 0..<2 {
                        group.addTask { _ = try await pool.transaction { try StockReservations.release(orderID: order.orderID, on: $0) } }
                    }
                }
                try await group.waitForAll()
            }
            // Every order was cancelled, so whichever event came first, nothing stays reserved.
            #expect(try await Self.stock(pool, product) == 100)
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
            let states = Set(try await pool.query("SELECT DISTINCT state FROM reservations").map { try $0.decode("state", as: String.self) })
            #expect(states.isSubset(of: ["released", "cancelled_before_reserved"]))
        }
    }

    @Test("orders over the same two products in opposite line order do not deadlock")
    func oppositeLineOrder() async throws {
        try await TestDatabase.withPool(size: 8) { pool in
            let first = try await Self.insertProduct(pool, stock: 1000)
            let second = try await Self.insertProduct(pool, stock: 1000)
            // Plain BEGIN/COMMIT rather than `pool.transaction`, which would retry a deadlock and hide it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    let lines = index.isMultiple(of: 2) ? [(first, 1), (second, 1)] : [(second, 1), (first, 1)]
                    let order = Self.order(lines)
                    group.addTask {
                        try await pool.withConnection { connection in
                            try connection.execute("BEGIN")
                            let outcome = try StockReservations.reserve(order, on: connection)
                            // Hold the locks a moment so that transactions overlap.
                            try connection.execute("SELECT pg_sleep(0.005)")
                            try connection.execute("COMMIT")
                            #expect(outcome == .reserved)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.stock(pool, first) == 940)
            #expect(try await Self.stock(pool, second) == 940)
        }
    }

    @Test("a reservation and a batch's locks, on the handlers' generic plans, find products by key rather than by scanning the catalog")
    func reservationReadsByKey() async throws {
        try await TestDatabase.withPool { pool in
            // A catalog of the size where a scan looks cheaper than ten key lookups to a plan that
            // cannot know how many products an order names: a thousand products described in a
            // sentence or two.
            try await pool.execute(
                """
                INSERT INTO products (id, sku, name, description, price_cents, on_hand)
                SELECT gen_random_uuid(), 'SKU-' || n, 'Product ' || n, repeat('Sturdy, simple and made to last. ', 5), 1000, 100
                FROM generate_series(1, 1000) AS n
                """)
            try await pool.execute("ANALYZE products")
            let products: [UUID] = try await pool.query("SELECT id FROM products ORDER BY sku LIMIT 2").map { try $0.decode("id") }
            let scans: Int = try await pool.transaction { connection in
                try connection.useGenericPlans()
                let before = try Self.sequentialScans(on: connection)
                #expect(try StockReservations.reserve(Self.order([(products[0], 1), (products[1], 2)]), on: connection) == .reserved)
                return try Self.sequentialScans(on: connection) - before
            }
            #expect(scans == 0)
            #expect(try await Self.stock(pool, products[1]) == 98)

            // A batch locks what its events will change first: the lines of a new order, and what
            // a cancelled one holds.
            let cancelled = try await pool.query("SELECT order_id FROM reservations")[0].decode("order_id", as: UUID.self)
            let batch = [
                try Self.delivery(Self.order([(products[0], 1)]), as: EventType.orderCreated),
                try Self.delivery(OrderCancelled(orderID: cancelled, reason: "changed my mind"), as: EventType.orderCancelled),
            ]
            let batchScans: Int = try await pool.transaction { connection in
                try connection.useGenericPlans()
                let before = try Self.sequentialScans(on: connection)
                try StockReservations.lockProducts(of: batch, on: connection)
                return try Self.sequentialScans(on: connection) - before
            }
            #expect(batchScans == 0)
        }
    }

    static func delivery(_ payload: some Codable & Sendable, as type: String) throws -> Delivery {
        let body = try JSONEncoder.ecom.encode(Event(type: type, requestID: "reservation-test", data: payload))
        return Delivery(header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: type, body: body)
    }

    /// Scans of the whole products table this connection made and has not reported yet (its current
    /// transaction's among them).
    static func sequentialScans(on connection: SQLConnection) throws -> Int {
        try connection.query("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'products'")[0].decode("seq_scan")
    }

    @Test("an order line of zero units is refused, so the bus parks the event")
    func malformed() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await Self.insertProduct(pool, stock: 5)
            await #expect(throws: StockReservations.ReservationFailure.self) {
                try await pool.transaction { try StockReservations.reserve(Self.order([(product, 0)]), on: $0) }
            }
            #expect(try await pool.query("SELECT count(*) AS n FROM reservations")[0].decode("n", as: Int.self) == 0)
        }
    }
}

@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct ProductLookupPlanTests {
    @Test("looking up one product by id reuses the statement's plan instead of planning it at every call")
    func oneIDKeepsItsPlan() async throws {
        try await TestDatabase.withPool(size: 1) { pool in
            let repository = PostgresProductRepository(pool: pool)
            let id = try await StockReservationTests.insertProduct(pool, stock: 5)
            for _ in 0..<12 {
                #expect(try await repository.find(ids: [id]).map(\.id) == [id])
            }
            // The pool's one connection prepared its statements: how often each was planned for
            // its parameters (custom) and how often the kept plan served (generic).
            let plans = try await pool.query(
                """
                SELECT COALESCE(sum(custom_plans), 0)::int AS custom, COALESCE(sum(generic_plans), 0)::int AS generic
                FROM pg_prepared_statements WHERE statement LIKE '%FROM products WHERE id%'
                """)[0]
            // PostgreSQL tries five custom plans before it may settle on a generic one.
            #expect(try plans.decode("custom", as: Int.self) <= 5)
            #expect(try plans.decode("generic", as: Int.self) >= 7)
            #expect(try await repository.find(ids: [id, UUID()]).map(\.id) == [id])
        }
    }
}
