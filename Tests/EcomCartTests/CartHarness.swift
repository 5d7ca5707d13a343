import AsyncHTTPClient
import EcomAPI
import EcomCart
import EcomPostgres
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import Synchronization
import Testing

enum TestEnvironment {
    static let hasDatabase = ThrowawayDatabase.isAvailable
    static let skipReason: Comment = "set ECOM_TEST_DATABASE_URL to a PostgreSQL superuser URL to run the cart's database tests"
}

/// The products the stand-in catalog starts with.
enum Fixture {
    static let kettle = product("KETTLE-1", "Kettle", cents: 2_499)
    static let mug = product("MUG-1", "Mug", cents: 899)
    static let teapot = product("TEAPOT-1", "Teapot", cents: 3_450)
    static let lamp = product("LAMP-1", "Archived lamp", cents: 4_999, active: false)
    static let all = [kettle, mug, teapot, lamp]

    static func product(_ sku: String, _ name: String, cents: Int64, active: Bool = true) -> Product {
        Product(
            id: UUID(), sku: sku, name: name, description: "", priceCents: cents, stock: 10, isActive: active,
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
    }
}

/// A stand-in for the products service's lookup, serving a list a test can change, and refusing
/// callers without a service token as the real one does.
final class StandInCatalog: Sendable {
    private let products = Mutex(Dictionary(Fixture.all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }))
    /// Lookups answered so far.
    let lookups = Atomic(0)

    func archive(_ id: UUID) {
        products.withLock { $0[id]?.isActive = false }
    }

    /// The products among `ids` that it has.
    func find(_ ids: [UUID]) -> [Product] {
        lookups.add(1, ordering: .relaxed)
        return products.withLock { products in ids.compactMap { products[$0] } }
    }

    func router(tokens: TokenService) -> Router<EcomRequestContext> {
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: RequestLogMiddleware(service: "products"))
        router.add(middleware: AuthMiddleware(tokens: tokens))
        router.post("/internal/products/lookup") { [self] request, context -> Response in
            _ = try context.requireService()
            let lookup = try JSONDecoder.ecom.decode(
                ProductLookup.self, from: Data(buffer: try await request.body.collect(upTo: 1 << 20)))
            let found = find(lookup.ids)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder.ecom.encode(found))))
        }
        return router
    }
}

/// Who a test request speaks for.
enum Caller: Sendable {
    case user(UUID)
    case service
    case anonymous
}

/// One cart service in front of a stand-in products service.
struct CartHarness: Sendable {
    let client: any TestClientProtocol
    /// The database of a harness on PostgreSQL; nil on an in-memory repository.
    let database: PostgresPool?
    let repository: any CartRepository
    let tokens: TokenService
    let catalog: StandInCatalog
    /// Puts rejected orders' lines back, asking the stand-in catalog what is still for sale.
    let restorer: CartRestorer

    var pool: PostgresPool { database! }

    /// Runs `body` against a new harness on a fresh database of its own, with the stand-in on a
    /// live port; the database is dropped afterwards, whatever happens.
    /// `productsURL` replaces the stand-in's address, to make the products service unreachable.
    static func run(
        poolSize: Int = 4, productsURL: String? = nil, _ body: @escaping @Sendable (CartHarness) async throws -> Void
    ) async throws {
        let httpClient = ServiceClient.makeHTTPClient()
        let outcome = await Result(catching: {
            try await ThrowawayDatabase.withPool(prefix: "ecom_cart_test", size: poolSize, migrations: cartMigrations, logger: logger) { pool in
                let tokens = await TokenService(key: try SigningKey("cart-test-signing-key-0123456789abcdef"))
                let catalog = StandInCatalog()
                let products = Application(router: catalog.router(tokens: tokens), logger: logger)
                try await products.test(.live) { productsClient in
                    let products = ServiceClient(
                        baseURL: productsURL ?? "http://localhost:\(productsClient.port!)", caller: "cart", tokens: tokens,
                        client: httpClient)
                    try await serve(
                        repository: PostgresCartRepository(pool: pool), database: pool, products: ProductCatalog(products: products),
                        tokens: tokens, catalog: catalog, body)
                }
            }
        })
        try? await httpClient.shutdown()
        try outcome.get()
    }

    /// Runs `body` against a new harness on `repository`, the stand-in catalog answering without HTTP.
    static func run(repository: any CartRepository, _ body: @escaping @Sendable (CartHarness) async throws -> Void) async throws {
        let tokens = await TokenService(key: try SigningKey("cart-test-signing-key-0123456789abcdef"))
        let catalog = StandInCatalog()
        try await serve(
            repository: repository, database: nil, products: ProductCatalog { ids, _ in catalog.find(ids) }, tokens: tokens,
            catalog: catalog, body)
    }

    private static func serve(
        repository: any CartRepository, database: PostgresPool?, products: ProductCatalog, tokens: TokenService,
        catalog: StandInCatalog, _ body: @escaping @Sendable (CartHarness) async throws -> Void
    ) async throws {
        let controller = CartController(repository: repository, catalog: products)
        let restorer = CartRestorer(repository: repository, catalog: products)
        let cart = Application(router: buildCartRouter(controller: controller, tokens: tokens, checks: []), logger: logger)
        try await cart.test(.router) { client in
            try await body(
                CartHarness(
                    client: client, database: database, repository: repository, tokens: tokens, catalog: catalog, restorer: restorer))
        }
    }

    private static let logger = {
        var logger = Logger(label: "cart-test")
        logger.logLevel = .warning
        return logger
    }()

    // MARK: - Requests

    @discardableResult
    func send(_ method: HTTPRequest.Method, _ path: String, as caller: Caller, json: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        switch caller {
        case .user(let id):
            headers[.authorization] = "Bearer \(try await tokens.issueAccessToken(userID: id, role: .user, sessionID: nil))"
        case .service:
            headers[.authorization] = "Bearer \(try await tokens.issueServiceToken(service: "orders"))"
        case .anonymous:
            break
        }
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// `POST /api/cart/items`, expecting success.
    @discardableResult
    func add(_ product: Product, quantity: Int, for user: UUID) async throws -> Cart {
        let response = try await send(.post, "/api/cart/items", as: .user(user), json: Self.addBody(product.id, quantity))
        #expect(response.status == .created || response.status == .ok, "\(String(buffer: response.body))")
        return try decode(Cart.self, response)
    }

    /// `GET /api/cart`, expecting success.
    func cart(of user: UUID) async throws -> Cart {
        let response = try await send(.get, "/api/cart", as: .user(user))
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try decode(Cart.self, response)
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
        try JSONDecoder.ecom.decode(T.self, from: Data(buffer: response.body))
    }

    func errorCode(_ response: TestResponse) throws -> String {
        try decode(APIErrorBody.self, response).error.code
    }

    static func addBody(_ productID: UUID, _ quantity: Int) -> String {
        #"{"product_id":"\#(productID.lowercased)","quantity":\#(quantity)}"#
    }
}
