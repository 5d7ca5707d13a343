/// Who may call a family of routes. The gateway checks this first; each service checks again.
package enum Access: Sendable {
    case `public`
    /// A signed-in account (user or admin).
    case account
    case admin
}

/// One entry of the gateway's routing table: every path under `prefix` goes to `upstream`.
package struct GatewayRoute: Sendable {
    package var prefix: String
    package var upstream: String
    package var access: Access
    /// A larger body limit than the gateway's default, for routes that take bulk input.
    package var bodyLimit: Int?

    package init(_ prefix: String, to upstream: String, access: Access, bodyLimit: Int? = nil) {
        self.prefix = prefix
        self.upstream = upstream
        self.access = access
        self.bodyLimit = bodyLimit
    }

    /// Whether `path` is `prefix` itself or below it (`/api/me` matches `/api/me/password`, not `/api/meals`).
    package func matches(_ path: Substring) -> Bool {
        path == prefix || (path.hasPrefix(prefix) && path.dropFirst(prefix.count).first == "/")
    }
}

/// The routes clients reach through the gateway. Service-only endpoints (`/internal/…`) are
/// deliberately absent.
package enum RoutingTable {
    package static let users: [GatewayRoute] = [
        GatewayRoute("/api/users", to: "users", access: .public),
        GatewayRoute("/api/login", to: "users", access: .public),
        GatewayRoute("/api/refresh", to: "users", access: .public),
        GatewayRoute("/api/revoke", to: "users", access: .public),
        GatewayRoute("/api/me", to: "users", access: .account),
        GatewayRoute("/admin/users", to: "users", access: .admin),
    ]

    package static let products: [GatewayRoute] = [
        GatewayRoute("/api/products", to: "products", access: .public),
        // A catalog import of up to 10 000 products.
        GatewayRoute("/admin/products/import", to: "products", access: .admin, bodyLimit: 32 * 1024 * 1024),
        GatewayRoute("/admin/products", to: "products", access: .admin),
        GatewayRoute("/admin/events/products", to: "products", access: .admin),
    ]

    package static let cart: [GatewayRoute] = [
        GatewayRoute("/api/cart", to: "cart", access: .account),
        GatewayRoute("/admin/events/cart", to: "cart", access: .admin),
    ]

    package static let orders: [GatewayRoute] = [
        GatewayRoute("/api/orders", to: "orders", access: .account),
        GatewayRoute("/admin/orders", to: "orders", access: .admin),
        GatewayRoute("/admin/events/orders", to: "orders", access: .admin),
    ]

    package static let all: [GatewayRoute] = users + products + cart + orders

    /// The entry that forwards `path`, if any: the first whose prefix matches.
    package static func route(for path: Substring, in table: [GatewayRoute] = all) -> GatewayRoute? {
        table.first { $0.matches(path) }
    }
}
