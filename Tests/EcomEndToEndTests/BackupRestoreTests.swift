import EcomAPI
import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import Testing

/// The README's backup and restore: `pg_dump -Fc` of each service database, `pg_restore` into
/// fresh ones, and `ecom serve` on those.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct BackupRestoreTests {
    @Test(
        "each service database dumped and restored into fresh databases: accounts, catalog and orders come back, an order in flight settles, and the store takes new orders",
        .timeLimit(.minutes(5)))
    func dumpAndRestore() async throws {
        let server = try await ServerProcess(services: Store.services)
        let restoredPrefix = "ecom_restored_\(UUID().uuidString.prefix(8).lowercased())"
        let dumps = FileManager.default.temporaryDirectory.appendingPathComponent(restoredPrefix)
        var restored: ServerProcess?
        do {
            let store = Store(server: server, admin: try await server.login("root@example.com", "root-password-123"))
            let product = try await store.createProduct(name: "Kept", priceCents: 1500, stock: 10)
            let shopper = try await store.shopper("backup")
            try await store.add(product.id, quantity: 1, as: shopper)
            let settled: Order = try await store.checkout(as: shopper).decode()
            try await store.eventually("first order confirmed") { try await store.order(settled.id, as: shopper).status == .confirmed }
            await server.stop()

            // An order whose event is still in the outbox when the backup is taken.
            let holding = try await ServerProcess(reusing: server, environment: ["ECOM_HOLD_EVENTS": "1"])
            let inFlight: Order = try await {
                try await store.add(product.id, quantity: 2, as: shopper)
                return try await store.checkout(as: shopper).decode()
            }()
            #expect(try await store.order(inFlight.id, as: shopper).status == .pending)
            await holding.stop()

            let databases = try await Self.databases(startingWith: server.databasePrefix + "_")
            #expect(databases.count == 5, "\(databases)")
            try FileManager.default.createDirectory(at: dumps, withIntermediateDirectories: true)
            let serverURL = try #require(TestEnvironment.databaseURL)
            var script = "set -e; bin=$(ecom_postgres_bindir)"
            for name in databases {
                let suffix = String(name.dropFirst(server.databasePrefix.count))
                let file = dumps.appendingPathComponent(suffix + ".dump").path
                script += """
                    ; "$bin/pg_dump" -Fc -f '\(file)' '\(ServerProcess.url(serverURL, database: name))'\
                    ; "$bin/createdb" -T template0 --maintenance-db='\(serverURL)' '\(restoredPrefix + suffix)'\
                    ; "$bin/pg_restore" --no-owner --exit-on-error -d '\(ServerProcess.url(serverURL, database: restoredPrefix + suffix))' '\(file)'
                    """
            }
            try await Shell.run(script, timeout: .seconds(120))

            let again = try await ServerProcess(services: Store.services, databasePrefix: restoredPrefix)
            restored = again
            let restoredStore = Store(server: again, admin: try await again.login("root@example.com", "root-password-123"))
            let shopperAgain = try await again.login("backup@shop.test", "password123")
            #expect(try await restoredStore.order(settled.id, as: shopperAgain).status == .confirmed)
            try await restoredStore.eventually("the order in flight settles from the restored outbox") {
                try await restoredStore.order(inFlight.id, as: shopperAgain).status == .confirmed
            }
            try await restoredStore.add(product.id, quantity: 1, as: shopperAgain)
            let fresh: Order = try await restoredStore.checkout(as: shopperAgain).decode()
            try await restoredStore.eventually("a new order confirmed") {
                try await restoredStore.order(fresh.id, as: shopperAgain).status == .confirmed
            }
            let all = try await restoredStore.allOrders()
            #expect(Set(all.map(\.id)) == [settled.id, inFlight.id, fresh.id])
            try await restoredStore.expectStockInvariant(of: product.id, initial: 10, orders: all)
            #expect(try await restoredStore.product(product.id).stock == 6)
        } catch {
            print(server.log.suffix(10_000))
            if let restored { print(restored.log.suffix(10_000)) }
            await Self.cleanUp(server, restored, dumps)
            throw error
        }
        await Self.cleanUp(server, restored, dumps)
    }

    static func databases(startingWith prefix: String) async throws -> [String] {
        try await ThrowawayDatabase.withPool(url: try #require(TestEnvironment.databaseURL), size: 1) { pool in
            try await pool.query("SELECT datname FROM pg_database WHERE datname LIKE \(prefix + "%") ORDER BY datname")
                .map { try $0.decode("datname", as: String.self) }
        }
    }

    static func cleanUp(_ server: ServerProcess, _ restored: ServerProcess?, _ dumps: URL) async {
        await server.tearDown()
        await restored?.tearDown()
        try? FileManager.default.removeItem(at: dumps)
    }
}
