import Foundation
import Testing

@testable import EcomServer

/// The three ways `ecom serve` names its databases, and a service's own URL over all of them.
@Suite struct DatabasePlanTests {
    static func configuration(_ services: Set<ServiceName> = Set(ServiceName.allCases), _ environment: [String: String] = [:]) -> ServeConfiguration {
        var configuration = ServeConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        configuration.apply(environment: environment)
        configuration.services = services
        return configuration
    }

    @Test("without a database URL every service gets its database on the embedded cluster")
    func embedded() throws {
        let plan = try DatabasePlan(for: Self.configuration())
        #expect(plan.server == .embedded)
        #expect(plan.urls.isEmpty)
        #expect(plan.databases.map(\.name) == ["users", "products", "carts", "orders", "notifications"])
        #expect(plan.databases.map(\.service) == [.users, .products, .cart, .orders, .notifications])
    }

    @Test("a service's own database URL is used as given, and no database is made for it")
    func ownURLWins() throws {
        let plan = try DatabasePlan(for: Self.configuration(Set(ServiceName.allCases), ["ECOM_CART_DATABASE_URL": "postgresql://db/mycart"]))
        #expect(plan.server == .embedded)
        #expect(plan.urls == [.cart: "postgresql://db/mycart"])
        #expect(plan.databases.map(\.name) == ["users", "products", "orders", "notifications"])
    }

    @Test("several services on an explicit server get one database each, named after the URL's")
    func severalOnOneServer() throws {
        let plan = try DatabasePlan(for: Self.configuration(Set(ServiceName.allCases), ["DB_URL": "postgresql://db:5432/shop"]))
        #expect(plan.server == .explicit(url: "postgresql://db:5432/shop"))
        #expect(plan.databases.map(\.name) == ["shop_users", "shop_products", "shop_carts", "shop_orders", "shop_notifications"])
        #expect(plan.urls[.orders] == "postgresql://db:5432/shop_orders")
        #expect(plan.urls[.gateway] == nil)
    }

    @Test("a URL without a database name gives the databases the prefix ecom")
    func defaultPrefix() throws {
        let plan = try DatabasePlan(for: Self.configuration([.products, .cart], ["DB_URL": "postgresql://db:5432"]))
        #expect(plan.databases.map(\.name) == ["ecom_products", "ecom_carts"])
    }

    @Test("a process of one service uses the URL's own database, made only when its name is plain")
    func oneServicePerProcess() throws {
        let plain = try DatabasePlan(for: Self.configuration([.gateway, .users], ["DB_URL": "postgresql://db/accounts"]))
        #expect(plain.urls == [.users: "postgresql://db/accounts"])
        #expect(plain.databases == [DatabasePlan.Database(service: .users, name: "accounts")])

        let quoted = try DatabasePlan(for: Self.configuration([.users], ["DB_URL": "postgresql://db/Accounts"]))
        #expect(quoted.urls == [.users: "postgresql://db/Accounts"])
        #expect(quoted.databases.isEmpty)
    }

    @Test("a process without a service that has a database needs no server")
    func gatewayOnly() throws {
        #expect(try DatabasePlan(for: Self.configuration([.gateway])).server == DatabasePlan.Server.none)
        let given = try DatabasePlan(for: Self.configuration([.users], ["ECOM_USERS_DATABASE_URL": "postgresql://db/u"]))
        #expect(given == DatabasePlan(server: .none, urls: [.users: "postgresql://db/u"]))
    }

    @Test("split services without a database URL are refused before anything starts")
    func splitNeedsServer() {
        #expect(throws: ServeError.self) { try DatabasePlan(for: Self.configuration([.products])) }
    }
}
