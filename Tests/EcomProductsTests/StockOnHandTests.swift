import EcomAPI
import EcomPostgres
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import Testing

@testable import EcomProducts

/// Units on hand and units held apart (DESIGN §4): absolute stock writes set what is on hand,
/// reservations hold units, and shipping takes them off hand.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct StockOnHandTests {
    static func reserve(_ pool: PostgresPool, _ lines: [(UUID, Int)], order: UUID = UUID()) async throws -> UUID {
        let outcome = try await pool.transaction { try StockReservations.reserve(StockReservationTests.order(lines, id: order), on: $0) }
        #expect(outcome == .reserved)
        return order
    }

    /// The product as an admin sees it.
    static func admin(_ app: ProductsTestApp, _ id: UUID) async throws -> Product {
        try await app.call(.get, "/admin/products/\(id.lowercased)", token: app.adminToken)
    }

    static func counts(_ product: Product) -> [Int?] { [product.stock, product.onHand, product.held] }

    static func ledgerRows(_ pool: PostgresPool) async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM stock_ledger")[0].decode("n")
    }

    @Test("import, order, the same import, cancel: the import changes nothing and the cancel gives back only what it held")
    func importDoesNotResurrectHeldUnits() async throws {
        try await ProductsTestApp.run { app in
            #expect(try await app.importCatalog([entry("LAMP", "Lamp", stock: 10)]) == ImportResult(created: 1, updated: 0, unchanged: 0))
            let lamp = try #require(try await app.walk("/admin/products?limit=10", token: app.adminToken).first)
            let order = try await Self.reserve(app.pool, [(lamp.id, 2)])
            #expect(Self.counts(try await Self.admin(app, lamp.id)) == [8, 10, 2])

            let ledger = try await Self.ledgerRows(app.pool)
            for _ in 0..<2 {
                #expect(try await app.importCatalog([entry("LAMP", "Lamp", stock: 10)]) == ImportResult(created: 0, updated: 0, unchanged: 1))
                #expect(Self.counts(try await Self.admin(app, lamp.id)) == [8, 10, 2])
            }
            #expect(try await Self.ledgerRows(app.pool) == ledger)

            #expect(try await app.pool.transaction { try StockReservations.release(orderID: order, on: $0) } == .released)
            #expect(Self.counts(try await Self.admin(app, lamp.id)) == [10, 10, 0])
            #expect(try await ledgerDiscrepancies(app.pool).isEmpty)
        }
    }

    @Test("import, order, ship, import of the real count: the shipped units are gone and the held ones stay held")
    func shipThenImportRealCount() async throws {
        try await ProductsTestApp.run { app in
            _ = try await app.importCatalog([entry("RUG", "Rug", stock: 10)])
            let rug = try #require(try await app.walk("/admin/products?limit=10", token: app.adminToken).first)
            let shipped = try await Self.reserve(app.pool, [(rug.id, 3)])
            _ = try await Self.reserve(app.pool, [(rug.id, 2)])
            #expect(try await app.pool.transaction { try StockReservations.ship(orderID: shipped, on: $0) } == .consumed)
            #expect(Self.counts(try await Self.admin(app, rug.id)) == [5, 7, 2])
            #expect(try await StockReservationTests.state(app.pool, shipped) == "shipped")

            // The warehouse counts the 7 units still there: nothing changes.
            #expect(try await app.importCatalog([entry("RUG", "Rug", stock: 7)]) == ImportResult(created: 0, updated: 0, unchanged: 1))
            #expect(Self.counts(try await Self.admin(app, rug.id)) == [5, 7, 2])
            // One broke: one fewer available, the order's two still held.
            #expect(try await app.importCatalog([entry("RUG", "Rug", stock: 6)]).updated == 1)
            #expect(Self.counts(try await Self.admin(app, rug.id)) == [4, 6, 2])

            let ledger = try await app.pool.query("SELECT delta, reason FROM stock_ledger ORDER BY id").map {
                "\(try $0.decode("delta", as: Int.self)) \(try $0.decode("reason", as: String.self))"
            }
            #expect(ledger == ["10 catalog import", "-3 shipped order \(shipped.lowercased)", "-1 catalog import"])
            #expect(try await ledgerDiscrepancies(app.pool).isEmpty)
        }
    }

    @Test("absolute stock writes below what orders hold answer 409 stock_below_held and change nothing")
    func writesBelowHeldRefused() async throws {
        try await ProductsTestApp.run { app in
            let lamp = try await app.createProduct(sku: "LAMP", name: "Lamp", stock: 10)
            #expect(Self.counts(lamp) == [10, 10, 0])
            _ = try await app.createProduct(sku: "MUG", name: "Mug", stock: 1)
            _ = try await Self.reserve(app.pool, [(lamp.id, 4)])
            let ledger = try await Self.ledgerRows(app.pool)

            let patch = try await app.send(.patch, "/admin/products/\(lamp.id.lowercased)", token: app.adminToken, json: #"{"stock": 3, "name": "Big lamp"}"#)
            #expect(patch.status == .conflict)
            let error = try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: patch.body)).error
            #expect(error.code == "stock_below_held" && error.field == "stock")

            // The whole import is refused: the mug's change is not applied either.
            let imported = try await app.send(
                .post, "/admin/products/import", token: app.adminToken,
                json: #"{"products": [{"sku": "MUG", "name": "Mug", "price_cents": 1000, "stock": 9}, {"sku": "LAMP", "name": "Lamp", "price_cents": 1999, "stock": 2}]}"#)
            #expect(imported.status == .conflict)
            let importError = try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: imported.body)).error
            #expect(importError.code == "stock_below_held" && importError.field == "products.1.stock")

            // An adjustment cannot remove held units either.
            let adjusted = try await app.send(.post, "/admin/products/\(lamp.id.lowercased)/stock", token: app.adminToken, json: #"{"delta": -7, "reason": "lost"}"#)
            #expect(adjusted.status == .conflict)
            #expect(try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: adjusted.body)).error.code == "insufficient_stock")

            let products = try await app.walk("/admin/products?limit=10", token: app.adminToken)
            #expect(products.map(Self.counts) == [[6, 10, 4], [1, 1, 0]])
            #expect(products.map(\.name) == ["Lamp", "Mug"])
            #expect(try await Self.ledgerRows(app.pool) == ledger)

            // Exactly what is held is allowed: nothing left to sell.
            let emptied: Product = try await app.call(.patch, "/admin/products/\(lamp.id.lowercased)", token: app.adminToken, json: #"{"stock": 4}"#)
            #expect(Self.counts(emptied) == [0, 4, 4])
            #expect(try await ledgerDiscrepancies(app.pool).isEmpty)
        }
    }

    @Test("admins see units on hand and held; the public catalog and the internal lookup show only what is available")
    func whoSeesWhat() async throws {
        try await ProductsTestApp.run { app in
            let lamp = try await app.createProduct(sku: "LAMP", name: "Lamp", stock: 10)
            _ = try await Self.reserve(app.pool, [(lamp.id, 3)])
            let path = "/admin/products/\(lamp.id.lowercased)"
            for response in [
                try await app.send(.get, path, token: app.adminToken),
                try await app.send(.get, "/admin/products?limit=1", token: app.adminToken),
                try await app.send(.patch, path, token: app.adminToken, json: #"{"price_cents": 2000}"#),
                try await app.send(.post, path + "/stock", token: app.adminToken, json: #"{"delta": 1, "reason": "found"}"#),
            ] {
                let text = String(buffer: response.body)
                #expect(text.contains(#""on_hand":"#) && text.contains(#""held":3"#), "\(text)")
            }
            for response in [
                try await app.send(.get, "/api/products/\(lamp.id.lowercased)"),
                try await app.send(.get, "/api/products?limit=1"),
                try await app.send(.post, "/internal/products/lookup", token: app.serviceToken, json: #"{"ids": ["\#(lamp.id.lowercased)"]}"#),
            ] {
                let text = String(buffer: response.body)
                #expect(text.contains(#""stock":8"#) && !text.contains("on_hand") && !text.contains("held"), "\(text)")
            }
        }
    }

    @Test("a ship handled twice, or for an order that holds nothing, changes nothing; one handled first makes a late order.created reserve nothing")
    func shipIsIdempotentAndOrderIndependent() async throws {
        try await TestDatabase.withPool { pool in
            let product = try await StockReservationTests.insertProduct(pool, stock: 10)
            let shipped = try await Self.reserve(pool, [(product, 3)])
            func ship(_ order: UUID) async throws -> StockReservations.Shipment {
                try await pool.transaction { try StockReservations.ship(orderID: order, on: $0) }
            }
            #expect(try await ship(shipped) == .consumed)
            #expect(try await ship(shipped) == .nothingHeld)
            #expect(try await StockReservationTests.stock(pool, product) == 7)

            let released = try await Self.reserve(pool, [(product, 2)])
            _ = try await pool.transaction { try StockReservations.release(orderID: released, on: $0) }
            #expect(try await ship(released) == .nothingHeld)
            #expect(try await StockReservationTests.state(pool, released) == "released")

            let rejected = StockReservationTests.order([(product, 50)])
            #expect(try await pool.transaction { try StockReservations.reserve(rejected, on: $0) } != .reserved)
            #expect(try await ship(rejected.orderID) == .nothingHeld)

            let early = StockReservationTests.order([(product, 1)])
            #expect(try await ship(early.orderID) == .shippedBeforeReserved)
            #expect(try await pool.transaction { try StockReservations.reserve(early, on: $0) } == .alreadyDecided)
            #expect(try await ship(early.orderID) == .nothingHeld)

            // A cancel after the ship finds nothing to give back.
            #expect(try await pool.transaction { try StockReservations.release(orderID: shipped, on: $0) } == .nothingHeld)

            let row = try await pool.query("SELECT on_hand, held FROM products WHERE id = \(product)")[0]
            #expect(try row.decode("on_hand", as: Int.self) == 7 && row.decode("held", as: Int.self) == 0)
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
        }
    }

    @Test("the upgrade to on hand and held keeps what is available and counts live reservations as held")
    func migrationConvertsStock() async throws {
        // The database as the release before on hand and held made it, with the saga's rows.
        try await TestDatabase.withPool(migrations: productsMigrations.filter { $0.version < 2 }) { pool in
            let (lamp, rug) = (UUID(), UUID())
            let (live, released) = (UUID(), UUID())
            try await pool.transaction { connection in
                // Lamp: 10 bought in, 3 held by a live order, 2 by a released one (given back).
                try connection.execute(
                    "INSERT INTO products (id, sku, name, price_cents, stock) VALUES (\(lamp), 'LAMP', 'Lamp', 100, 7), (\(rug), 'RUG', 'Rug', 100, 4)")
                try connection.execute(
                    "INSERT INTO stock_ledger (product_id, delta, reason) VALUES (\(lamp), 10, 'opening stock'), (\(rug), 5, 'opening stock')")
                try connection.execute(
                    "INSERT INTO reservations (order_id, state) VALUES (\(live), 'reserved'), (\(released), 'released')")
                try connection.execute(
                    """
                    INSERT INTO reservation_lines (order_id, product_id, quantity)
                    VALUES (\(live), \(lamp), 3), (\(live), \(rug), 1), (\(released), \(lamp), 2)
                    """)
            }
            try await migrate(pool, migrations: productsMigrations, logger: Logger(label: "test"))
            let rows = try await pool.query("SELECT sku, on_hand, held FROM products ORDER BY sku").map {
                [try $0.decode("sku", as: String.self), "\(try $0.decode("on_hand", as: Int.self))", "\(try $0.decode("held", as: Int.self))"]
            }
            #expect(rows == [["LAMP", "10", "3"], ["RUG", "5", "1"]])
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
            // The live reservation is released and shipped as any other.
            #expect(try await pool.transaction { try StockReservations.ship(orderID: live, on: $0) } == .consumed)
            #expect(try await StockReservationTests.stock(pool, lamp) == 7)
            #expect(try await ledgerDiscrepancies(pool).isEmpty)
        }
    }
}
