import EcomAPI
import Foundation
import Testing

/// `ecom listen` and `ecom order watch` against a served store.
@Suite struct CLIEventsEndToEndTests {
    /// Runs `script` in bash with the binary as `$ECOM`, as `cli`.
    static func shell(_ cli: CLI, _ script: String) async throws -> CLI.Result {
        try await cli.run(
            ["-c", "set -o pipefail; " + script], environment: ["ECOM": TestEnvironment.binary.path],
            executable: URL(fileURLWithPath: "/bin/bash"))
    }

    /// The `type` of each JSON line of `output`.
    static func types(_ output: String) throws -> [String] {
        try output.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            return try #require(object["type"] as? String, "\(line)")
        }
    }

    @Test("ecom listen --json | head -n 3 prints three events as JSON lines and exits 0; --types keeps to the types asked for")
    func listenIntoHead() async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("listener@shop.test")
                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                #expect(try await store.shopper.run(["order", "create"]).status == 0)

                let head = try await Self.shell(
                    store.admin, #"timeout 60 "$ECOM" listen --json --after 0 --types 'order.*,stock.reserved' | head -n 3"#)
                #expect(head.status == 0, "\(head.stderr)")
                #expect(try Self.types(head.stdout) == [EventType.orderCreated, EventType.stockReserved, EventType.orderConfirmed])

                let orders = try await Self.shell(store.admin, #"timeout 60 "$ECOM" listen --json --after 0 --types 'order.*' | head -n 2"#)
                #expect(orders.status == 0, "\(orders.stderr)")
                #expect(try Self.types(orders.stdout) == [EventType.orderCreated, EventType.orderConfirmed])

                let bad = try await store.admin.run(["listen", "--types", "Order.Created"])
                #expect(bad.status == 64 && bad.stderr.contains("--types"), "\(bad.stderr)")
            }
        }
    }

    @Test("ecom order watch prints an order's events as they come and exits 0 once it is delivered")
    func watchUntilDelivered() async throws {
        try await withCLIServer { server in
            try await CLIStoreFixture.with(server, catalog: [CLIStoreFixture.mug]) { store in
                let mug = try #require(try await store.importCatalog().first)
                try await store.shopper.signUp("watcher@shop.test")
                #expect(try await store.shopper.run(["cart", "add", mug.id.lowercased]).status == 0)
                let order = try await store.shopper.run(["order", "create", "--json"]).json(Order.self)
                #expect(order.status == .confirmed)

                async let watched = store.shopper.run(["order", "watch", String(order.id.lowercased.prefix(8))])
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await store.admin.run(["admin", "orders", "ship", order.id.lowercased]).status == 0)
                #expect(try await store.admin.run(["admin", "orders", "deliver", order.id.lowercased]).status == 0)
                let watch = try await watched
                #expect(watch.status == 0, "\(watch.stderr)")
                #expect(
                    try Self.types(watch.stdout)
                        == [EventType.orderCreated, EventType.orderConfirmed, EventType.orderShipped, EventType.orderDelivered])

                // An order that has ended is shown as it stands, at once.
                let ended = try await store.shopper.run(["order", "watch", order.id.lowercased, "--json"])
                #expect(ended.status == 0, "\(ended.stderr)")
                #expect(try ended.json(Order.self).status == .delivered)
            }
        }
    }
}
