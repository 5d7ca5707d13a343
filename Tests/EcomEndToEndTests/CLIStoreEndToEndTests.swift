import EcomAPI
import Foundation
import Testing

/// The customer journey and the store's administration through the `ecom` binary.
///
/// Serialized, as `CLIUsersEndToEndTests`, so only one `ecom serve` per suite runs at a time.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason), .serialized)
struct CLIStoreEndToEndTests {
    /// A served store with the mug and the tea imported by the admin, and a shopper signed up as `email`.
    func withStockedStore(shopper email: String, _ body: (ServerProcess, CLI, CLI) async throws -> Void) async throws {
        try await withStore { server, store in
            _ = try await store.importCatalog()
            try await store.shopper.signUp(email)
            try await body(server, store.admin, store.shopper)
        }
    }

    /// A served store whose admin holds a catalog file of the mug and the tea, not yet imported.
    func withStore(_ body: (ServerProcess, CLIStoreFixture) async throws -> Void) async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug, CLIStoreFixture.tea]) { try await body(server, $0) }
        }
    }

    func product(_ cli: CLI, sku: String) async throws -> Product {
        let list = try await cli.run(["products", "list", "--all", "--json"])
        try #require(list.status == 0, "\(list.stderr)")
        return try #require(try list.json([Product].self).first { $0.sku == sku })
    }

    @Test("browse, add to the cart, check out (confirmed), list, cancel: stock comes back")
    func customerJourney() async throws {
        try await withStockedStore(shopper: "shopper@example.com") { server, admin, shopper in

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
            #expect(rows.stdout.hasPrefix("\(line.lowercased)\t\(mug.id.lowercased)\tMug\t12.50\t3\t37.50\tyes"))

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

            #expect(try await shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
            let cleared = try await shopper.run(["cart", "clear", "--yes", "--json"])
            #expect(cleared.status == 0, "\(cleared.stderr)")
            #expect(cleared.stdout == "{}\n")
            #expect(try await shopper.run(["cart", "show", "--json"]).json(Cart.self).items.isEmpty)
        }
    }

    @Test("an order the stock cannot cover ends rejected: exit 1 naming the product, and its lines come back to the cart")
    func rejectedOrder() async throws {
        try await withStockedStore(shopper: "unlucky@example.com") { server, admin, shopper in
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
            #expect(repeated.stderr.contains("was already placed by this checkout"), "\(repeated.stderr)")
            #expect(!checkout.stderr.contains("already placed"))

            let placed = try await shopper.run(["order", "create", "--no-wait", "--json"])
            #expect(placed.status == 0 || placed.status == 1, "\(placed.stderr)")
        }
    }

    @Test("shell completion asks the binary, which asks the server: product ids with their names, cart lines, nothing when unreachable")
    func shellCompletion() async throws {
        try await withStockedStore(shopper: "tabber@example.com") { server, admin, shopper in
            let mug = try await product(shopper, sku: "MUG-1")
            let tea = try await product(shopper, sku: "TEA-1")

            // What the generated scripts run for `ecom cart add <Tab>`.
            let callback = ["---completion", "cart", "add", "--", "positional@0", "3", "0", "ecom", "cart", "add", ""]
            let zsh = try await shopper.run(callback, environment: ["SAP_SHELL": "zsh"])
            #expect(zsh.status == 0 && zsh.stderr.isEmpty, "\(zsh.stderr)")
            #expect(Set(zsh.stdout.split(separator: "\n").map(String.init)) == ["\(mug.id.lowercased):Mug", "\(tea.id.lowercased):Green tea", " "])
            let fish = try await shopper.run(callback, environment: ["SAP_SHELL": "fish"])
            #expect(fish.stdout.split(separator: "\n").contains("\(tea.id.lowercased)\tGreen tea"))

            // bash itself, through the committed script: the ids, and only those the word starts.
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let word = String(mug.id.lowercased.prefix(6))
            let bash = try await shopper.run(
                ["-c", """
                    PATH="$1:$PATH"; source "$2"
                    COMP_WORDS=(ecom cart add \(word)); COMP_CWORD=3; COMP_LINE="ecom cart add \(word)"; COMP_POINT=${#COMP_LINE}
                    _ecom; printf '%s\\n' "${COMPREPLY[@]}"
                    """, "bash", TestEnvironment.binary.deletingLastPathComponent().path, root.appendingPathComponent("completions/ecom.bash").path],
                executable: URL(fileURLWithPath: "/bin/bash"))
            #expect(bash.stdout == mug.id.lowercased + "\n", "\(bash.stderr)")

            // Cart lines need the session; the signed-out admin's config has none for the cart.
            #expect(try await shopper.run(["cart", "add", tea.id.lowercased]).status == 0)
            let lines = try await shopper.run(
                ["---completion", "cart", "set", "--", "positional@0", "3", "0", "ecom", "cart", "set", ""], environment: ["SAP_SHELL": "fish"])
            let line = try #require(try await shopper.run(["cart", "show", "--json"]).json(Cart.self).items.first)
            #expect(lines.stdout == "\(line.id.lowercased)\tGreen tea × 1\n", "\(lines.stderr)")

            let nowhere = try await shopper.run(callback, environment: ["SAP_SHELL": "bash", "ECOM_SERVER": "http://127.0.0.1:\(try TestEnvironment.freePort())"])
            #expect(nowhere.status == 0 && nowhere.stdout.isEmpty && nowhere.stderr.isEmpty, "\(nowhere.stderr)")
        }
    }

    @Test("--jq filters the JSON with jq's language; a bad expression exits 64 with jq's message; pipes never page")
    func outputControl() async throws {
        try await withStore { server, store in
            let admin = store.admin
            _ = try await store.importCatalog()
            let products = try await admin.run(["products", "list", "--json"]).json([Product].self)
            let first = try #require(products.first)

            let name = try await admin.run(["products", "list", "--jq", ".[0].name"])
            #expect(name.status == 0, "\(name.stderr)")
            #expect(name.stdout == first.name + "\n")
            let prices = try await admin.run(["products", "list", "--jq", "map({sku, price_cents}) | sort_by(.sku)"])
            #expect(prices.stdout == #"[{"sku":"MUG-1","price_cents":1250},{"sku":"TEA-1","price_cents":399}]"# + "\n", "\(prices.stderr)")

            let fields = try await admin.run(["products", "list", "--fields", "sku,stock", "--jq", "sort_by(.sku) | .[]"])
            #expect(fields.stdout == #"{"sku":"MUG-1","stock":10}"# + "\n" + #"{"sku":"TEA-1","stock":3}"# + "\n", "\(fields.stderr)")

            let bad = try await admin.run(["products", "list", "--jq", ".[0.name"])
            #expect(bad.status == 64)
            #expect(bad.stdout.isEmpty)
            #expect(bad.stderr.contains("--jq: jq: error: syntax error"), "\(bad.stderr)")
            let failing = try await admin.run(["products", "list", "--jq", ".name"])
            #expect(failing.status == 1)
            #expect(failing.stderr.contains(#"Cannot index array with string "name""#), "\(failing.stderr)")

            // A pager that would leave a mark: standard output is a file here, so it never runs.
            let mark = admin.configHome.appendingPathComponent("paged")
            let piped = try await admin.run(
                ["admin", "products", "list"], environment: ["ECOM_PAGER": "touch '\(mark.path)'; cat", "PAGER": "touch '\(mark.path)'; cat"])
            #expect(piped.status == 0)
            #expect(piped.stdout.split(separator: "\n").count == 2)
            #expect(!FileManager.default.fileExists(atPath: mark.path))
        }
    }

    @Test("an admin creates, updates, restocks, imports and archives products, and ships orders")
    func administration() async throws {
        try await withStore { server, store in
            let (admin, shopper, catalog) = (store.admin, store.shopper, store.catalog)
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
            let alerting = try await admin.run(["admin", "products", "update", pot.id.lowercased, "--low-stock", "4", "--json"])
            #expect(try alerting.json(Product.self).lowStockThreshold == 4)
            #expect(try await admin.run(["admin", "products", "show", pot.id.lowercased, "--json"]).json(Product.self).lowStockThreshold == 4)
            let storeWide = try await admin.run(["admin", "products", "update", pot.id.lowercased, "--low-stock", "default", "--json"])
            #expect(storeWide.object != nil && storeWide.object?["low_stock_threshold"] == nil)
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
            let archived = try await admin.run(["admin", "products", "delete", pot.id.lowercased, "--yes", "--json"])
            #expect(archived.status == 0, "\(archived.stderr)")
            #expect(archived.stdout == "{}\n")
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

    @Test("the short ids the CLI prints, and SKUs, name products, cart lines and orders; ambiguous or too short ones are refused")
    func shortIDs() async throws {
        try await withStockedStore(shopper: "short@example.com") { server, admin, shopper in
            let mug = try await product(shopper, sku: "MUG-1")
            let mugShort = String(mug.id.lowercased.prefix(8))

            let byPrefix = try await shopper.run(["products", "show", mugShort, "--json"])
            #expect(byPrefix.status == 0, "\(byPrefix.stderr)")
            #expect(try byPrefix.json(Product.self) == mug)
            #expect(try await shopper.run(["products", "show", "MUG-1", "--json"]).json(Product.self) == mug)
            #expect(try await shopper.run(["products", "show", mug.id.uuidString, "--json"]).json(Product.self) == mug)

            let added = try await shopper.run(["cart", "add", "TEA-1", "--json"])
            #expect(added.status == 0, "\(added.stderr)")
            let line = try #require(try added.json(Cart.self).items.first)
            #expect(try await shopper.run(["cart", "add", mugShort, "--json"]).status == 0)
            let set = try await shopper.run(["cart", "set", String(line.id.lowercased.prefix(5)), "2", "--json"])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(try set.json(Cart.self).items.first { $0.id == line.id }?.quantity == 2)

            let order = try await shopper.run(["order", "create", "--json"]).json(Order.self)
            let orderShort = String(order.id.lowercased.prefix(8))
            let shown = try await shopper.run(["order", "show", orderShort, "--json"])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(try shown.json(Order.self).id == order.id)
            #expect(try await shopper.run(["order", "show", order.id.lowercased, "--json"]).json(Order.self).id == order.id)

            // Too short, not hexadecimal, unknown: usage errors (64) and a plain failure (1).
            for arguments in [["order", "show", "4c1"], ["order", "show", "zzzzzzzz"], ["cart", "remove", "ab"], ["products", "show", "ab1"]] {
                let refused = try await shopper.run(arguments)
                #expect(refused.status == 64, "\(arguments): \(refused.stderr)")
                #expect(refused.stderr.contains("id"), "\(arguments): \(refused.stderr)")
            }
            let unknownPrefix = order.id.lowercased.hasPrefix("ffff") ? "eeeeeeee" : "ffffffff"
            let unknown = try await shopper.run(["order", "show", unknownPrefix])
            #expect(unknown.status == 1 && unknown.stderr.contains("no order of yours whose id starts with \(unknownPrefix)"), "\(unknown.stderr)")
            let noSKU = try await shopper.run(["cart", "add", "BOOK-0008"])
            #expect(noSKU.status == 1 && noSKU.stderr.contains("BOOK-0008"), "\(noSKU.stderr)")

            // Admins name any customer's order by its short id, and see whose it is.
            let adminShown = try await admin.run(["admin", "orders", "show", orderShort, "--json"])
            #expect(adminShown.status == 0, "\(adminShown.stderr)")
            #expect(try adminShown.json(Order.self).userID == order.userID)
            #expect(try await admin.run(["order", "show", orderShort]).status == 1)
            let listed = try await admin.run(["admin", "orders", "list"])
            #expect(listed.stdout.contains("\(order.id.lowercased)\t\(order.userID.lowercased)\t"), "\(listed.stdout)")
            let shipped = try await admin.run(["admin", "orders", "ship", orderShort, "--json"])
            #expect(try shipped.json(Order.self).status == .shipped, "\(shipped.stderr)")
            let grant = try await admin.run(["admin", "users", "grant-admin", String(order.userID.lowercased.prefix(8)), "--json"])
            #expect(try grant.json(User.self).role == .admin, "\(grant.stderr)")

            // With enough products, two ids share their first four digits: the prefix is ambiguous.
            let bulk = admin.configHome.appendingPathComponent("bulk.json")
            let entries = (0..<1500).map { #"{"sku": "BULK-\#($0)", "name": "Bulk \#($0)", "price_cents": 100, "stock": 1}"# }
            try Data(#"{"products": [\#(entries.joined(separator: ","))]}"#.utf8).write(to: bulk)
            #expect(try await admin.run(["admin", "products", "import", bulk.path]).status == 0)
            let all = try await admin.run(["admin", "products", "list", "--all", "--json"]).json([Product].self)
            let shared = try #require(Dictionary(grouping: all) { $0.id.lowercased.prefix(4) }.first { $0.value.count > 1 })
            let ambiguous = try await admin.run(["admin", "products", "show", String(shared.key)])
            #expect(ambiguous.status == 1, "\(ambiguous.stderr)")
            #expect(ambiguous.stderr.contains("more than one product whose id starts with \(shared.key)"), "\(ambiguous.stderr)")
            for product in shared.value.prefix(10) {
                #expect(ambiguous.stderr.contains(product.id.lowercased) && ambiguous.stderr.contains(product.sku), "\(ambiguous.stderr)")
            }
            #expect(ambiguous.stdout.isEmpty)
        }
    }

    @Test("admins see one product whatever its state, tell archived from inactive, and cannot put a deleted one back on sale")
    func adminProductStates() async throws {
        try await withStore { server, store in
            let admin = store.admin
            _ = try await store.importCatalog()
            let tea = try await product(admin, sku: "TEA-1")
            #expect(try await admin.run(["admin", "products", "update", "TEA-1", "--inactive"]).status == 0)
            #expect(try await admin.run(["products", "show", "TEA-1"]).status == 1)
            let inactive = try await admin.run(["admin", "products", "show", "TEA-1"])
            #expect(inactive.status == 0, "\(inactive.stderr)")
            #expect(inactive.stdout.hasPrefix("\(tea.id.lowercased)\tTEA-1\tGreen tea\t") && inactive.stdout.hasSuffix("\tinactive\n"), "\(inactive.stdout)")
            #expect(try await admin.run(["admin", "products", "update", String(tea.id.lowercased.prefix(6)), "--active"]).status == 0)

            #expect(try await admin.run(["admin", "products", "delete", "MUG-1", "--yes"]).status == 0)
            let archived = try await admin.run(["admin", "products", "show", "MUG-1", "--json"])
            #expect(archived.status == 0, "\(archived.stderr)")
            #expect(archived.object?["archived"] as? Bool == true && archived.object?["is_active"] as? Bool == false)
            #expect(try await admin.run(["admin", "products", "show", "MUG-1"]).stdout.hasSuffix("\tarchived\n"))
            let revived = try await admin.run(["admin", "products", "update", "MUG-1", "--active"])
            #expect(revived.status == 1 && revived.stderr.contains("cannot be put back on sale"), "\(revived.stderr)")
            #expect(try await admin.run(["admin", "products", "show", "MUG-1", "--json"]).json(Product.self).isActive == false)
            let list = try await admin.run(["admin", "products", "list"])
            #expect(list.stdout.contains("\tMUG-1\t") && list.stdout.contains("\tarchived\n") && list.stdout.contains("\ton sale\n"), "\(list.stdout)")

            let events = try await admin.run(["admin", "events", "list", "--json"])
            #expect(events.status == 0 && events.stdout == "[]\n", "\(events.stderr)")
            #expect(try await admin.run(["admin", "events", "list"]).status == 0)
            #expect(try await admin.run(["admin", "events", "list", "--cursor", "abc"]).status == 64)
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
