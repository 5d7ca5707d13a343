import EcomAPI
import EcomPostgres
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Testing

@testable import EcomProducts

enum TestDatabase {
    static let isAvailable = ThrowawayDatabase.isAvailable
    static let skipReason = Comment(rawValue: ThrowawayDatabase.skipReason)

    /// Runs `body` with a pool on a fresh products database, dropped afterwards, to which
    /// `migrations` (by default all of them) have been applied.
    static func withPool<T>(
        size: Int = 8, migrations: [Migration] = productsMigrations, _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        try await ThrowawayDatabase.withPool(prefix: "ecom_products_test", size: size, migrations: migrations, body)
    }
}

/// The products router, with a token for each kind of caller.
struct ProductsTestApp: ProductsRequesting {
    /// The database of an app on PostgreSQL; nil on an in-memory repository.
    let database: PostgresPool?
    let repository: any ProductRepository
    let client: any TestClientProtocol
    let adminToken: String
    let userToken: String
    let serviceToken: String

    var pool: PostgresPool { database! }

    /// On a fresh PostgreSQL database.
    static func run(_ body: @escaping @Sendable (ProductsTestApp) async throws -> Void) async throws {
        try await TestDatabase.withPool { pool in
            try await run(repository: PostgresProductRepository(pool: pool), database: pool, body)
        }
    }

    static func run(
        repository: any ProductRepository, database: PostgresPool? = nil, _ body: @escaping @Sendable (ProductsTestApp) async throws -> Void
    ) async throws {
        let tokens = await TokenService(key: try SigningKey(String(repeating: "products-test-key-", count: 3)))
        let adminToken = try await tokens.issueAccessToken(userID: UUID(), role: .admin, sessionID: nil)
        let userToken = try await tokens.issueAccessToken(userID: UUID(), role: .user, sessionID: nil)
        let serviceToken = try await tokens.issueServiceToken(service: "orders")
        let controller = ProductsController(repository: repository)
        let app = Application(router: buildProductsRouter(controller: controller, tokens: tokens, checks: []))
        try await app.test(.router) { client in
            try await body(
                ProductsTestApp(
                    database: database, repository: repository, client: client, adminToken: adminToken, userToken: userToken,
                    serviceToken: serviceToken))
        }
    }


    func createProduct(
        sku: String? = nil, name: String = "Widget", description: String = "", priceCents: Int64 = 1999, stock: Int = 10,
        isActive: Bool = true
    ) async throws -> Product {
        let body = ProductCreate(sku: sku, name: name, description: description, priceCents: priceCents, stock: stock, isActive: isActive)
        return try await call(.post, "/admin/products", token: adminToken, json: String(decoding: try JSONEncoder.ecom.encode(body), as: UTF8.self))
    }

    func importCatalog(_ products: [ProductCreate]) async throws -> ImportResult {
        let body = String(decoding: try JSONEncoder.ecom.encode(CatalogImport(products: products)), as: UTF8.self)
        return try await call(.post, "/admin/products/import", token: adminToken, json: body)
    }

    /// Every page of `path` (which has a query string already), following cursors.
    func walk(_ path: String, token: String? = nil) async throws -> [Product] {
        var products: [Product] = []
        var cursor: String?
        repeat {
            let page: Page<Product> = try await call(.get, path + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
            products += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return products
    }
}

/// A request a catalog holding one product must refuse.
typealias BadInput = RefusedRequest

extension ProductsTestApp {
    /// Sends `example` to a catalog holding one product, and expects its status, code and field,
    /// and the catalog as it was.
    func expectRefused(_ example: BadInput) async throws {
        let product = try await createProduct(sku: "KEEP-1", name: "Kept", description: "As it was.", priceCents: 1500, stock: 10)
        let token: String? = switch example.caller {
        case .anonymous: nil
        case .user: userToken
        case .admin: adminToken
        case .service: serviceToken
        }
        let path = example.path.replacingOccurrences(of: "{id}", with: product.id.lowercased)
        let response = try await send(example.method, path, token: token, json: example.body)
        #expect(response.status == example.status)
        let error = try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: response.body))
        #expect(error.error.code == example.code)
        #expect(error.error.field == example.field)
        #expect(try await walk("/admin/products?limit=10", token: adminToken) == [product])
    }
}

/// Where the stock invariant (DESIGN §6) fails, one line per product: the ledger sums to the units
/// on hand, held equals the quantities of live reservations, and on hand − held is never negative.
func ledgerDiscrepancies(_ pool: PostgresPool) async throws -> [String] {
    try await pool.query(
        """
        SELECT p.sku, p.on_hand, p.held,
               COALESCE((SELECT sum(delta) FROM stock_ledger l WHERE l.product_id = p.id), 0) AS ledger,
               COALESCE((SELECT sum(rl.quantity) FROM reservation_lines rl JOIN reservations r USING (order_id)
                         WHERE rl.product_id = p.id AND r.state = 'reserved'), 0) AS reserved
        FROM products p
        """
    ).compactMap { row in
        let (onHand, held): (Int, Int) = (try row.decode("on_hand"), try row.decode("held"))
        let (ledger, reserved): (Int, Int) = (try row.decode("ledger"), try row.decode("reserved"))
        guard ledger != onHand || held != reserved || onHand - held < 0 else { return nil }
        return "\(try row.decode("sku", as: String.self)): ledger \(ledger), on hand \(onHand), held \(held), reserved \(reserved)"
    }
}

func entry(_ sku: String, _ name: String, description: String? = nil, price: Int64 = 1000, stock: Int? = 5, isActive: Bool? = nil) -> ProductCreate {
    ProductCreate(sku: sku, name: name, description: description, priceCents: price, stock: stock, isActive: isActive)
}

/// A test's way to one products router: requests with a token and a JSON body.
protocol ProductsRequesting: Sendable {
    var client: any TestClientProtocol { get }
}

extension ProductsRequesting {
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Sends and decodes a 2xx answer, failing the test on any other status.
    func call<T: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil, as type: T.Type = T.self,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> T {
        let response = try await send(method, path, token: token, json: json)
        #expect(response.status.kind == .successful, "\(method) \(path): \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return try JSONDecoder.ecom.decode(T.self, from: Data(buffer: response.body))
    }
}
