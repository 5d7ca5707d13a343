import EcomAPI
import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Administration of the catalog and orders through the gateway, and imports that meet held stock.
extension StoreEndToEndTests {
    @Test("admins create, partially update, archive and restock products; ship and deliver orders", arguments: Transport.available)
    func administration(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(name: "Kettle", priceCents: 3999, stock: 5)
            let patched = try await HTTP.send(.PATCH, store.gateway + "/admin/products/\(product.id.lowercased)", json: ProductUpdate(priceCents: 3499), token: store.admin.token)
            #expect(patched.status == .ok)
            let updated: Product = try patched.decode()
            #expect(updated.priceCents == 3499)
            #expect(updated.name == "Kettle")
            #expect(updated.stock == 5)
            let restocked = try await HTTP.send(.POST, store.gateway + "/admin/products/\(product.id.lowercased)/stock", json: StockAdjustment(delta: 5, reason: "delivery"), token: store.admin.token)
            #expect(try restocked.decode(Product.self).stock == 10)

            let shopper = try await store.shopper()
            try await store.add(product.id, quantity: 1, as: shopper)
            let order: Order = try await store.checkout(as: shopper).decode()
            try await store.eventually("confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
            #expect(try await HTTP.send(.POST, store.gateway + "/admin/orders/\(order.id.lowercased)/deliver", token: store.admin.token).status == .conflict)
            #expect(try await store.product(product.id).held == 1)
            #expect(try await HTTP.send(.POST, store.gateway + "/admin/orders/\(order.id.lowercased)/ship", token: store.admin.token).decode(Order.self).status == .shipped)
            try await store.eventually("the shipped unit leaves") { try await store.product(product.id).held == 0 }
            #expect(try await store.product(product.id).onHand == 9)
            #expect(try await store.product(product.id).stock == 9)
            #expect(try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: shopper.token).status == .conflict)
            #expect(try await HTTP.send(.POST, store.gateway + "/admin/orders/\(order.id.lowercased)/deliver", token: store.admin.token).decode(Order.self).status == .delivered)
            let confirmedOnly: Page<Order> = try await HTTP.send(.GET, store.gateway + "/admin/orders?status=delivered", token: store.admin.token).decode()
            #expect(confirmedOnly.items.map(\.id) == [order.id])
            #expect(try await store.ledgerDiscrepancies().isEmpty)

            #expect(try await HTTP.send(.DELETE, store.gateway + "/admin/products/\(product.id.lowercased)", token: store.admin.token).status == .noContent)
            #expect(try await HTTP.send(.GET, store.gateway + "/api/products/\(product.id.lowercased)").status == .notFound)
            #expect(try await HTTP.send(.DELETE, store.gateway + "/admin/products/\(UUID().lowercased)", token: store.admin.token).status == .notFound)
            // The delivered order still shows what was bought.
            #expect(try await store.order(order.id, as: shopper).items.first?.name == "Kettle")
        }
    }

    @Test("import, order, the same import, cancel: held units are not resurrected, and a second import changes nothing", arguments: Transport.available)
    func importKeepsHeldUnits(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let catalog = [ProductCreate(sku: "E2E-LAMP", name: "Lamp", description: "", priceCents: 1500, stock: 10, isActive: true)]
            #expect(try await store.importCatalog(catalog).created == 1)
            let lamp: Page<Product> = try await HTTP.send(.GET, store.gateway + "/api/products?q=Lamp").decode()
            let product = try #require(lamp.items.first)
            let shopper = try await store.shopper()
            try await store.add(product.id, quantity: 2, as: shopper)
            let order: Order = try await store.checkout(as: shopper).decode()
            try await store.eventually("order confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }

            for _ in 0..<2 {
                #expect(try await store.importCatalog(catalog) == ImportResult(created: 0, updated: 0, unchanged: 1))
                let current = try await store.product(product.id)
                #expect([current.stock, current.onHand, current.held] == [8, 10, 2])
            }
            let below = try await HTTP.send(.PATCH, store.gateway + "/admin/products/\(product.id.lowercased)", json: ProductUpdate(stock: 1), token: store.admin.token)
            #expect(below.status == .conflict)
            #expect(try below.decode(APIErrorBody.self).error.code == "stock_below_held")

            #expect(try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: shopper.token).status == .ok)
            try await store.eventually("stock released") { try await store.product(product.id).held == 0 }
            try await Task.sleep(for: .seconds(1))
            let released = try await store.product(product.id)
            #expect([released.stock, released.onHand, released.held] == [10, 10, 0])
            #expect(try await store.importCatalog(catalog).unchanged == 1)
            try await store.expectStockInvariant(of: product.id, initial: 10, orders: try await store.allOrders())
            #expect(try await store.ledgerDiscrepancies().isEmpty)
        }
    }

    @Test("import, order, ship, import of the real count: availability is what the warehouse has less what orders hold", arguments: Transport.available)
    func shipThenImportRealCount(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let entry = { (stock: Int) in [ProductCreate(sku: "E2E-RUG", name: "Rug", description: "", priceCents: 9900, stock: stock, isActive: true)] }
            _ = try await store.importCatalog(entry(10))
            let page: Page<Product> = try await HTTP.send(.GET, store.gateway + "/api/products?q=Rug").decode()
            let product = try #require(page.items.first)
            var orders: [Order] = []
            for quantity in [3, 2] {
                let shopper = try await store.shopper()
                try await store.add(product.id, quantity: quantity, as: shopper)
                let order: Order = try await store.checkout(as: shopper).decode()
                try await store.eventually("order confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
                orders.append(order)
            }
            let shipped = try await HTTP.send(.POST, store.gateway + "/admin/orders/\(orders[0].id.lowercased)/ship", token: store.admin.token)
            #expect(try shipped.decode(Order.self).status == .shipped)
            try await store.eventually("the shipped units leave") { try await store.product(product.id).held == 2 }
            // Shipped again: refused, and nothing leaves twice.
            #expect(try await HTTP.send(.POST, store.gateway + "/admin/orders/\(orders[0].id.lowercased)/ship", token: store.admin.token).status == .conflict)
            try await store.expectStockInvariant(of: product.id, initial: 10, orders: try await store.allOrders())

            // The warehouse counts the 7 units it has: 2 of them are the confirmed order's.
            #expect(try await store.importCatalog(entry(7)).unchanged == 1)
            var current = try await store.product(product.id)
            #expect([current.stock, current.onHand, current.held] == [5, 7, 2])
            // A later count finds one fewer.
            #expect(try await store.importCatalog(entry(6)).updated == 1)
            current = try await store.product(product.id)
            #expect([current.stock, current.onHand, current.held] == [4, 6, 2])
            let shown: Product = try await HTTP.send(.GET, store.gateway + "/api/products/\(product.id.lowercased)").decode()
            #expect(shown.stock == 4 && shown.onHand == nil && shown.held == nil)
            #expect(try await store.ledgerDiscrepancies().isEmpty)
        }
    }
}
