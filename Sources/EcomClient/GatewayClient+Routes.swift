import EcomAPI
import Foundation

/// Which page of a list to fetch.
package struct PageRequest: Sendable, Equatable {
    package var limit: Int?
    package var cursor: String?

    package init(limit: Int? = nil, cursor: String? = nil) {
        self.limit = limit
        self.cursor = cursor
    }

    var queryItems: [URLQueryItem] {
        [limit.map { URLQueryItem(name: "limit", value: String($0)) }, cursor.map { URLQueryItem(name: "cursor", value: $0) }]
            .compactMap { $0 }
    }
}

/// `?id_prefix=` and `?sku=` of the list routes: the items a shortened id or a sku names.
package struct IDMatch: Sendable, Equatable {
    package var idPrefix: String?
    package var sku: String?

    package init(idPrefix: String? = nil, sku: String? = nil) {
        self.idPrefix = idPrefix
        self.sku = sku
    }

    var queryItems: [URLQueryItem] {
        [idPrefix.map { URLQueryItem(name: "id_prefix", value: $0) }, sku.map { URLQueryItem(name: "sku", value: $0) }].compactMap { $0 }
    }
}

/// The services whose parked events an admin can list and retry.
package enum EventService: String, Sendable, CaseIterable {
    case products, cart, orders, notifications
}

// MARK: - Account

extension GatewayClient {
    package func register(email: String, password: String) async throws -> User {
        try await send(Request(.post, "/api/users", json: Credentials(email: email, password: password), signedIn: false)).decode()
    }

    /// Signs in and keeps the new session in the credentials store.
    package func login(email: String, password: String) async throws -> User {
        let reply = try await send(Request(.post, "/api/login", json: Credentials(email: email, password: password), signedIn: false))
        let pair = try reply.decode(TokenPair.self)
        let key = serverName
        try await credentials.modify { $0[key] = Session(pair) }
        return pair.user
    }

    /// Revokes the session's refresh token family on the server and forgets the session.
    ///
    /// Returns false when there was no session. The local session is forgotten even when the
    /// server cannot be reached; the error is thrown after.
    @discardableResult
    package func logout() async throws -> Bool {
        let key = serverName
        let session = try await credentials.modify { $0.removeValue(forKey: key) }
        guard let session else { return false }
        _ = try await send(Request(.post, "/api/revoke", json: RefreshRequest(refreshToken: session.refreshToken), signedIn: false))
        return true
    }

    package func me() async throws -> User {
        try await send(Request(.get, "/api/me", signedIn: true)).decode()
    }

    package func changePassword(current: String, new: String) async throws {
        _ = try await send(
            Request(.post, "/api/me/password", json: PasswordChange(currentPassword: current, newPassword: new), signedIn: true))
    }
}

// MARK: - Catalog

extension GatewayClient {
    package func products(search: String? = nil, match: IDMatch = .init(), page: PageRequest = .init()) async throws -> Page<Product> {
        try await send(Request(.get, "/api/products", query: Self.search(search) + match.queryItems + page.queryItems, signedIn: false))
            .decode()
    }

    package func product(_ id: UUID) async throws -> Product {
        try await send(Request(.get, "/api/products/\(id.lowercased)", signedIn: false)).decode()
    }

    static func search(_ text: String?) -> [URLQueryItem] {
        text.map { [URLQueryItem(name: "q", value: $0)] } ?? []
    }
}

// MARK: - Cart

extension GatewayClient {
    package func cart() async throws -> Cart {
        try await send(Request(.get, "/api/cart", signedIn: true)).decode()
    }

    package func clearCart() async throws {
        _ = try await send(Request(.delete, "/api/cart", signedIn: true))
    }

    /// The cart after the add, and the line the units went to.
    package func addToCart(productID: UUID, quantity: Int) async throws -> CartItemAdded {
        try await send(Request(.post, "/api/cart/items", json: CartItemAdd(productID: productID, quantity: quantity), signedIn: true))
            .decode()
    }

    package func setCartLine(_ lineID: UUID, quantity: Int) async throws -> Cart {
        try await send(Request(.patch, "/api/cart/items/\(lineID.lowercased)", json: CartItemUpdate(quantity: quantity), signedIn: true))
            .decode()
    }

    package func removeCartLine(_ lineID: UUID) async throws -> Cart {
        try await send(Request(.delete, "/api/cart/items/\(lineID.lowercased)", signedIn: true)).decode()
    }
}

// MARK: - Orders

extension GatewayClient {
    /// Checks out the cart. `created` is false when the server returned the order an earlier
    /// identical checkout made: a repeated idempotency key (answered with the first request's
    /// status, marked `Idempotent-Replayed`), or the same cart version (200).
    package func createOrder(idempotencyKey: String) async throws -> (order: Order, created: Bool) {
        var request = Request(.post, "/api/orders", signedIn: true)
        request.headers["Idempotency-Key"] = idempotencyKey
        let reply = try await send(request)
        return (try reply.decode(), reply.status == 201 && !reply.replayed)
    }

    package func orders(status: OrderStatus? = nil, match: IDMatch = .init(), page: PageRequest = .init()) async throws -> Page<Order> {
        try await send(Request(.get, "/api/orders", query: Self.status(status) + match.queryItems + page.queryItems, signedIn: true))
            .decode()
    }

    package func order(_ id: UUID) async throws -> Order {
        try await send(Request(.get, "/api/orders/\(id.lowercased)", signedIn: true)).decode()
    }

    package func cancelOrder(_ id: UUID) async throws -> Order {
        try await send(Request(.delete, "/api/orders/\(id.lowercased)", signedIn: true)).decode()
    }

    private static func status(_ status: OrderStatus?) -> [URLQueryItem] {
        status.map { [URLQueryItem(name: "status", value: $0.rawValue)] } ?? []
    }
}

// MARK: - Administration

extension GatewayClient {
    package func users(match: IDMatch = .init(), page: PageRequest = .init()) async throws -> Page<User> {
        try await send(Request(.get, "/admin/users", query: match.queryItems + page.queryItems, signedIn: true)).decode()
    }

    package func adminUser(_ id: UUID) async throws -> User {
        try await send(Request(.get, "/admin/users/\(id.lowercased)", signedIn: true)).decode()
    }

    package func updateUser(_ id: UUID, _ update: UserUpdate) async throws -> User {
        try await send(Request(.patch, "/admin/users/\(id.lowercased)", json: update, signedIn: true)).decode()
    }

    /// Every product, including inactive and archived ones.
    package func allProducts(search: String? = nil, match: IDMatch = .init(), page: PageRequest = .init()) async throws -> Page<Product> {
        try await send(Request(.get, "/admin/products", query: Self.search(search) + match.queryItems + page.queryItems, signedIn: true))
            .decode()
    }

    /// Any product, inactive or archived too, with its admin fields.
    package func adminProduct(_ id: UUID) async throws -> Product {
        try await send(Request(.get, "/admin/products/\(id.lowercased)", signedIn: true)).decode()
    }

    package func createProduct(_ product: ProductCreate) async throws -> Product {
        try await send(Request(.post, "/admin/products", json: product, signedIn: true)).decode()
    }

    package func updateProduct(_ id: UUID, _ update: ProductUpdate) async throws -> Product {
        try await send(Request(.patch, "/admin/products/\(id.lowercased)", json: update, signedIn: true)).decode()
    }

    /// Archives the product: it leaves the catalog, and orders keep referring to it.
    package func archiveProduct(_ id: UUID) async throws {
        _ = try await send(Request(.delete, "/admin/products/\(id.lowercased)", signedIn: true))
    }

    package func adjustStock(_ id: UUID, _ adjustment: StockAdjustment) async throws -> Product {
        try await send(Request(.post, "/admin/products/\(id.lowercased)/stock", json: adjustment, signedIn: true)).decode()
    }

    package func importCatalog(_ catalog: CatalogImport) async throws -> ImportResult {
        try await send(Request(.post, "/admin/products/import", json: catalog, signedIn: true)).decode()
    }

    package func allOrders(status: OrderStatus? = nil, match: IDMatch = .init(), page: PageRequest = .init()) async throws -> Page<Order> {
        try await send(Request(.get, "/admin/orders", query: Self.status(status) + match.queryItems + page.queryItems, signedIn: true))
            .decode()
    }

    /// Any customer's order.
    package func adminOrder(_ id: UUID) async throws -> Order {
        try await send(Request(.get, "/admin/orders/\(id.lowercased)", signedIn: true)).decode()
    }

    package func shipOrder(_ id: UUID) async throws -> Order {
        try await send(Request(.post, "/admin/orders/\(id.lowercased)/ship", signedIn: true)).decode()
    }

    package func deliverOrder(_ id: UUID) async throws -> Order {
        try await send(Request(.post, "/admin/orders/\(id.lowercased)/deliver", signedIn: true)).decode()
    }

    package func parkedEvents(_ service: EventService, page: PageRequest = .init()) async throws -> Page<ParkedEvent> {
        try await send(Request(.get, "/admin/events/\(service.rawValue)", query: page.queryItems, signedIn: true)).decode()
    }

    package func retryEvent(_ service: EventService, _ id: UUID) async throws {
        _ = try await send(Request(.post, "/admin/events/\(service.rawValue)/\(id.lowercased)/retry", signedIn: true))
    }
}

// MARK: - Webhooks

extension GatewayClient {
    package func webhooks() async throws -> Page<WebhookEndpoint> {
        try await send(Request(.get, "/admin/webhooks", signedIn: true)).decode()
    }

    package func webhook(_ id: UUID) async throws -> WebhookEndpoint {
        try await send(Request(.get, "/admin/webhooks/\(id.lowercased)", signedIn: true)).decode()
    }

    package func addWebhook(_ body: WebhookCreate) async throws -> WebhookEndpoint {
        try await send(Request(.post, "/admin/webhooks", json: body, signedIn: true)).decode()
    }

    package func updateWebhook(_ id: UUID, _ changes: WebhookUpdate) async throws -> WebhookEndpoint {
        try await send(Request(.patch, "/admin/webhooks/\(id.lowercased)", json: changes, signedIn: true)).decode()
    }

    package func deleteWebhook(_ id: UUID) async throws {
        _ = try await send(Request(.delete, "/admin/webhooks/\(id.lowercased)", signedIn: true))
    }

    package func testWebhook(_ id: UUID) async throws -> WebhookDelivery {
        try await send(Request(.post, "/admin/webhooks/\(id.lowercased)/test", signedIn: true)).decode()
    }

    package func rotateWebhookSecret(_ id: UUID) async throws -> WebhookEndpoint {
        try await send(Request(.post, "/admin/webhooks/\(id.lowercased)/rotate-secret", signedIn: true)).decode()
    }

    package func webhookDeliveries(_ id: UUID, page: PageRequest = .init()) async throws -> Page<WebhookDelivery> {
        try await send(Request(.get, "/admin/webhooks/\(id.lowercased)/deliveries", query: page.queryItems, signedIn: true)).decode()
    }
}
