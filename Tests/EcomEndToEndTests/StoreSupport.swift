import EcomAPI
import EcomPostgres
import Foundation
import Logging
import NIOHTTP1
import EcomTestSupport
import Testing

/// How the services of a test store exchange events.
enum Transport: String, Sendable, CustomTestStringConvertible {
    case local, rabbitmq

    /// Both where a test broker is configured (`.ci/test` starts one), else the in-process one alone.
    static var available: [Transport] { TestBroker.isAvailable ? [.local, .rabbitmq] : [.local] }

    var testDescription: String { rawValue }

    /// Runs `body` with the environment that makes `ecom serve` use this transport: for
    /// RabbitMQ, the URL of a virtual host of the test's own.
    func withEnvironment<T>(_ body: ([String: String]) async throws -> T) async throws -> T {
        switch self {
        case .local:
            try await body([:])
        case .rabbitmq:
            try await TestBroker.withVirtualHost { host in try await body(["ECOM_AMQP_URL": host.amqpURL]) }
        }
    }
}

/// A running store (all services) with helpers to act as admins and shoppers.
struct Store {
    let server: ServerProcess
    let admin: TokenPair

    static let services = ["users", "products", "cart", "orders", "notifications"]

    /// Starts a store whose events travel over `transport`, runs `body`, and tears it down whatever happens.
    static func with(
        transport: Transport = .local, environment: [String: String] = [:], launcher: [String] = [], _ body: (Store) async throws -> Void
    ) async throws {
        try await transport.withEnvironment { selection in
            try await with(environment: environment.merging(selection) { $1 }, launcher: launcher, body)
        }
    }

    private static func with(environment: [String: String], launcher: [String], _ body: (Store) async throws -> Void) async throws {
        let server = try await ServerProcess(environment: environment, services: services, launcher: launcher)
        do {
            let store = Store(server: server, admin: try await server.login("root@example.com", "root-password-123"))
            try await body(store)
        } catch {
            print(server.log.suffix(20_000))
            await server.tearDown()
            throw error
        }
        await server.tearDown()
    }

    var gateway: String { server.gateway }

    func createProduct(name: String = "Widget", priceCents: Int64 = 1999, stock: Int) async throws -> Product {
        let reply = try await HTTP.send(
            .POST, gateway + "/admin/products",
            json: ProductCreate(sku: nil, name: name, description: "for tests", priceCents: priceCents, stock: stock, isActive: true),
            token: admin.token)
        try #require(reply.status == .created, "\(reply.text)")
        return try reply.decode()
    }

    func product(_ id: UUID) async throws -> Product {
        try await HTTP.send(.GET, gateway + "/admin/products/\(id.lowercased)", token: admin.token).decode()
    }

    /// A new shopper, signed in.
    func shopper(_ name: String = UUID().uuidString.prefix(8).lowercased()) async throws -> TokenPair {
        let email = "\(name)@shop.test"
        let created = try await HTTP.send(.POST, gateway + "/api/users", json: Credentials(email: email, password: "password123"))
        try #require(created.status == .created, "\(created.text)")
        return try await server.login(email, "password123")
    }

    @discardableResult
    func add(_ product: UUID, quantity: Int, as shopper: TokenPair) async throws -> HTTP.Reply {
        try await HTTP.send(.POST, gateway + "/api/cart/items", json: CartItemAdd(productID: product, quantity: quantity), token: shopper.token)
    }

    func checkout(as shopper: TokenPair, key: String? = nil) async throws -> HTTP.Reply {
        try await HTTP.send(.POST, gateway + "/api/orders", token: shopper.token, headers: key.map { [("Idempotency-Key", $0)] } ?? [])
    }

    func cart(as shopper: TokenPair) async throws -> Cart {
        try await HTTP.send(.GET, gateway + "/api/cart", token: shopper.token).decode()
    }

    /// The quantity of each product in the shopper's cart.
    func cartQuantities(as shopper: TokenPair) async throws -> [UUID: Int] {
        Dictionary(try await cart(as: shopper).items.map { ($0.productID, $0.quantity) }, uniquingKeysWith: +)
    }

    func order(_ id: UUID, as shopper: TokenPair) async throws -> Order {
        try await HTTP.send(.GET, gateway + "/api/orders/\(id.lowercased)", token: shopper.token).decode()
    }

    /// Every order of every user, following cursors.
    func allOrders() async throws -> [Order] {
        var orders: [Order] = []
        var cursor: String?
        repeat {
            let page: Page<Order> = try await HTTP.send(
                .GET, gateway + "/admin/orders?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin.token
            ).decode()
            orders += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return orders
    }

    /// Polls `condition` until it holds, for up to `timeout`.
    func eventually(timeout: Duration = .seconds(120), _ what: Comment, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting: \(what)")
    }

    /// Units of `product` that orders in one of `statuses` bought.
    static func units(of product: UUID, in orders: [Order], _ statuses: Set<OrderStatus>) -> Int {
        orders.filter { statuses.contains($0.status) }
            .flatMap(\.items).filter { $0.productID == product }.reduce(0) { $0 + $1.quantity }
    }

    /// Units sold: held by confirmed orders, or gone with shipped ones.
    static func reservedUnits(of product: UUID, in orders: [Order]) -> Int {
        units(of: product, in: orders, [.confirmed, .shipped, .delivered])
    }

    /// DESIGN §6's invariant for `product`, which started with `initial` units and had no other stock
    /// write, once `orders` have all settled: confirmed orders hold their units, shipped and delivered
    /// ones took theirs off hand, and what is available is on hand − held, never negative.
    func expectStockInvariant(
        of product: UUID, initial: Int, orders: [Order], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let current = try await self.product(product)
        let held = Store.units(of: product, in: orders, [.confirmed])
        let onHand = initial - Store.units(of: product, in: orders, [.shipped, .delivered])
        #expect(current.held == held, "held", sourceLocation: sourceLocation)
        #expect(current.onHand == onHand, "on hand", sourceLocation: sourceLocation)
        #expect(current.stock == onHand - held && current.stock >= 0, "available", sourceLocation: sourceLocation)
    }

    /// Products whose stock ledger does not sum to their units on hand, read from the products database.
    func ledgerDiscrepancies() async throws -> [String] {
        let url = ServerProcess.url(try #require(TestEnvironment.databaseURL), database: server.databasePrefix + "_products")
        let pool = PostgresPool(url: url, size: 1, schema: "products", logger: Logger(label: "test"))
        do {
            let discrepancies = try await pool.query(
                """
                SELECT p.sku, p.on_hand, COALESCE((SELECT sum(delta) FROM stock_ledger l WHERE l.product_id = p.id), 0) AS ledger
                FROM products p
                """
            ).compactMap { row -> String? in
                let (onHand, ledger): (Int, Int) = (try row.decode("on_hand"), try row.decode("ledger"))
                return onHand == ledger ? nil : "\(try row.decode("sku", as: String.self)): ledger \(ledger) ≠ on hand \(onHand)"
            }
            await pool.shutdown()
            return discrepancies
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    /// Imports `products` (an upsert by sku) as the admin.
    func importCatalog(_ products: [ProductCreate]) async throws -> ImportResult {
        let reply = try await HTTP.send(.POST, gateway + "/admin/products/import", json: CatalogImport(products: products), token: admin.token)
        try #require(reply.status == .ok, "\(reply.text)")
        return try reply.decode()
    }
}

extension ServerProcess {
    func login(_ email: String, _ password: String) async throws -> TokenPair {
        let reply = try await HTTP.send(.POST, gateway + "/api/login", json: Credentials(email: email, password: password))
        try #require(reply.status == .ok, "login failed: \(reply.text)")
        return try reply.decode()
    }
}

extension HTTP.Reply {
    var text: String { String(decoding: body, as: UTF8.self) }
}
