import EcomAPI
import Foundation
import Testing

/// The customer journey and the store's administration through the `ecom` binary.
///
/// Serialized, as `CLIUsersEndToEndTests`, so only one `ecom serve` per suite runs at a time.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason), .serialized)
struct CLIStoreEndToEndTests {
    /// The admin signed in, and a catalog of two products imported.
    func prepareStore(_ server: ServerProcess) async throws -> (admin: CLI, catalog: URL) {
        let admin = try CLI(server: server.gateway)
        try await admin.login("root@example.com", password: "root-password-123")
        let catalog = admin.configHome.appendingPathComponent("catalog.json")
        try Data(
            """
            {"products": [
              {"sku": "MUG-1", "name": "Mug", "description": "A stoneware mug", "price_cents": 1250, "stock": 10, "is_active": true},
              {"sku": "TEA-1", "name": "Green tea", "description": "100 g", "price_cents": 399, "stock": 3, "is_active": true}
            ]}
            """.utf8
        ).write(to: catalog)
        return (admin, catalog)
    }

    func product(_ cli: CLI, sku: String) async throws -> Product {
        let list = try await cli.run(["products", "list", "--all", "--json"])
        try #require(list.status == 0, "\(list.stderr)")
        return try #require(try list.json([Product].self).first { $0.sku == sku })
    }

    @Test("browse, add to the cart, check out (confirmed), list, cancel: stock comes back")
    func customerJourney() async throws {
        try await withCLIServer { server in
            let (admin, catalog) = try await prepareStore(server)
            let shopper = try CLI(server: server.gateway)
            defer {
                admin.removeConfig()
                shopper.removeConfig()
            }
            #expect(try await admin.run(["admin", "products", "import", catalog.path]).status == 0)
            try await shopper.signUp("shopper@example.com")

            let mug = try await product(shopper, sku: "MUG-1")
            let shown = try await shopper.run(["products", "show", mug.id.lowercased, "--json"])
            #expect(try shown.json(Product.self) == mug)

            let added = try await shopper.run(["cart", "add", mug.id.lowercased, "--quantity", "2", "--json"])
            #expect(added.status == 0, "\(added.stderr)")
            let cart = try added.json(Cart.self)
            #expect(cart.items.map(\.quantity) == [2])
            #expect(cart.totalCents == 2500)
            let line = try #require(cart.items.first).id
            #expect(try added.json(CartItemAdded.self).lineID == line)
            let set = try await shopper.run(["cart", "set", line.lowercased, "3", "--json"])
            #expect(try set.json(Cart.self).totalCents == 3750)
            let rows = try await shopper.run(["cart", "show"])
            #expect(rows.stdout.hasPrefix("\(line.lowercased)\t\(mug.id.lowercased)\tMug\t$12.50\t3\t$37.50\tyes"))

            let checkout = try await shopper.run(["order", "create", "--json"])
            #expect(checkout.status == 0, "\(checkout.stderr)")
            let order = try checkout.json(Order.self)
            #expect(order.status == .confirmed)
            #expect(order.totalCents == 3750)
            #expect(try await product(shopper, sku: "MUG-1").stock == 7)
            #expect(try await shopper.run(["cart", "show", "--json"]).json(Cart.self).items.isEmpty)

            let listed = try await shopper.run(["order", "list", "--json"])
            #expect(try listed.json([Order].self).map(\.id) == [order.id])
            let one = try await shopper.run(["order", "show", order.id.lowercased, "--json"])
            #expect(try one.json(Order.self).items.map(\.quantity) == [3])

            #expect(try await shopper.run(["order", "cancel", order.id.lowercased]).status == 64)
            let cancelled = try await shopper.run(["order", "cancel", order.id.lowercased, "--yes", "--json"])
            #expect(cancelled.status == 0, "\(cancelled.stderr)")
            #expect(try cancelled.json(Order.self).status == .cancelled)
            let again = try await shopper.run(["order", "cancel", order.id.lowercased, "--yes"])
            #expect(again.status == 1)
            try await eventually { try await product(shopper, sku: "MUG-1").stock == 10 }

            let empty = try await shopper.run(["order", "create"])
            #expect(empty.status == 1, "\(empty.stderr)")
            #expect(try await shopper.run(["order", "list", "--status", "delivered", "--json"]).stdout == "[]\n")
        }
    }

    @Test("an order the stock cannot cover ends rejected: exit 1 naming the product, and its lines come back to the cart")
    func rejectedOrder() async throws {
        try await withCLIServer { server in
            let (admin, catalog) = try await prepareStore(server)
            let shopper = try CLI(server: server.gateway)
            defer {
                admin.removeConfig()
                shopper.removeConfig()
            }
            #expect(try await admin.run(["admin", "products", "import", catalog.path]).status == 0)
            try await shopper.signUp("unlucky@example.com")
            let tea = try await product(shopper, sku: "TEA-1")
            #expect(try await shopper.run(["cart", "add", tea.id.lowercased, "--quantity", "3"]).status == 0)
            let taken = try await admin.run(["admin", "products", "stock", tea.id.lowercased, "--delta", "-2", "--reason", "broken jars", "--json"])
            #expect(try taken.json(Product.self).stock == 1)
            let shown = try await shopper.run(["cart", "show", "--json"]).json(Cart.self).items
            #expect(shown.map(\.available) == [false])
            #expect(shown.map(\.availableQuantity) == [1])
            #expect(try await shopper.run(["cart", "show"]).stdout.hasSuffix("\tonly 1\n"))

            let checkout = try await shopper.run(["order", "create", "--json", "--idempotency-key", "unlucky-1"])
            #expect(checkout.status == 1, "\(checkout.stderr)")
            let rejected = try checkout.json(Order.self)
            #expect(rejected.status == .rejected)
            #expect(rejected.rejection?.lines.map(\.productID) == [tea.id])
            #expect(checkout.stderr.contains("rejected: insufficient_stock; could not reserve Green tea (3 wanted, 1 available)"))
            let shownOrder = try await shopper.run(["order", "show", rejected.id.lowercased])
            #expect(shownOrder.stderr.contains("Green tea (3 wanted, 1 available)"), "\(shownOrder.stderr)")
            try await eventually {
                try await shopper.run(["cart", "show", "--json"]).json(Cart.self).items.map(\.quantity) == [3]
            }

            // The same key returns the same order rather than a new one.
            let repeated = try await shopper.run(["order", "create", "--json", "--idempotency-key", "unlucky-1"])
            #expect(try repeated.json(Order.self).id == (try checkout.json(Order.self).id))

            let placed = try await shopper.run(["order", "create", "--no-wait", "--json"])
            #expect(placed.status == 0 || placed.status == 1, "\(placed.stderr)")
        }
    }

    @Test("an admin creates, updates, restocks, imports and archives products, and ships orders")
    func administration() async throws {
        try await withCLIServer { server in
            let (admin, catalog) = try await prepareStore(server)
            let shopper = try CLI(server: server.gateway)
            defer {
                admin.removeConfig()
                shopper.removeConfig()
            }
            let first = try await admin.run(["admin", "products", "import", catalog.path, "--json"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try first.json(ImportResult.self) == ImportResult(created: 2, updated: 0, unchanged: 0))
            let second = try await admin.run(["admin", "products", "import", catalog.path, "--json"])
            #expect(try second.json(ImportResult.self) == ImportResult(created: 0, updated: 0, unchanged: 2))

            let created = try await admin.run(["admin", "products", "create", "--name", "Teapot", "--price", "19.99", "--stock", "5", "--sku", "POT-1", "--json"])
            #expect(created.status == 0, "\(created.stderr)")
            let pot = try created.json(Product.self)
            #expect(pot.priceCents == 1999 && pot.stock == 5 && pot.isActive)
            let fields = try #require(created.object)
            #expect(fields["price_cents"] as? Int == 1999)

            let updated = try await admin.run(["admin", "products", "update", pot.id.lowercased, "--price", "21", "--name", "Big teapot", "--json"])
            #expect(try updated.json(Product.self).priceCents == 2100)
            #expect(try updated.json(Product.self).name == "Big teapot")
            let restocked = try await admin.run(["admin", "products", "stock", pot.id.lowercased, "--delta", "3", "--reason", "restock", "--json"])
            #expect(try restocked.json(Product.self).stock == 8)

            try await shopper.signUp("buyer@example.com")
            #expect(try await shopper.run(["admin", "products", "list"]).status == 4)
            #expect(try await shopper.run(["cart", "add", pot.id.lowercased]).status == 0)
            let order = try await shopper.run(["order", "create", "--json"]).json(Order.self)
            #expect(order.status == .confirmed)

            let confirmed = try await admin.run(["admin", "orders", "list", "--status", "confirmed", "--json", "--all"])
            #expect(try confirmed.json([Order].self).contains { $0.id == order.id })
            #expect(try await admin.run(["admin", "orders", "deliver", order.id.lowercased]).status == 1)
            let shipped = try await admin.run(["admin", "orders", "ship", order.id.lowercased, "--json"])
            #expect(try shipped.json(Order.self).status == .shipped)
            let delivered = try await admin.run(["admin", "orders", "deliver", order.id.lowercased, "--json"])
            #expect(try delivered.json(Order.self).status == .delivered)
            #expect(try await shopper.run(["order", "cancel", order.id.lowercased, "--yes"]).status == 1)

            #expect(try await admin.run(["admin", "products", "delete", pot.id.lowercased]).status == 64)
            #expect(try await admin.run(["admin", "products", "delete", pot.id.lowercased, "--yes"]).status == 0)
            #expect(try await shopper.run(["products", "show", pot.id.lowercased]).status == 1)
            let all = try await admin.run(["admin", "products", "list", "--all", "--json"])
            #expect(try all.json([Product].self).contains { $0.id == pot.id && !$0.isActive })

            for service in ["products", "cart", "orders"] {
                let parked = try await admin.run(["admin", "events", "list", service, "--json"])
                #expect(parked.status == 0, "\(service): \(parked.stderr)")
                #expect(parked.stdout == "[]\n")
            }
            #expect(try await admin.run(["admin", "events", "retry", "orders", UUID().lowercased]).status == 1)
        }
    }

    /// Polls `condition` for up to a minute.
    func eventually(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("condition not met within 60 s")
    }
}
