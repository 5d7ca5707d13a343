import EcomAPI
@testable import EcomPostgres
import EcomTestSupport
import Foundation
import Logging
import NIOHTTP1
import Testing

/// Databases a release made that kept every service's tables in `public`: `ecom serve` moves them
/// into each service's schema once, or refuses, saying what to do, when services' tables are mixed.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct SchemaLayoutTests {
    @Test("a store a release with tables in public made is moved into the services' schemas, its data kept and working")
    func upgradeInPlace() async throws {
        let prefix = "ecom_up_\(UUID().uuidString.prefix(8).lowercased())"
        let databases = ["users": "users", "products": "products", "carts": "cart", "orders": "orders"]
        for database in databases.keys {
            try await DatabaseLayout.load(fixture: database, into: "\(prefix)_\(database)")
        }
        let loadedAt = try await DatabaseLayout.query(
            ServerProcess.url(TestEnvironment.databaseURL!, database: "\(prefix)_users"), "SELECT now()::text AS now"
        )[0].decode("now", as: String.self)
        let server = try await ServerProcess(services: Store.services, databasePrefix: prefix)
        do {
            let store = Store(server: server, admin: try await server.login("root@example.com", "root-password-123"))
            // What the release's store held: a shopper, a product and a confirmed order of two units.
            let shopper = try await server.login(DatabaseLayout.shopper, "password123")
            let orders: Page<Order> = try await HTTP.send(.GET, server.gateway + "/api/orders", token: shopper.token).decode()
            let old = try #require(orders.items.first)
            #expect(orders.items.count == 1 && old.status == .confirmed)
            let productID = try #require(old.items.first?.productID)
            #expect(try await store.product(productID).stock == 8)

            // And it goes on: a new checkout through the moved outboxes, inboxes and sequences.
            #expect(try await store.add(productID, quantity: 1, as: shopper).status.code < 300)
            let reply = try await store.checkout(as: shopper, key: UUID().uuidString)
            try #require(reply.status == .created, "\(reply.text)")
            let order: Order = try reply.decode()
            try await store.eventually("the new order is confirmed") { try await store.order(order.id, as: shopper).status == .confirmed }
            #expect(try await store.product(productID).stock == 7)

            for (database, schema) in databases {
                let url = ServerProcess.url(TestEnvironment.databaseURL!, database: "\(prefix)_\(database)")
                let tables = try await DatabaseLayout.tables(in: url)
                #expect(tables["public"] == nil, "\(database): \(tables)")
                #expect(tables[schema]?.contains("schema_migrations") == true, "\(database): \(tables)")
                // The history came along: the release's migrations are not applied again.
                let history = try await DatabaseLayout.query(
                    url, "SELECT count(*)::int AS n FROM \(unescaped: schema).schema_migrations WHERE version = 1 AND applied_at < \(loadedAt)::timestamptz")
                #expect(try history[0].decode("n", as: Int.self) == 1, "\(database)")
            }
            #expect(server.log.contains("moved this service's tables from the public schema into its own"))
        } catch {
            print(server.log.suffix(20_000))
            await server.tearDown()
            throw error
        }
        await server.tearDown()
    }

    @Test("a database whose public schema mixes several services' tables is refused with what to do, and left as it was")
    func mixedRefused() async throws {
        let prefix = "ecom_mix_\(UUID().uuidString.prefix(8).lowercased())"
        try await DatabaseLayout.load(fixture: "mixed", into: prefix)
        let server = try await ServerProcess(arguments: ["--only", "users"], services: [], waitForReady: false, databasePrefix: prefix)
        let status = await server.waitForExit()
        let lines = server.log.split(separator: "\n").filter { $0.hasPrefix("ecom serve:") }
        let url = ServerProcess.url(TestEnvironment.databaseURL!, database: prefix)
        let tables = try await DatabaseLayout.tables(in: url)
        await server.tearDown()

        #expect(status == 1, "\(server.log)")
        #expect(lines.count == 1, "\(server.log)")
        let line = String(lines.first ?? "")
        #expect(line.contains("mixes the tables of several ecom services"), "\(line)")
        #expect(line.contains("(login_failures, refresh_families, refresh_tokens, users)"), "\(line)")
        #expect(line.contains("inbox, outbox, products, reservation_lines, reservations, stock_ledger"), "\(line)")
        #expect(line.contains("README"), "\(line)")
        #expect(Set(tables.keys) == ["public"], "\(tables)")
    }
}

/// Reading and making service databases behind the services' backs.
enum DatabaseLayout {
    /// The shopper in the release fixtures (password `password123`).
    static let shopper = "legacy@shop.test"

    /// Creates `database` and loads `fixtures/release-public-layout/<fixture>.sql` into it: a
    /// `pg_dump --inserts` of a database the release with every table in `public` made.
    static func load(fixture: String, into database: String) async throws {
        let server = try #require(TestEnvironment.databaseURL)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sql = try String(
            contentsOf: root.appendingPathComponent("fixtures/release-public-layout/\(fixture).sql"), encoding: .utf8)
        try await createDatabaseIfNeeded(serverURL: server, name: database)
        let pool = PostgresPool(url: ServerProcess.url(server, database: database), size: 1, logger: Logger(label: "test"))
        let loaded = await Result { try await pool.withConnection { try $0.executeScript(sql) } }
        await pool.shutdown()
        try loaded.get()
    }

    /// The tables of each schema of the database at `url`, system schemas left out.
    static func tables(in url: String) async throws -> [String: Set<String>] {
        let rows = try await query(
            url, "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
        return try rows.reduce(into: [:]) { tables, row in
            tables[try row.decode("schemaname", as: String.self), default: []].insert(try row.decode("tablename", as: String.self))
        }
    }

    static func query(_ url: String, _ query: SQLQuery) async throws -> [SQLRow] {
        let pool = PostgresPool(url: url, size: 1, logger: Logger(label: "test"))
        let rows = await Result { try await pool.query(query) }
        await pool.shutdown()
        return try rows.get()
    }
}
