import EcomAPI
import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The catalog, cart and orders through the gateway of a real `ecom serve`, with the stock
/// reservation saga running over the in-process transport and, the same tests, over RabbitMQ.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct StoreEndToEndTests {
    @Test("a shopper's order is confirmed and takes stock; cancelling gives it back once", arguments: Transport.available)
    func checkoutAndCancel(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(name: "Lamp", priceCents: 2500, stock: 10)
            let shopper = try await store.shopper()
            #expect(try await store.add(product.id, quantity: 3, as: shopper).status == .created)
            #expect(try await store.add(product.id, quantity: 1, as: shopper).status == .ok)
            let cart: Cart = try await HTTP.send(.GET, store.gateway + "/api/cart", token: shopper.token).decode()
            #expect(cart.items.map(\.quantity) == [4])
            #expect(cart.totalCents == 10_000)

            let placed = try await store.checkout(as: shopper)
            #expect(placed.status == .created)
            let order: Order = try placed.decode()
            #expect(order.status == .pending)
            #expect(order.totalCents == 10_000)
            try await store.eventually("order confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
            #expect(try await store.product(product.id).stock == 6)
            let emptied: Cart = try await HTTP.send(.GET, store.gateway + "/api/cart", token: shopper.token).decode()
            #expect(emptied.items.isEmpty)

            let cancelled = try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: shopper.token)
            #expect(cancelled.status == .ok)
            #expect(try cancelled.decode(Order.self).status == .cancelled)
            try await store.eventually("stock released") { try await store.product(product.id).stock == 10 }
            let again = try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: shopper.token)
            #expect(again.status == .conflict)
            try await Task.sleep(for: .seconds(1))
            #expect(try await store.product(product.id).stock == 10)
        }
    }

    @Test("an order for more than the stock is rejected naming the product, the stock is untouched, and the lines come back to the cart", arguments: Transport.available)
    func overOrderRejected(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(name: "Scarce lamp", stock: 2)
            let plenty = try await store.createProduct(name: "Plenty", stock: 10)
            let shopper = try await store.shopper()
            try await store.add(product.id, quantity: 3, as: shopper)
            try await store.add(plenty.id, quantity: 1, as: shopper)
            let shown = try await store.cart(as: shopper).items
            #expect(shown.map(\.available) == [false, true])
            #expect(shown.map(\.availableQuantity) == [2, 10])

            let order: Order = try await store.checkout(as: shopper).decode()
            #expect(try await store.cart(as: shopper).items.isEmpty)
            try await store.eventually("order rejected") { try await store.order(order.id, as: shopper).status == .rejected }
            let rejected = try await store.order(order.id, as: shopper)
            #expect(rejected.reason == "insufficient_stock")
            #expect(rejected.rejection == OrderRejection(
                reason: "insufficient_stock",
                lines: [RejectedLine(productID: product.id, name: "Scarce lamp", requested: 3, available: 2)]))
            #expect(try await store.product(product.id).stock == 2)
            try await store.eventually("lines back in the cart") {
                try await store.cartQuantities(as: shopper) == [product.id: 3, plenty.id: 1]
            }
        }
    }

    @Test("an order that times out is rejected naming every line; its lines come back, the larger quantity kept, archived products left out", arguments: Transport.available)
    func timeoutRestoresCart(transport: Transport) async throws {
        try await transport.withEnvironment { environment in try await timeoutRestoresCart(environment: environment) }
    }

    func timeoutRestoresCart(environment: [String: String]) async throws {
        // Held events keep the products service from answering, so the order can only time out.
        let held = try await ServerProcess(
            environment: environment.merging(["ECOM_HOLD_EVENTS": "1", "ECOM_ORDER_PENDING_TIMEOUT": "1"]) { $1 },
            services: Store.services)
        do {
            let store = Store(server: held, admin: try await held.login("root@example.com", "root-password-123"))
            let kept = try await store.createProduct(name: "Kept", stock: 10)
            let archived = try await store.createProduct(name: "Archived", stock: 10)
            let shopper = try await store.shopper()
            try await store.add(kept.id, quantity: 2, as: shopper)
            try await store.add(archived.id, quantity: 1, as: shopper)
            let order: Order = try await store.checkout(as: shopper).decode()
            try await store.eventually("order timed out") { try await store.order(order.id, as: shopper).status == .rejected }
            let rejected = try await store.order(order.id, as: shopper)
            #expect(rejected.reason == "timeout")
            #expect(Set(rejected.rejection?.lines ?? []) == [
                RejectedLine(productID: kept.id, name: "Kept", requested: 2, available: nil),
                RejectedLine(productID: archived.id, name: "Archived", requested: 1, available: nil),
            ])
            // Meanwhile the shopper adds more of one product, and the other is archived.
            try await store.add(kept.id, quantity: 5, as: shopper)
            #expect(try await HTTP.send(.DELETE, store.gateway + "/admin/products/\(archived.id.lowercased)", token: store.admin.token).status == .noContent)
            #expect(await held.stop() == 0)

            let resumed = try await ServerProcess(reusing: held, environment: environment)
            let store2 = Store(server: resumed, admin: try await resumed.login("root@example.com", "root-password-123"))
            try await store2.eventually("timed-out order's lines restored") {
                try await store2.cartQuantities(as: shopper) == [kept.id: 5]
            }
            // The late order.created and the release both went through; the cart stays as restored.
            try await store2.eventually("late reservation released") {
                let product = try await store2.product(kept.id)
                return product.stock == 10 && product.held == 0
            }
            #expect(try await store2.cartQuantities(as: shopper) == [kept.id: 5])
            #expect(try await store2.order(order.id, as: shopper).status == .rejected)
            await resumed.tearDown()
        } catch {
            print(held.log.suffix(10_000))
            await held.tearDown()
            throw error
        }
    }

    @Test("bad cart and checkout input is refused with stable codes")
    func badInput() async throws {
        try await Store.with { store in
            let product = try await store.createProduct(stock: 5)
            let shopper = try await store.shopper()
            let empty = try await store.checkout(as: shopper)
            #expect(empty.status == .conflict)
            #expect(empty.errorCode == "cart_empty")
            for quantity in [0, -1, 1_000_000] {
                let reply = try await store.add(product.id, quantity: quantity, as: shopper)
                #expect(reply.status.code >= 400 && reply.status.code < 500, "quantity \(quantity)")
            }
            let unknown = try await store.add(UUID(), quantity: 1, as: shopper)
            #expect(unknown.status == .notFound)
            let malformed = try await HTTP.send(.GET, store.gateway + "/api/orders/not-a-uuid", token: shopper.token)
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorCode == ErrorCode.invalidID)
            let cart: Cart = try await HTTP.send(.GET, store.gateway + "/api/cart", token: shopper.token).decode()
            #expect(cart.items.isEmpty)
        }
    }

    @Test("orders (own and all) and accounts are found by the start of their id; a bad id_prefix is 400 with its field")
    func idPrefixes() async throws {
        try await Store.with { store in
            let product = try await store.createProduct(stock: 5)
            let shopper = try await store.shopper()
            let other = try await store.shopper()
            try await store.add(product.id, quantity: 1, as: shopper)
            let order: Order = try await store.checkout(as: shopper).decode()
            let short = String(order.id.lowercased.prefix(8))
            func ids<Item: Codable & Sendable>(_ path: String, token: String, as: Item.Type, _ id: (Item) -> UUID) async throws -> [UUID] {
                let reply = try await HTTP.send(.GET, store.gateway + path, token: token)
                try #require(reply.status == .ok, "\(path): \(reply.text)")
                return try reply.decode(Page<Item>.self).items.map(id)
            }
            #expect(try await ids("/api/orders?id_prefix=\(short)", token: shopper.token, as: Order.self, \.id) == [order.id])
            #expect(try await ids("/api/orders?id_prefix=\(short.uppercased())", token: shopper.token, as: Order.self, \.id) == [order.id])
            // Another customer's order is not theirs to find.
            #expect(try await ids("/api/orders?id_prefix=\(short)", token: other.token, as: Order.self, \.id).isEmpty)
            #expect(try await ids("/admin/orders?id_prefix=\(short)", token: store.admin.token, as: Order.self, \.id) == [order.id])
            let whole = order.id.lowercased.replacingOccurrences(of: "-", with: "")
            #expect(try await ids("/admin/orders?id_prefix=\(whole)", token: store.admin.token, as: Order.self, \.id) == [order.id])

            let userShort = String(shopper.user.id.lowercased.prefix(6))
            #expect(try await ids("/admin/users?id_prefix=\(userShort)", token: store.admin.token, as: User.self, \.id) == [shopper.user.id])

            for path in ["/api/orders?id_prefix=xyz", "/admin/orders?id_prefix=", "/admin/users?id_prefix=\(String(repeating: "0", count: 33))",
                         "/admin/users?id_prefix=\(userShort)-"] {
                let token = path.hasPrefix("/api") ? shopper.token : store.admin.token
                let reply = try await HTTP.send(.GET, store.gateway + path, token: token)
                #expect(reply.status == .badRequest, "\(path)")
                let error = try reply.decode(APIErrorBody.self).error
                #expect(error.code == ErrorCode.invalidQuery && error.field == "id_prefix", "\(path)")
            }
        }
    }

    @Test("ten concurrent checkouts of one cart make one order", arguments: Transport.available)
    func racingCheckouts(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(stock: 100)
            let shopper = try await store.shopper()
            try await store.add(product.id, quantity: 2, as: shopper)
            let replies = try await withThrowingTaskGroup(of: HTTP.Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await store.checkout(as: shopper) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let ids = Set(try replies.filter { $0.status == .created || $0.status == .ok }.map { try $0.decode(Order.self).id })
            #expect(ids.count == 1)
            #expect(replies.filter { $0.status == .created }.count == 1)
            let orders: Page<Order> = try await HTTP.send(.GET, store.gateway + "/api/orders", token: shopper.token).decode()
            #expect(orders.items.count == 1)
            try await store.eventually("confirmed") { try await store.product(product.id).stock == 98 }
        }
    }

    @Test("eight concurrent adds of one product give quantity eight")
    func concurrentAdds() async throws {
        try await Store.with { store in
            let product = try await store.createProduct(stock: 100)
            let shopper = try await store.shopper()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { try await store.add(product.id, quantity: 1, as: shopper) } }
                try await group.waitForAll()
            }
            let cart: Cart = try await HTTP.send(.GET, store.gateway + "/api/cart", token: shopper.token).decode()
            #expect(cart.items.map(\.quantity) == [8])
        }
    }

    @Test("ten concurrent cancels of one order: one succeeds, stock restored once", arguments: Transport.available)
    func racingCancels(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(stock: 10)
            let shopper = try await store.shopper()
            try await store.add(product.id, quantity: 4, as: shopper)
            let order: Order = try await store.checkout(as: shopper).decode()
            try await store.eventually("confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: shopper.token).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 9)
            try await store.eventually("released") { try await store.product(product.id).stock == 10 }
            try await Task.sleep(for: .seconds(1))
            #expect(try await store.product(product.id).stock == 10)
        }
    }

    @Test("an Idempotency-Key returns the order it made, whatever the cart holds now, and once when sent concurrently", arguments: Transport.available)
    func idempotencyKey(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(stock: 100)
            let shopper = try await store.shopper()
            try await store.add(product.id, quantity: 1, as: shopper)
            let first = try await store.checkout(as: shopper, key: "checkout-1")
            #expect(first.status == .created)
            try await store.add(product.id, quantity: 5, as: shopper)
            #expect(first.headers["Idempotent-Replayed"].isEmpty)
            let repeated = try await store.checkout(as: shopper, key: "checkout-1")
            #expect(repeated.status == .created)
            #expect(repeated.headers["Idempotent-Replayed"] == ["true"])
            #expect(try repeated.decode(Order.self).id == first.decode(Order.self).id)
            #expect(try repeated.decode(Order.self).totalCents == first.decode(Order.self).totalCents)

            let replies = try await withThrowingTaskGroup(of: HTTP.Reply.self) { group in
                for _ in 0..<6 { group.addTask { try await store.checkout(as: shopper, key: "checkout-2") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let made = Set(try replies.filter { $0.status.code < 300 }.map { try $0.decode(Order.self).id })
            #expect(made.count == 1)
            #expect(replies.allSatisfy { $0.status.code < 300 || $0.errorCode == "idempotency_in_progress" })
            let orders: Page<Order> = try await HTTP.send(.GET, store.gateway + "/api/orders", token: shopper.token).decode()
            #expect(orders.items.count == 2)
        }
    }

    @Test("many buyers, one product: never oversold, every order settles, cancels restore exactly", arguments: Transport.available)
    func invariantUnderLoad(transport: Transport) async throws {
        try await Store.with(transport: transport) { store in
            let product = try await store.createProduct(name: "Scarce", priceCents: 100, stock: 50)
            let buyers = 200
            // Accounts and carts first, ten at a time (password hashing is deliberately slow);
            // then every checkout at once, which is the race that matters.
            var shoppers: [TokenPair] = []
            for batch in stride(from: 0, to: buyers, by: 10) {
                shoppers += try await withThrowingTaskGroup(of: TokenPair.self) { group in
                    for index in batch..<(batch + 10) {
                        group.addTask {
                            let shopper = try await store.shopper("buyer\(index)")
                            try await store.add(product.id, quantity: Int.random(in: 1...3), as: shopper)
                            return shopper
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let results = try await withThrowingTaskGroup(of: (TokenPair, Order?).self) { group in
                for shopper in shoppers {
                    group.addTask {
                        let reply = try await store.checkout(as: shopper)
                        return (shopper, reply.status == .created ? try reply.decode(Order.self) : nil)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.1 != nil })
            try await store.eventually("no order pending") { try await store.allOrders().allSatisfy { $0.status != .pending } }
            var orders = try await store.allOrders()
            var stock = try await store.product(product.id).stock
            #expect(stock >= 0)
            #expect(stock + Store.reservedUnits(of: product.id, in: orders) == 50)
            try await store.expectStockInvariant(of: product.id, initial: 50, orders: orders)
            #expect(orders.allSatisfy { $0.status == .confirmed || $0.status == .rejected })
            #expect(orders.contains { $0.status == .confirmed })

            // Cancel a random half, each twice at once.
            let owners = Dictionary(uniqueKeysWithValues: results.compactMap { shopper, order in order.map { ($0.id, shopper) } })
            let victims = orders.shuffled().prefix(orders.count / 2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in victims {
                    for _ in 0..<2 {
                        group.addTask {
                            _ = try await HTTP.send(.DELETE, store.gateway + "/api/orders/\(order.id.lowercased)", token: owners[order.id]!.token)
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await store.eventually("stock settles after cancels") {
                let orders = try await store.allOrders()
                return try await store.product(product.id).stock + Store.reservedUnits(of: product.id, in: orders) == 50
            }
            try await Task.sleep(for: .seconds(2))
            orders = try await store.allOrders()
            stock = try await store.product(product.id).stock
            #expect(stock >= 0)
            #expect(stock + Store.reservedUnits(of: product.id, in: orders) == 50)
            try await store.expectStockInvariant(of: product.id, initial: 50, orders: orders)

            // Ship what is still confirmed, twice at once: each order's units leave once.
            let confirmed = orders.filter { $0.status == .confirmed }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in confirmed {
                    for _ in 0..<2 {
                        group.addTask {
                            _ = try await HTTP.send(.POST, store.gateway + "/admin/orders/\(order.id.lowercased)/ship", token: store.admin.token)
                        }
                    }
                }
                try await group.waitForAll()
            }
            orders = try await store.allOrders()
            #expect(orders.filter { $0.status == .shipped }.count == confirmed.count)
            try await store.eventually("shipped units leave") { try await store.product(product.id).held == 0 }
            try await store.expectStockInvariant(of: product.id, initial: 50, orders: orders)
            #expect(try await store.ledgerDiscrepancies().isEmpty)
        }
    }

    @Test("orders made while events are held settle after a restart, each applied once", arguments: Transport.available)
    func restartWithHeldEvents(transport: Transport) async throws {
        try await transport.withEnvironment { environment in try await restartWithHeldEvents(environment: environment) }
    }

    func restartWithHeldEvents(environment: [String: String]) async throws {
        let held = try await ServerProcess(environment: environment.merging(["ECOM_HOLD_EVENTS": "1"]) { $1 }, services: Store.services)
        do {
            let store = Store(server: held, admin: try await held.login("root@example.com", "root-password-123"))
            let product = try await store.createProduct(stock: 7)
            var placed: [(TokenPair, Order)] = []
            for index in 0..<5 {
                let shopper = try await store.shopper("held\(index)")
                try await store.add(product.id, quantity: 2, as: shopper)
                placed.append((shopper, try await store.checkout(as: shopper).decode()))
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await store.product(product.id).stock == 7)
            for (shopper, order) in placed {
                #expect(try await store.order(order.id, as: shopper).status == .pending)
            }
            #expect(await held.stop() == 0)

            let resumed = try await ServerProcess(reusing: held, environment: environment)
            let store2 = Store(server: resumed, admin: try await resumed.login("root@example.com", "root-password-123"))
            try await store2.eventually("all settled") {
                var settled = true
                for (shopper, order) in placed where try await store2.order(order.id, as: shopper).status == .pending { settled = false }
                return settled
            }
            let orders = try await store2.allOrders()
            #expect(orders.filter { $0.status == .confirmed }.count == 3)
            #expect(try await store2.product(product.id).stock == 1)
            await resumed.tearDown()
        } catch {
            print(held.log.suffix(10_000))
            await held.tearDown()
            throw error
        }
    }

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

    @Test("killing ecom serve mid-traffic and starting it again loses no event and applies none twice", arguments: Transport.available)
    func killedMidTraffic(transport: Transport) async throws {
        try await transport.withEnvironment { environment in try await killedMidTraffic(environment: environment) }
    }

    func killedMidTraffic(environment: [String: String]) async throws {
        let first = try await ServerProcess(environment: environment, services: Store.services)
        do {
            let store = Store(server: first, admin: try await first.login("root@example.com", "root-password-123"))
            let product = try await store.createProduct(stock: 30)
            var shoppers: [TokenPair] = []
            for index in 0..<12 {
                let shopper = try await store.shopper("killed\(index)")
                try await store.add(product.id, quantity: 3, as: shopper)
                shoppers.append(shopper)
            }
            // Check out concurrently and kill the server while those requests and their events are in flight.
            async let checkouts: Void = withTaskGroup(of: Void.self) { group in
                for shopper in shoppers { group.addTask { _ = try? await store.checkout(as: shopper) } }
            }
            try await Task.sleep(for: .milliseconds(150))
            await first.stop(signal: SIGKILL)
            await checkouts

            let second = try await ServerProcess(reusing: first, environment: environment)
            let store2 = Store(server: second, admin: try await second.login("root@example.com", "root-password-123"))
            try await store2.eventually("every order settled") { try await store2.allOrders().allSatisfy { $0.status != .pending } }
            let orders = try await store2.allOrders()
            let stock = try await store2.product(product.id).stock
            #expect(stock >= 0)
            #expect(stock + Store.reservedUnits(of: product.id, in: orders) == 30)
            try await store2.expectStockInvariant(of: product.id, initial: 30, orders: orders)
            #expect(try await store2.ledgerDiscrepancies().isEmpty)
            await second.tearDown()
        } catch {
            print(first.log.suffix(10_000))
            await first.tearDown()
            throw error
        }
    }
}
