import EcomAPI
import EcomPostgres
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOFoundationCompat
import Testing

@testable import EcomProducts

@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct ProductRoutesTests {
    @Test("an admin creates, partially updates, restocks and archives a product; archived ones still resolve")
    func lifecycle() async throws {
        try await ProductsTestApp.run { app in
            let created = try await app.createProduct(sku: "LAMP-1", name: "  Desk Lamp ", description: "Warm light.", priceCents: 2499, stock: 5)
            #expect(created.name == "Desk Lamp")
            #expect(created.sku == "LAMP-1" && created.stock == 5 && created.isActive)

            let repriced: Product = try await app.call(.patch, "/admin/products/\(created.id.lowercased)", token: app.adminToken, json: #"{"price_cents": 2999}"#)
            #expect(repriced.priceCents == 2999)
            #expect(repriced.name == created.name && repriced.description == created.description && repriced.stock == 5 && repriced.sku == "LAMP-1")

            let restocked: Product = try await app.call(.patch, "/admin/products/\(created.id.lowercased)", token: app.adminToken, json: #"{"stock": 8}"#)
            #expect(restocked.stock == 8)
            let adjusted: Product = try await app.call(
                .post, "/admin/products/\(created.id.lowercased)/stock", token: app.adminToken, json: #"{"delta": -3, "reason": "damaged in the warehouse"}"#)
            #expect(adjusted.stock == 5)
            let reasons = try await app.pool.query("SELECT delta, reason FROM stock_ledger ORDER BY id").map {
                "\(try $0.decode("delta", as: Int.self)) \(try $0.decode("reason", as: String.self))"
            }
            #expect(reasons == ["5 opening stock", "3 stock set by update", "-3 damaged in the warehouse"])

            #expect(adjusted.onHand == 5 && adjusted.held == 0)
            // Shoppers see the same product without the counts behind its stock.
            let shown: Product = try await app.call(.get, "/api/products/\(created.id.lowercased)")
            var publicView = adjusted
            (publicView.onHand, publicView.held, publicView.archived) = (nil, nil, nil)
            #expect(shown == publicView)

            #expect(try await app.send(.delete, "/admin/products/\(created.id.lowercased)", token: app.adminToken).status == .noContent)
            #expect(try await app.send(.get, "/api/products/\(created.id.lowercased)").status == .notFound)
            #expect(try await app.walk("/api/products?limit=5").isEmpty)
            let archived: Product = try await app.call(.get, "/admin/products/\(created.id.lowercased)", token: app.adminToken)
            #expect(!archived.isActive && archived.archived == true && adjusted.archived == false)
            // Deleting is for good: the product cannot be put back on sale, and stays archived.
            let revived = try await app.send(.patch, "/admin/products/\(created.id.lowercased)", token: app.adminToken, json: #"{"is_active": true}"#)
            #expect(revived.status == .conflict)
            #expect(try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: revived.body)).error.code == "product_archived")
            let renamed: Product = try await app.call(.patch, "/admin/products/\(created.id.lowercased)", token: app.adminToken, json: #"{"name": "Old lamp"}"#)
            #expect(!renamed.isActive && renamed.archived == true)
            #expect(try await app.walk("/admin/products?limit=5", token: app.adminToken).map(\.id) == [created.id])
            let looked: [Product] = try await app.call(
                .post, "/internal/products/lookup", token: app.serviceToken, json: #"{"ids": ["\#(created.id.lowercased)", "\#(UUID().uuidString)"]}"#)
            #expect(looked.map(\.id) == [created.id])
            #expect(looked.first?.isActive == false)

            #expect(try await app.send(.delete, "/admin/products/\(UUID().uuidString)", token: app.adminToken).status == .notFound)
            #expect(try await ledgerDiscrepancies(app.pool).isEmpty)
        }
    }

    @Test("an inactive product is hidden from shoppers but not from admins")
    func inactive() async throws {
        try await ProductsTestApp.run { app in
            let hidden = try await app.createProduct(name: "Prototype", isActive: false)
            #expect(try await app.send(.get, "/api/products/\(hidden.id.lowercased)").status == .notFound)
            #expect(try await app.walk("/api/products?limit=10").isEmpty)
            let shown: Product = try await app.call(.patch, "/admin/products/\(hidden.id.lowercased)", token: app.adminToken, json: #"{"is_active": true}"#)
            #expect(shown.isActive)
            #expect(try await app.walk("/api/products?limit=10").map(\.id) == [hidden.id])
        }
    }

    @Test("a sku is generated when absent, and a taken sku is 409 sku_taken on create and on update")
    func skus() async throws {
        try await ProductsTestApp.run { app in
            let generated = try await app.createProduct(name: "No sku")
            #expect(generated.sku == "P-" + generated.id.uuidString.replacingOccurrences(of: "-", with: ""))
            let other = try await app.createProduct(sku: "TAKEN-1", name: "Taken")
            let body = #"{"sku": "TAKEN-1", "name": "Again", "price_cents": 100}"#
            for response in [
                try await app.send(.post, "/admin/products", token: app.adminToken, json: body),
                try await app.send(.patch, "/admin/products/\(generated.id.lowercased)", token: app.adminToken, json: #"{"sku": "TAKEN-1"}"#),
            ] {
                #expect(response.status == .conflict)
                let error = try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.code == "sku_taken" && error.error.field == "sku")
            }
            let unchanged: Product = try await app.call(.get, "/admin/products/\(other.id.lowercased)", token: app.adminToken)
            #expect(unchanged == other)
        }
    }

    /// The refusals the repository makes, under the product's row lock; what the routes refuse
    /// themselves is in `ProductRouteLogicTests`.
    static let badInputs: [BadInput] = [
        BadInput(method: .post, path: "/admin/products/{id}/stock", body: #"{"delta": -11, "reason": "count"}"#, status: .conflict, code: "insufficient_stock", field: "delta"),
        BadInput(method: .post, path: "/admin/products/{id}/stock", body: #"{"delta": 999991, "reason": "count"}"#, status: .conflict, code: "stock_limit", field: "delta"),
    ]

    @Test("bad input gets its status and stable code, and changes nothing", arguments: badInputs)
    func badInput(_ example: BadInput) async throws {
        try await ProductsTestApp.run { app in
            try await app.expectRefused(example)
            let counts = try await app.pool.query("SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM stock_ledger) AS ledger")[0]
            #expect(try counts.decode("products", as: Int.self) == 1)
            #expect(try counts.decode("ledger", as: Int.self) == 1)
        }
    }

    @Test("pagination walks every product exactly once, in name order, ties broken by id")
    func pagination() async throws {
        try await ProductsTestApp.run { app in
            // Repeated names make the id tie-break matter at page boundaries.
            let products = (0..<57).map { index in
                entry("PAGE-\(index)", "Item \(index % 7)", stock: 1, isActive: index % 10 != 3)
            }
            #expect(try await app.importCatalog(products) == ImportResult(created: 57, updated: 0, unchanged: 0))
            let archived = try #require(try await app.walk("/admin/products?limit=100", token: app.adminToken).first { $0.sku == "PAGE-5" })
            #expect(try await app.send(.delete, "/admin/products/\(archived.id.lowercased)", token: app.adminToken).status == .noContent)

            for limit in [1, 10, 56, 100] {
                let all = try await app.walk("/admin/products?limit=\(limit)", token: app.adminToken)
                #expect(all.count == 57)
                #expect(Set(all.map(\.id)).count == 57)
                #expect(all.map { [$0.name, $0.id.lowercased] } == all.map { [$0.name, $0.id.lowercased] }.sorted { $0.lexicographicallyPrecedes($1) })

                let catalog = try await app.walk("/api/products?limit=\(limit)")
                let expected = Set(products.enumerated().filter { $0.offset % 10 != 3 && $0.offset != 5 }.map { $0.element.sku! })
                #expect(catalog.count == expected.count)
                #expect(Set(catalog.map(\.sku)) == expected)
            }
            let first: Page<Product> = try await app.call(.get, "/api/products")
            #expect(first.items.count == Pagination.defaultLimit)
        }
    }

    @Test("id_prefix finds products by the start of their id, and sku by their sku; the catalog only those on sale")
    func idPrefixAndSKU() async throws {
        try await ProductsTestApp.run { app in
            let ids = ["4c1bef23-0000-4000-8000-000000000001", "4c1bef99-0000-4000-8000-000000000002", "4c1c0000-0000-4000-8000-000000000003",
                       "4c1aFFFF-ffff-4fff-bfff-ffffffffffff", "00000000-0000-4000-8000-000000000004"]
            for (index, id) in ids.enumerated() {
                try await app.pool.execute(
                    "INSERT INTO products (id, sku, name, price_cents, on_hand, is_active) VALUES (\(UUID(uuidString: id)!), \("BOOK-000\(index)"), \("Book \(index)"), 100, 1, \(index != 1))")
            }
            func skus(_ query: String, admin: Bool = true) async throws -> [String] {
                try await app.walk((admin ? "/admin/products?limit=1&" : "/api/products?limit=1&") + query, token: admin ? app.adminToken : nil)
                    .map(\.sku).sorted()
            }
            #expect(try await skus("id_prefix=4c1b") == ["BOOK-0000", "BOOK-0001"])
            #expect(try await skus("id_prefix=4c1b", admin: false) == ["BOOK-0000"])
            #expect(try await skus("id_prefix=4C1BEF9") == ["BOOK-0001"])
            #expect(try await skus("id_prefix=4c1") == ["BOOK-0000", "BOOK-0001", "BOOK-0002", "BOOK-0003"])
            #expect(try await skus("id_prefix=4c1affffffff4fffbffffffffffffff") == ["BOOK-0003"])
            #expect(try await skus("id_prefix=4c1bef2300004000800000000000000") == ["BOOK-0000"])
            #expect(try await skus("id_prefix=4c1d").isEmpty)
            #expect(try await skus("sku=BOOK-0001") == ["BOOK-0001"])
            #expect(try await skus("sku=BOOK-0001", admin: false).isEmpty)
            #expect(try await skus("sku=book-0001").isEmpty)
            #expect(try await skus("sku=BOOK-0002&id_prefix=4c1c") == ["BOOK-0002"])
            #expect(try await skus("sku=BOOK-0002&id_prefix=4c1b").isEmpty)
        }
    }

    @Test("an id prefix is a range on the primary key's index, not a scan")
    func idPrefixUsesIndex() async throws {
        try await TestDatabase.withPool(size: 2) { pool in
            try await pool.execute(
                """
                INSERT INTO products (id, sku, name, description, price_cents, on_hand)
                SELECT gen_random_uuid(), 'BULK-' || n, 'Product ' || n, '', 100, 1 FROM generate_series(1, 20000) AS n
                """)
            try await pool.execute("ANALYZE products")
            let prefix = try #require(IDPrefix("4c1b"))
            let plan = try await pool.withConnection { connection in
                // The admin list's query with an id prefix, as the repository sends it.
                try connection.query(
                    "EXPLAIN (FORMAT TEXT) SELECT id FROM products WHERE id BETWEEN \(prefix.lower)::uuid AND \(prefix.upper)::uuid ORDER BY name, id LIMIT 11"
                ).map { try $0.decode("QUERY PLAN", as: String.self) }
            }.joined(separator: "\n")
            #expect(plan.contains("products_pkey") && !plan.contains("Seq Scan"), "\(plan)")
        }
    }

    @Test("search matches name or description case-insensitively, with % and _ taken literally")
    func search() async throws {
        try await ProductsTestApp.run { app in
            _ = try await app.importCatalog([
                entry("S-1", "Red Kettle", description: "Boils water."),
                entry("S-2", "Blue Mug", description: "Goes well with a KETTLE."),
                entry("S-3", "100% Cotton Towel"),
                entry("S-4", "snake_case Handbook"),
                entry("S-5", "Snakes and Ladders"),
                entry("S-6", "Hidden kettle", isActive: false),
            ])
            func skus(_ q: String, admin: Bool = false) async throws -> [String] {
                let query = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let path = admin ? "/admin/products?limit=2&q=\(query)" : "/api/products?limit=2&q=\(query)"
                return try await app.walk(path, token: admin ? app.adminToken : nil).map(\.sku).sorted()
            }
            #expect(try await skus("kettle") == ["S-1", "S-2"])
            #expect(try await skus("kettle", admin: true) == ["S-1", "S-2", "S-6"])
            #expect(try await skus("%") == ["S-3"])
            #expect(try await skus("e_c") == ["S-4"])
            #expect(try await skus("  ").count == 5)
            #expect(try await skus("nothing like this").isEmpty)
        }
    }

    @Test("a catalog import upserts by sku, and the same import again changes nothing")
    func importIsIdempotent() async throws {
        try await ProductsTestApp.run { app in
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../fixtures/catalog.json").standardized
            let catalog = try JSONDecoder.ecom.decode(CatalogImport.self, from: try Data(contentsOf: file))
            let count = catalog.products.count
            #expect(try await app.importCatalog(catalog.products) == ImportResult(created: count, updated: 0, unchanged: 0))
            let before = try await app.walk("/admin/products?limit=100", token: app.adminToken)
            let ledgerRows = try await app.pool.query("SELECT count(*) AS n FROM stock_ledger")[0].decode("n", as: Int.self)

            #expect(try await app.importCatalog(catalog.products) == ImportResult(created: 0, updated: 0, unchanged: count))
            #expect(try await app.walk("/admin/products?limit=100", token: app.adminToken) == before)
            #expect(try await app.pool.query("SELECT count(*) AS n FROM stock_ledger")[0].decode("n", as: Int.self) == ledgerRows)

            var changed = catalog.products
            changed[0].priceCents += 100
            changed[1].stock = (changed[1].stock ?? 0) + 7
            changed[2].description = nil  // absent: kept as it is
            changed.append(entry("NEW-0001", "Brand New"))
            #expect(try await app.importCatalog(changed) == ImportResult(created: 1, updated: 2, unchanged: count - 2))
            let second = try #require(try await app.walk("/admin/products?limit=100", token: app.adminToken).first { $0.sku == changed[1].sku })
            #expect(second.stock == changed[1].stock)
            #expect(try await ledgerDiscrepancies(app.pool).isEmpty)
        }
    }

    @Test("the catalog seed imports only into an empty catalog")
    func seed() async throws {
        try await TestDatabase.withPool { pool in
            let repository = PostgresProductRepository(pool: pool)
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../fixtures/catalog.json").standardized
            try await seedCatalog(from: .file(file), into: repository, logger: Logger(label: "test"))
            let seeded = try await pool.query("SELECT count(*) AS n FROM products")[0].decode("n", as: Int.self)
            #expect((30...40).contains(seeded))
            try await pool.execute("UPDATE products SET price_cents = 1 WHERE sku = 'ELEC-0001'")
            try await seedCatalog(from: .file(file), into: repository, logger: Logger(label: "test"))
            #expect(try await pool.query("SELECT price_cents FROM products WHERE sku = 'ELEC-0001'")[0].decode("price_cents", as: Int64.self) == 1)
        }
    }

    @Test("the ledger sums to units on hand, and held to live reservations, after a mix of operations")
    func ledgerInvariant() async throws {
        try await ProductsTestApp.run { app in
            let lamp = try await app.createProduct(sku: "L-1", name: "Lamp", stock: 12)
            let rug = try await app.createProduct(sku: "R-1", name: "Rug", stock: 0)
            _ = try await app.send(.patch, "/admin/products/\(lamp.id.lowercased)", token: app.adminToken, json: #"{"stock": 20}"#)
            _ = try await app.send(.post, "/admin/products/\(rug.id.lowercased)/stock", token: app.adminToken, json: #"{"delta": 9, "reason": "delivery"}"#)
            let orders = (0..<6).map { _ in UUID() }
            for (index, order) in orders.enumerated() {
                let lines = [OrderedQuantity(productID: lamp.id, quantity: 2), OrderedQuantity(productID: rug.id, quantity: index % 3 + 1)]
                _ = try await app.pool.transaction { try StockReservations.reserve(OrderCreated(orderID: order, userID: UUID(), cartVersion: 1, lines: lines), on: $0) }
            }
            _ = try await app.pool.transaction { try StockReservations.release(orderID: orders[0], on: $0) }
            _ = try await app.send(.post, "/admin/products/\(lamp.id.lowercased)/stock", token: app.adminToken, json: #"{"delta": -1, "reason": "shrinkage"}"#)
            _ = try await app.pool.transaction { try StockReservations.ship(orderID: orders[2], on: $0) }
            // The rug's live reservations hold 5 units: 4 on hand is refused, and the whole import with it.
            #expect(try await app.send(.post, "/admin/products/import", token: app.adminToken, json: #"{"products": [{"sku": "L-1", "name": "Lamp", "price_cents": 1999, "stock": 30}, {"sku": "R-1", "name": "Rug", "price_cents": 1999, "stock": 4}]}"#).status == .conflict)
            _ = try await app.importCatalog([entry("R-1", "Rug", stock: 8), entry("L-1", "Lamp", stock: 30)])
            _ = try await app.pool.transaction { try StockReservations.release(orderID: orders[1], on: $0) }
            #expect(try await app.send(.patch, "/admin/products/\(rug.id.lowercased)", token: app.adminToken, json: #"{"stock": 0}"#).status == .conflict)
            _ = try await app.send(.patch, "/admin/products/\(rug.id.lowercased)", token: app.adminToken, json: #"{"stock": 6}"#)
            #expect(try await ledgerDiscrepancies(app.pool).isEmpty)
            let stocks = try await app.pool.query("SELECT min(on_hand - held) AS low FROM products")[0].decode("low", as: Int.self)
            #expect(stocks >= 0)
        }
    }

    @Test("search over 100 000 products uses the trigram indexes")
    func searchUsesIndex() async throws {
        try await TestDatabase.withPool(size: 2) { pool in
            try await pool.execute(
                """
                INSERT INTO products (id, sku, name, description, price_cents, on_hand)
                SELECT gen_random_uuid(), 'BULK-' || n, 'Product ' || md5(n::text), 'Description ' || md5((n * 7)::text), 100, 1
                FROM generate_series(1, 100000) AS n
                """)
            try await pool.execute("ANALYZE products")
            let plan = try await pool.withConnection { connection in
                try connection.execute("BEGIN")
                defer { _ = try? connection.execute("ROLLBACK") }
                // The plan of the catalog's search query, as the repository sends it.
                try connection.execute("PREPARE search(text, int) AS SELECT id FROM products WHERE is_active AND archived_at IS NULL AND (name ILIKE $1 OR description ILIKE $1) ORDER BY name, id LIMIT $2")
                return try connection.query("EXPLAIN (FORMAT TEXT) EXECUTE search('%c0ffee%', 21)").map { try $0.decode("QUERY PLAN", as: String.self) }
            }.joined(separator: "\n")
            #expect(plan.contains("products_name_trgm_idx") && plan.contains("products_description_trgm_idx"), "\(plan)")
        }
    }
}
