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
}
