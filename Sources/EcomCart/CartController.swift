import EcomAPI
import EcomServerKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The cart service's routes: the signed-in user's own cart, and what the orders service needs
/// at checkout. The cart's owner always comes from the verified token, never from the request.
package struct CartController: Sendable {
    let repository: any CartRepository
    let catalog: ProductCatalog

    package init(repository: any CartRepository, catalog: ProductCatalog) {
        self.repository = repository
        self.catalog = catalog
    }

    package func addRoutes(to router: Router<EcomRequestContext>) {
        router.get("/api/cart", use: get)
        router.delete("/api/cart", use: clear)
        router.post("/api/cart/items", use: add)
        router.patch("/api/cart/items/:id", use: update)
        router.delete("/api/cart/items/:id", use: remove)
        router.get(RouterPath(InternalPath.cartRoute), use: internalGet)
        router.post(RouterPath(InternalPath.cartOrdersRoute), use: applyOrder)
    }

    // MARK: - The caller's cart

    @Sendable func get(_ request: Request, context: EcomRequestContext) async throws -> Cart {
        let userID = try Self.owner(context)
        return try await priced(repository.cart(of: userID), context: context)
    }

    /// Answers with the cart and the line the units went to (`line_id`, and `Location`), so a
    /// client can edit that line without guessing it from the cart.
    @Sendable func add(_ request: Request, context: EcomRequestContext) async throws -> EditedResponse<CartItemAdded> {
        let userID = try Self.owner(context)
        let body = try await request.decode(as: CartItemAdd.self, context: context)
        try Self.validate(quantity: body.quantity, field: "quantity")
        // The product is checked before the transaction, so no database connection waits on the
        // products service; the other lines are priced after it, from the cart it returns.
        let products = try await catalog.products([body.productID], requestID: context.requestID)
        guard let product = products[body.productID], product.isActive else { throw CartError.productNotFound }
        let (cart, lineID, newLine) = try await repository.add(productID: body.productID, quantity: body.quantity, for: userID)
        return EditedResponse(
            status: newLine ? .created : .ok,
            headers: [.location: "/api/cart/items/\(lineID.lowercased)"],
            response: CartItemAdded(cart: try await priced(cart, known: products, context: context), lineID: lineID))
    }

    @Sendable func update(_ request: Request, context: EcomRequestContext) async throws -> Cart {
        let userID = try Self.owner(context)
        let lineID = try context.uuidParameter()
        let body = try await request.decode(as: CartItemUpdate.self, context: context)
        try Self.validate(quantity: body.quantity, field: "quantity")
        return try await priced(repository.setQuantity(body.quantity, ofLine: lineID, for: userID), context: context)
    }

    @Sendable func remove(_ request: Request, context: EcomRequestContext) async throws -> Cart {
        let userID = try Self.owner(context)
        let lineID = try context.uuidParameter()
        return try await priced(repository.removeLine(lineID, for: userID), context: context)
    }

    @Sendable func clear(_ request: Request, context: EcomRequestContext) async throws -> Response {
        try await repository.clear(for: Self.owner(context))
        return Response(status: .noContent)
    }

    // MARK: - Internal

    /// The cart the orders service checks out. It prices the order itself at that moment; what it
    /// takes from here is the product ids, the quantities, and the version it records so that
    /// racing checkouts of one cart make one order: with `priced=false` that is all it gets
    /// (`CartContents`), and the catalog is not asked; otherwise the cart priced, as the orders
    /// services of earlier releases read it.
    @Sendable func internalGet(_ request: Request, context: EcomRequestContext) async throws -> Response {
        _ = try context.requireService()
        let userID = try context.uuidParameter("user_id")
        let snapshot = try await repository.cart(of: userID)
        if request.uri.queryParameters["priced"] == "false" {
            let lines = snapshot.lines.map { CartContents.Line(id: $0.id, productID: $0.productID, quantity: $0.quantity) }
            return try CartContents(items: lines, version: snapshot.version).response(from: request, context: context)
        }
        return try await priced(snapshot, context: context).response(from: request, context: context)
    }

    /// Takes an order's lines out of the cart, once: the orders service calls this right after
    /// checkout, and the `order.created` handler does the same, so whichever comes second does nothing.
    @Sendable func applyOrder(_ request: Request, context: EcomRequestContext) async throws -> Response {
        _ = try context.requireService()
        let userID = try context.uuidParameter("user_id")
        let body = try await request.decode(as: CartOrderApplied.self, context: context)
        for (index, line) in body.lines.enumerated() {
            try Self.validate(quantity: line.quantity, field: "lines.\(index).quantity")
        }
        let applied = try await repository.applyOrder(body, for: userID)
        context.logger.debug(
            applied ? "order applied to cart" : "order already applied to cart",
            metadata: ["order_id": "\(body.orderID.lowercased)", "user_id": "\(userID.lowercased)"])
        return Response(status: .noContent)
    }

    /// The signed-in account's user id.
    private static func owner(_ context: EcomRequestContext) throws -> UUID {
        try context.requireAccount().userID
    }

    private static func validate(quantity: Int, field: String) throws {
        guard (1...CartLimits.maximumQuantity).contains(quantity) else {
            throw APIError.invalidField(field, "\(field) must be between 1 and \(CartLimits.maximumQuantity)")
        }
    }

    /// Prices `snapshot`, asking the catalog only for products not already in `known`.
    private func priced(
        _ snapshot: CartSnapshot, known: [UUID: CatalogProduct] = [:], context: EcomRequestContext
    ) async throws -> Cart {
        let missing = snapshot.lines.map(\.productID).filter { known[$0] == nil }
        let fetched = try await catalog.products(missing, requestID: context.requestID)
        return try Cart(snapshot, products: known.merging(fetched) { current, _ in current })
    }
}

// MARK: - Request bodies

extension CartItemAdd: APIRequestBody {}
extension CartItemUpdate: APIRequestBody {}
extension CartOrderApplied: APIRequestBody {}
