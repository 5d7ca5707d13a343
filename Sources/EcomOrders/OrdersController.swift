import EcomAPI
import EcomMessaging
import EcomServerKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1

/// The orders service's routes: checkout, the caller's orders, cancelling, and shipping for admins.
package struct OrdersController: Sendable {
    let repository: any OrderRepository
    let cart: ServiceClient
    let products: ServiceClient
    /// Wakes the outbox relay after a change stored an event (the event bus's `outboxChanged`).
    let outboxChanged: @Sendable () -> Void

    package func addRoutes(to router: Router<EcomRequestContext>) {
        router.post("/api/orders", use: create)
        router.get("/api/orders", use: list)
        router.get("/api/orders/:id", use: get)
        router.delete("/api/orders/:id", use: cancel)
        router.get("/admin/orders", use: listAll)
        router.get("/admin/orders/:id", use: getAny)
        router.post("/admin/orders/:id/ship", use: ship)
        router.post("/admin/orders/:id/deliver", use: deliver)
    }

    // MARK: - Checkout

    /// Makes an order from the caller's cart at current prices.
    ///
    /// With an `Idempotency-Key`, the key is recorded in the statement that inserts the order, and
    /// that statement inserts nothing if the key is there already; so a key makes one order however
    /// often and however concurrently it is sent, and a checkout that fails leaves nothing behind
    /// to retry against. A checkout that makes no order (the key made one first, or the first
    /// request emptied the cart) answers with the key's order, whatever the cart holds now.
    /// Without a key, the cart version's uniqueness makes racing checkouts of one cart yield one
    /// order; the losers get it back with 200.
    @Sendable func create(_ request: Request, context: EcomRequestContext) async throws -> EditedResponse<Order> {
        let userID = try context.requireAccount().userID
        guard let key = try Self.idempotencyKey(request) else {
            // Without a key, every checkout that stores nothing has a winner to answer with.
            guard let (order, status) = try await checkout(userID: userID, key: nil, context: context) else { throw APIError.unavailable }
            return EditedResponse(status: status, response: order)
        }
        // A second round only after a key left in progress by an earlier release was removed.
        for _ in 1...2 {
            let made: (Order, HTTPResponse.Status)?
            do {
                made = try await checkout(userID: userID, key: key, context: context)
            } catch where !(error is CancellationError) {
                // The key answers; if it cannot be read, that failure (503) does, not the checkout's:
                // a cart emptied by the key's first request is no answer to its retry.
                guard let replay = try await replay(key, of: userID) else { throw error }
                return replay
            }
            if let (order, status) = made { return EditedResponse(status: status, response: order) }
            if let replay = try await replay(key, of: userID) { return replay }
        }
        throw APIError.unavailable
    }

    /// The answer of the request that made the key's order, marked as a replay; nil if the key made
    /// none; 409 `idempotency_in_progress` for a key an earlier release claimed less than two
    /// minutes ago.
    private func replay(_ key: String, of userID: UUID) async throws -> EditedResponse<Order>? {
        switch try await repository.recordedKey(key, userID: userID) {
        case .done(let orderID, let status):
            guard let order = try await repository.find(id: orderID, userID: userID) else { throw APIError.notFound("order") }
            // The same status and order as the first answer; the header tells a replay apart.
            return EditedResponse(status: .init(code: status), headers: [.idempotentReplayed: "true"], response: order)
        case .inProgress:
            throw APIError.conflict("idempotency_in_progress", "a request with this Idempotency-Key is still in progress")
        case nil:
            return nil
        }
    }

    /// The order made and its status, or nil when the key is recorded already.
    private func checkout(userID: UUID, key: String?, context: EcomRequestContext) async throws -> (Order, HTTPResponse.Status)? {
        let current = try await cart.send(.GET, InternalPath.cartContents(userID), requestID: context.requestID, as: CartContents.self)
        guard !current.items.isEmpty else {
            // The request is well formed; it is the cart's state that refuses it.
            throw APIError.conflict("cart_empty", "your cart is empty")
        }
        let catalog = try await products.send(
            .POST, InternalPath.productLookup, body: ProductLookup(ids: current.items.map(\.productID)),
            requestID: context.requestID, as: [Product].self)
        let byID = Dictionary(catalog.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var lines: [OrderLine] = []
        for item in current.items {
            guard let product = byID[item.productID], product.isActive else {
                let name = byID[item.productID]?.name ?? "unknown product"
                throw APIError.conflict(
                    "product_unavailable", "\(name) is no longer available; remove it from your cart", field: item.id.lowercased)
            }
            lines.append(
                OrderLine(
                    productID: product.id, name: product.name, unitPriceCents: product.priceCents, quantity: item.quantity,
                    lineTotalCents: product.priceCents * Int64(item.quantity)))
        }
        let draft = OrderDraft(id: UUID.random(), userID: userID, cartVersion: current.version, lines: lines)
        let order: Order
        switch try await repository.create(draft, idempotencyKey: key, requestID: context.requestID) {
        case .created(let created):
            order = created
        case .keyTaken:
            return nil
        case .cartVersionTaken:
            // A racing checkout of the same cart version committed first.
            switch try await repository.winner(userID: userID, cartVersion: current.version, idempotencyKey: key) {
            case .order(let winner): return (winner, .ok)
            case .keyTaken: return nil
            case nil: throw APIError.unavailable
            }
        }
        outboxChanged()
        context.logger.info("order placed", metadata: ["order_id": "\(order.id.lowercased)", "total_cents": "\(order.totalCents)"])
        // Take the lines out of the cart now; the cart's consumer of order.created does it
        // otherwise, so a cart outage here loses nothing.
        do {
            let applied = CartOrderApplied(orderID: order.id, lines: draft.lines.map { OrderedQuantity(productID: $0.productID, quantity: $0.quantity) })
            _ = try await cart.send(
                .POST, InternalPath.cartOrders(userID), body: applied, requestID: context.requestID,
                as: ServiceClient.Empty.self)
        } catch {
            context.logger.warning("cart not updated yet; the order.created event will", metadata: ["error": "\(error)"])
        }
        return (order, .created)
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw APIError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters", field: "Idempotency-Key")
        }
        return key
    }

    // MARK: - Reading

    @Sendable func list(_ request: Request, context: EcomRequestContext) async throws -> Page<Order> {
        let principal = try context.requireAccount()
        return try await page(request, userID: principal.userID)
    }

    @Sendable func listAll(_ request: Request, context: EcomRequestContext) async throws -> Page<Order> {
        _ = try context.requireAdmin()
        return try await page(request, userID: nil)
    }

    private func page(_ request: Request, userID: UUID?) async throws -> Page<Order> {
        let limit = try request.pageLimit()
        var status: OrderStatus?
        if let text = request.queryString("status") {
            guard let value = OrderStatus(rawValue: text) else {
                throw APIError.badRequest(
                    ErrorCode.invalidQuery, "status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "status")
            }
            status = value
        }
        let after = try request.queryString("cursor").map(Cursor.decodeTimestampKey).map { OrderKey(createdAt: $0.timestamp, id: $0.id) }
        let rows = try await repository.list(userID: userID, status: status, idPrefix: try request.idPrefix(), limit: limit + 1, after: after)
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { Cursor.encode(timestamp: $0.key.createdAt, id: $0.key.id) } : nil
        return Page(items: page.map(\.order), nextCursor: next)
    }

    @Sendable func get(_ request: Request, context: EcomRequestContext) async throws -> Order {
        let principal = try context.requireAccount()
        let id = try context.uuidParameter()
        // Another user's order is "not found", never "forbidden".
        guard let order = try await repository.find(id: id, userID: principal.userID) else { throw APIError.notFound("order") }
        return order
    }

    @Sendable func getAny(_ request: Request, context: EcomRequestContext) async throws -> Order {
        _ = try context.requireAdmin()
        guard let order = try await repository.find(id: try context.uuidParameter(), userID: nil) else { throw APIError.notFound("order") }
        return order
    }

    // MARK: - Changing status

    /// Cancels a pending or confirmed order once; the stock is released by the products service
    /// when it sees `order.cancelled`, and only if it holds a reservation.
    @Sendable func cancel(_ request: Request, context: EcomRequestContext) async throws -> Order {
        let principal = try context.requireAccount()
        return try await change(try context.uuidParameter(), of: principal.userID, .cancel, context: context)
    }

    /// Ships a confirmed order; the products service consumes its reservation when it sees `order.shipped`.
    @Sendable func ship(_ request: Request, context: EcomRequestContext) async throws -> Order {
        try await adminTransition(context, .ship)
    }

    @Sendable func deliver(_ request: Request, context: EcomRequestContext) async throws -> Order {
        try await adminTransition(context, .deliver)
    }

    private func adminTransition(_ context: EcomRequestContext, _ transition: OrderTransition) async throws -> Order {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        let order = try await change(id, of: nil, transition, context: context)
        context.logger.info("order \(transition.to.rawValue)", metadata: ["order_id": "\(id.lowercased)", "by": "\(admin.subject)"])
        return order
    }

    /// Makes `transition`, or says why not: 404 for an order that is not there (or not the
    /// user's), 409 `invalid_transition` for one in a status it does not apply to.
    private func change(_ id: UUID, of userID: UUID?, _ transition: OrderTransition, context: EcomRequestContext) async throws -> Order {
        if let order = try await repository.transition(id: id, userID: userID, transition, requestID: context.requestID) {
            outboxChanged()
            return order
        }
        guard let order = try await repository.find(id: id, userID: userID) else { throw APIError.notFound("order") }
        throw APIError.conflict("invalid_transition", "an order that is \(order.status.rawValue) cannot be \(transition.to.rawValue)")
    }
}
