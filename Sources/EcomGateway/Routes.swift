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

    /// The event streams stay open: the gateway's deadline bounds the wait for an answer's head
    /// (in memory and over HTTP alike), never the body that follows it.
    package static let notifications: [GatewayRoute] = [
        GatewayRoute("/api/events/stream", to: "notifications", access: .account),
        GatewayRoute("/admin/events/stream", to: "notifications", access: .admin),
        GatewayRoute("/admin/events/notifications", to: "notifications", access: .admin),
        GatewayRoute("/admin/webhooks", to: "notifications", access: .admin),
    ]

    package static let all: [GatewayRoute] = users + products + cart + orders + notifications

    /// The entry that forwards `path`, if any: the first whose prefix matches.
    package static func route(for path: Substring, in table: [GatewayRoute] = all) -> GatewayRoute? {
        table.first { $0.matches(path) }
    }
}

/// A routing table looked up by the first two segments of a path, so that a request is compared with the
/// few entries that can match it rather than with the whole table, and a path under no entry (`/health`)
/// is told so at once. It answers as `RoutingTable.route(for:in:)` does.
package struct RouteIndex: Sendable {
    private let byHead: [Substring: [GatewayRoute]]
    /// Entries whose prefix has fewer than two segments, which any path may match.
    private let short: [GatewayRoute]

    package init(_ table: [GatewayRoute]) {
        short = table.filter { Self.head(of: $0.prefix[...]) == nil }
        var byHead: [Substring: [GatewayRoute]] = [:]
        for route in table {
            guard let head = Self.head(of: route.prefix[...]) else { continue }
            // Each list keeps the table's order, short entries included where they stood.
            byHead[head] = table.filter { $0.prefix.hasPrefix(head) || Self.head(of: $0.prefix[...]) == nil }
        }
        self.byHead = byHead
    }

    package func route(for path: Substring) -> GatewayRoute? {
        let candidates = Self.head(of: path).flatMap { byHead[$0] } ?? short
        return candidates.first { $0.matches(path) }
    }

    /// `/a/b` of `/a/b` or `/a/b/…`; nil for a path of fewer than two segments.
    static func head(of path: Substring) -> Substring? {
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        guard let second = utf8.dropFirst().firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let end = utf8[utf8.index(after: second)...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
        guard end > utf8.index(after: second) else { return nil }
        return path[path.startIndex..<end]
    }
}
