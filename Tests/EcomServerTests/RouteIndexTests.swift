import EcomGateway
import Testing

@Suite struct RouteIndexTests {
    static let paths = [
        "/health", "/ready", "/openapi.json", "/", "", "/api", "/api/", "/api//users", "/api/users", "/api/users/x", "/api/usersx",
        "/api/login", "/api/me", "/api/me/password", "/api/meals", "/api/products", "/api/products/1", "/api/cart",
        "/api/cart/items/9", "/api/orders/1/cancel", "/admin/products", "/admin/products/import", "/admin/products/import/x",
        "/admin/products/123/stock", "/admin/events/products", "/admin/events/cart/parked", "/admin/users/1", "/admin",
        "/admin/orders", "/internal/products/lookup", "/API/users",
    ]

    @Test("the indexed table sends every path where the table itself does")
    func sameAsTable() {
        let index = RouteIndex(RoutingTable.all)
        for path in Self.paths {
            let expected = RoutingTable.route(for: path[...])
            let found = index.route(for: path[...])
            #expect(found?.prefix == expected?.prefix && found?.upstream == expected?.upstream, "\(path)")
        }
    }

    @Test("an entry shorter than two segments is still found, in the table's order")
    func shortEntries() {
        let table = [
            GatewayRoute("/api/special", to: "special", access: .public), GatewayRoute("/api", to: "catch-all", access: .public),
            GatewayRoute("/api/products", to: "products", access: .public),
        ]
        let index = RouteIndex(table)
        for path in Self.paths {
            #expect(index.route(for: path[...])?.upstream == RoutingTable.route(for: path[...], in: table)?.upstream, "\(path)")
        }
        #expect(index.route(for: "/api/products/1")?.upstream == "catch-all")
        #expect(index.route(for: "/api/special/1")?.upstream == "special")
    }
}
