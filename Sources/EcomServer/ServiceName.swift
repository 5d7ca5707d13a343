/// The services `ecom serve` can run.
package enum ServiceName: String, CaseIterable, Sendable, Comparable {
    case gateway, users, products, cart, orders, notifications

    package static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? Self.allCases.count }

    package var defaultPort: Int {
        switch self {
        case .gateway: 8080
        case .users: 8081
        case .products: 8082
        case .cart: 8083
        case .orders: 8084
        case .notifications: 8085
        }
    }

    /// The database a service owns, named as on the embedded cluster.
    package var databaseName: String? {
        switch self {
        case .gateway: nil
        case .users: "users"
        case .products: "products"
        case .cart: "carts"
        case .orders: "orders"
        case .notifications: "notifications"
        }
    }
}
