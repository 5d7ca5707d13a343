import Foundation

/// The service-only endpoints (`/internal/…`, never routed by the gateway), named once for the
/// service that routes them and the services that call them. `…Route` is the router's pattern,
/// the function of the same name the path a caller sends.
package enum InternalPath {
    /// Products, `POST` with a `ProductLookup`: the products among its ids, archived ones included.
    package static let productLookup = "/internal/products/lookup"

    /// Cart, `GET`: a user's cart, priced, with its version.
    package static let cartRoute = "/internal/carts/:user_id"
    package static func cart(_ userID: UUID) -> String { "/internal/carts/\(userID.lowercased)" }
    /// The same cart as `CartContents`, unpriced, for a checkout that prices it itself.
    package static func cartContents(_ userID: UUID) -> String { cart(userID) + "?priced=false" }

    /// Cart, `POST` with a `CartOrderApplied`: takes an order's lines out of the user's cart, once.
    package static let cartOrdersRoute = "/internal/carts/:user_id/orders"
    package static func cartOrders(_ userID: UUID) -> String { cart(userID) + "/orders" }

    /// Users, `GET`: whether the demo admin's published password is still set.
    package static let demoAdmin = "/internal/demo-admin"

    /// Users, `GET` with an optional `since` cursor: the revocation feed.
    package static let revocations = "/internal/revocations"
}
