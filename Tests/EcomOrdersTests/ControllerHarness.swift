import AsyncHTTPClient
import EcomAPI
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Synchronization
import Testing

@testable import EcomOrders

/// The cart and products services as the orders service calls them, holding what a test puts in,
/// on the same `InternalPath`s and refusing callers without a service token as the real ones do.
final class StandInUpstreams: Sendable {
    private struct State {
        var carts: [UUID: Cart] = [:]
        var products: [UUID: Product] = [:]
        var applied: [UUID: [CartOrderApplied]] = [:]
        var version: Int64 = 0
    }

    private let state = Mutex(State())

    /// Adds or replaces a product of the catalog.
    func stock(_ product: Product) {
        state.withLock { $0.products[product.id] = product }
    }

    /// Adds a line of `quantity` units at `product`'s price to the user's cart, as a new version.
    @discardableResult
    func put(_ product: Product, quantity: Int, into userID: UUID) -> Cart {
        state.withLock { state in
            state.version += 1
            var cart = state.carts[userID] ?? Cart(items: [], totalCents: 0, itemCount: 0, version: 0)
            cart.items.append(
                CartLine(
                    id: UUID(), productID: product.id, name: product.name, unitPriceCents: product.priceCents, quantity: quantity,
                    lineTotalCents: product.priceCents * Int64(quantity), available: product.isActive))
            cart.version = state.version
            state.carts[userID] = cart
            return cart
        }
    }

    /// Empties the user's cart, as the removal of an ordered cart's lines does, as a new version.
    func empty(_ userID: UUID) {
        state.withLock { state in
            state.version += 1
            state.carts[userID] = Cart(items: [], totalCents: 0, itemCount: 0, version: state.version)
        }
    }

    /// The orders taken out of the user's cart by a call, in the order they came.
    func applied(to userID: UUID) -> [CartOrderApplied] {
        state.withLock { $0.applied[userID] ?? [] }
    }

    func router(tokens: TokenService) -> Router<EcomRequestContext> {
        let router = Router(context: EcomRequestContext.self)
        router.add(middleware: AuthMiddleware(tokens: tokens))
        // Priced whatever the query asks, as the cart services of earlier releases answer: the
        // orders service reads that as the contents it checks out.
        router.get(RouterPath(InternalPath.cartRoute)) { [self] _, context -> Cart in
            _ = try context.requireService()
            let userID = try context.uuidParameter("user_id")
            return state.withLock { $0.carts[userID] } ?? Cart(items: [], totalCents: 0, itemCount: 0, version: 0)
        }
        router.post(RouterPath(InternalPath.cartOrdersRoute)) { [self] request, context -> Response in
            _ = try context.requireService()
            let userID = try context.uuidParameter("user_id")
            let applied = try await request.decode(as: CartOrderApplied.self, context: context)
            state.withLock { $0.applied[userID, default: []].append(applied) }
            return Response(status: .noContent)
        }
        router.post(RouterPath(InternalPath.productLookup)) { [self] request, context -> Response in
            _ = try context.requireService()
            let lookup = try await request.decode(as: ProductLookup.self, context: context)
            let found = state.withLock { state in lookup.ids.compactMap { state.products[$0] } }
            return try context.responseEncoder.encode(found, from: request, context: context)
        }
        return router
    }
}

/// The orders controller over an in-memory repository, calling stand-in cart and products
/// services on a live port: the routes' logic without a database.
struct ControllerHarness: Sendable {
    let client: any TestClientProtocol
    let repository: InMemoryOrderRepository
    let upstreams: StandInUpstreams
    let tokens: TokenService
    /// How often the controller woke the outbox relay.
    let wakes: Wakes

    static func run(_ body: @escaping @Sendable (ControllerHarness) async throws -> Void) async throws {
        let tokens = await TokenService(key: try SigningKey("orders-test-signing-key-0123456789abcdef"))
        let upstreams = StandInUpstreams()
        let httpClient = ServiceClient.makeHTTPClient()
        let outcome = await Result(catching: {
            let upstream = Application(router: upstreams.router(tokens: tokens), logger: quietLogger)
            try await upstream.test(.live) { upstreamClient in
                let baseURL = "http://localhost:\(try #require(upstreamClient.port))"
                let repository = InMemoryOrderRepository()
                let wakes = Wakes()
                let controller = OrdersController(
                    repository: repository,
                    cart: ServiceClient(baseURL: baseURL, caller: "orders", tokens: tokens, client: httpClient),
                    products: ServiceClient(baseURL: baseURL, caller: "orders", tokens: tokens, client: httpClient),
                    outboxChanged: { wakes.ring() })
                let router = Router.service("orders", tokens: tokens, checks: [])
                controller.addRoutes(to: router)
                try await Application(router: router, logger: quietLogger).test(.router) { client in
                    try await body(
                        ControllerHarness(client: client, repository: repository, upstreams: upstreams, tokens: tokens, wakes: wakes))
                }
            }
        })
        try? await httpClient.shutdown()
        try outcome.get()
    }

    /// Sends a request as a user (`role` `.user` or `.admin`), with an optional `Idempotency-Key`.
    func send(
        _ method: HTTPRequest.Method, _ path: String, as userID: UUID, role: Role = .user, key: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(try await tokens.issueAccessToken(userID: userID, role: role, sessionID: nil))"]
        headers[.idempotencyKey] = key
        return try await client.execute(uri: path, method: method, headers: headers, body: nil)
    }

    func order(_ response: TestResponse) throws -> Order {
        try JSONDecoder.ecom.decode(Order.self, from: Data(buffer: response.body))
    }

    func errorCode(_ response: TestResponse) throws -> String {
        try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: response.body)).error.code
    }
}

/// A count of calls from the controller's `@Sendable` closure.
final class Wakes: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func ring() { count.withLock { $0 += 1 } }
}

enum Catalog {
    static func product(_ name: String, cents: Int64, active: Bool = true) -> Product {
        Product(
            id: UUID(), sku: name.uppercased() + "-1", name: name, description: "", priceCents: cents, stock: 10, isActive: active,
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
    }
}
