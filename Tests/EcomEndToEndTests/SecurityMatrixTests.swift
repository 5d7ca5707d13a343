import EcomAPI
import Foundation
import NIOHTTP1
import Testing

/// The access rules of every route, end to end through the gateway and on each service's own port.
@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct SecurityMatrixTests {
    /// The callers' tokens and what rows are made from.
    struct Callers {
        var store: Store
        var a: TokenPair
        var b: TokenPair

        func token(_ caller: Caller) -> String? {
            switch caller {
            case .anonymous: nil
            case .userA: a.token
            case .userB: b.token
            case .admin: store.admin.token
            }
        }

        /// Fresh resources for the placeholders `row` uses. Every caller's cart is emptied first,
        /// so A's cart holds exactly the fixture's line.
        func fixture(for row: MatrixRow) async throws -> [String: String] {
            for caller in [Caller.userA, .userB, .admin] {
                _ = try await HTTP.send(.DELETE, store.gateway + "/api/cart", token: token(caller))
            }
            let needs = row.placeholders
            var values: [String: String] = [
                "uuid": UUID().lowercased,
                "credentials": #"{"email":"\#(a.user.email)","password":"password123"}"#,
            ]
            if !needs.isDisjoint(with: ["product", "line", "order"]) {
                values["product"] = try await store.createProduct(name: "Matrix \(row.path)", stock: 100).id.lowercased
            }
            if needs.contains("order") {
                try #require(try await store.add(UUID(uuidString: values["product"]!)!, quantity: 1, as: a).status == .created)
                let order: Order = try await store.checkout(as: a).decode()
                try await store.eventually("fixture order confirmed") { try await store.order(order.id, as: a).status == .confirmed }
                values["order"] = order.id.lowercased
            }
            if needs.contains("line") {
                let cart: Cart = try await store.add(UUID(uuidString: values["product"]!)!, quantity: 1, as: a).decode()
                values["line"] = try #require(cart.items.first).id.lowercased
            }
            if needs.contains("user") {
                values["user"] = try await store.shopper().user.id.lowercased
            }
            if needs.contains("webhook") {
                let created = try await HTTP.send(
                    .POST, store.gateway + "/admin/webhooks", json: WebhookCreate(url: "https://example.com/hook", types: nil),
                    token: store.admin.token)
                values["webhook"] = try created.decode(WebhookEndpoint.self).id.lowercased
            }
            return values
        }

        static func fill(_ template: String, _ values: [String: String]) -> String {
            values.reduce(template) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
        }
    }

    static func withCallers(_ body: (Callers) async throws -> Void) async throws {
        try await Store.with { store in
            let a = try await store.shopper("a-\(UUID().uuidString.prefix(6).lowercased())")
            let b = try await store.shopper("b-\(UUID().uuidString.prefix(6).lowercased())")
            try await body(Callers(store: store, a: a, b: b))
        }
    }

    @Test("the matrix has a row for every operation of the OpenAPI document, and no other")
    func matrixCoversDocument() throws {
        let rows = Set(SecurityMatrix.rows.map(\.operation))
        let documented = try SecurityMatrix.documentedOperations()
        #expect(documented.subtracting(rows).isEmpty, "operations without a row: \(documented.subtracting(rows).sorted())")
        #expect(rows.subtracting(documented).isEmpty, "rows for undocumented operations: \(rows.subtracting(documented).sorted())")
        #expect(SecurityMatrix.rows.allSatisfy { Set($0.expected.keys) == Set(Caller.allCases) })
    }

    @Test("every route × {anonymous, user A, user B, admin} answers as the matrix says, through the gateway and on the service's port")
    func matrix() async throws {
        try await Self.withCallers { callers in
            let store = callers.store
            for row in SecurityMatrix.rows {
                let values = try await callers.fixture(for: row)
                let path = Callers.fill(row.path, values)
                for caller in [Caller.anonymous, .userB, .admin, .userA] {
                    let reply = try await HTTP.send(
                        row.method, store.gateway + path, raw: row.body.map { $0(values) }, token: callers.token(caller))
                    #expect(reply.status == row.expected[caller], "\(row) as \(caller): \(reply.status.code) \(reply.text)")
                }

                // The service checks again on its own port: no token is 401, a user on an admin route 403.
                guard let service = row.service, row.expected[.anonymous] == .unauthorized else { continue }
                let direct = store.server.service(service) + path
                let anonymous = try await HTTP.send(row.method, direct, raw: row.body.map { $0(values) })
                #expect(anonymous.status == .unauthorized, "\(row) on the \(service) port without a token: \(anonymous.status.code)")
                if row.path.hasPrefix("/admin/") {
                    let user = try await HTTP.send(row.method, direct, raw: row.body.map { $0(values) }, token: callers.b.token)
                    #expect(user.status == .forbidden, "\(row) on the \(service) port as a user: \(user.status.code)")
                }
            }

            // Lists are scoped to the caller: B sees none of A's orders.
            let bOrders: Page<Order> = try await HTTP.send(.GET, store.gateway + "/api/orders", token: callers.b.token).decode()
            #expect(bOrders.items.isEmpty)
            let aOrders: Page<Order> = try await HTTP.send(.GET, store.gateway + "/api/orders", token: callers.a.token).decode()
            #expect(!aOrders.items.isEmpty && aOrders.items.allSatisfy { $0.userID == callers.a.user.id })
        }
    }

    @Test("service-to-service routes are not routed by the gateway, and a service's port refuses them to any account")
    func internalRoutes() async throws {
        try await Self.withCallers { callers in
            let store = callers.store
            for route in SecurityMatrix.internalRoutes {
                let path = route.path.replacingOccurrences(of: "{user}", with: callers.a.user.id.lowercased)
                let viaGateway = try await HTTP.send(route.method, store.gateway + path, raw: route.body, token: store.admin.token)
                #expect(viaGateway.status == .notFound, "\(route.method) \(path) through the gateway")
                #expect(viaGateway.errorCode == ErrorCode.routeNotFound)
                let direct = store.server.service(route.service) + path
                for caller in [Caller.anonymous, .userA, .admin] {
                    let reply = try await HTTP.send(route.method, direct, raw: route.body, token: callers.token(caller))
                    #expect(reply.status == (caller == .anonymous ? .unauthorized : .forbidden), "\(route.method) \(path) as \(caller)")
                }
                // Nor does an identity header stand in for a token.
                let spoofed = try await HTTP.send(route.method, direct, raw: route.body, headers: [("X-User-ID", callers.a.user.id.uuidString), ("X-Role", "service")])
                #expect(spoofed.status == .unauthorized)
            }
        }
    }

    @Test("fields a caller may not set (role, id, user_id…) are refused and change nothing")
    func massAssignment() async throws {
        try await Self.withCallers { callers in
            let store = callers.store
            let product = try await store.createProduct(stock: 10)
            let line: Cart = try await store.add(product.id, quantity: 1, as: callers.a).decode()
            let lineID = try #require(line.items.first).id.lowercased
            let cases: [(HTTPMethod, String, String, String?)] = [
                (.POST, "/api/users", #"{"email":"mass@matrix.test","password":"password123","role":"admin"}"#, nil),
                (.POST, "/api/users", #"{"email":"mass@matrix.test","password":"password123","id":"00000000-0000-0000-0000-000000000001"}"#, nil),
                (.POST, "/api/users", #"{"email":"mass@matrix.test","password":"password123","disabled":false}"#, nil),
                (.POST, "/api/login", #"{"email":"\#(callers.a.user.email)","password":"password123","role":"admin"}"#, nil),
                (.POST, "/api/me/password", #"{"current_password":"password123","new_password":"password456","role":"admin"}"#, callers.a.token),
                (.POST, "/api/cart/items", #"{"product_id":"\#(product.id.lowercased)","quantity":1,"user_id":"\#(callers.b.user.id.lowercased)"}"#, callers.a.token),
                (.PATCH, "/api/cart/items/\(lineID)", #"{"quantity":3,"unit_price_cents":1}"#, callers.a.token),
                (.PATCH, "/admin/users/\(callers.b.user.id.lowercased)", #"{"role":"admin","email":"owned@matrix.test"}"#, store.admin.token),
                (.PATCH, "/admin/users/\(callers.b.user.id.lowercased)", #"{"role":null,"disabled":true}"#, store.admin.token),
                (.POST, "/admin/products", #"{"name":"Mass","price_cents":100,"id":"00000000-0000-0000-0000-000000000001"}"#, store.admin.token),
                (.PATCH, "/admin/products/\(product.id.lowercased)", #"{"price_cents":1,"created_at":"2020-01-01T00:00:00Z"}"#, store.admin.token),
            ]
            for (method, path, body, token) in cases {
                let reply = try await HTTP.send(method, store.gateway + path, raw: body, token: token)
                #expect(reply.status == .badRequest, "\(method) \(path) \(body): \(reply.status.code)")
                #expect([ErrorCode.unknownField, ErrorCode.invalidField].contains(reply.errorCode ?? ""), "\(body)")
            }
            // Nothing changed: no account was made, nobody became admin or was disabled, the line and price stand.
            #expect(try await HTTP.send(.POST, store.gateway + "/api/login", raw: #"{"email":"mass@matrix.test","password":"password123"}"#).status == .unauthorized)
            #expect(try await HTTP.send(.GET, store.gateway + "/api/me", token: callers.a.token).decode(User.self).role == .user)
            let b: User = try await HTTP.send(.GET, store.gateway + "/admin/users/\(callers.b.user.id.lowercased)", token: store.admin.token).decode()
            #expect(b.role == .user && !b.disabled && b.email == callers.b.user.email)
            let cart: Cart = try await HTTP.send(.GET, store.gateway + "/api/cart", token: callers.a.token).decode()
            #expect(cart.items.map(\.quantity) == [1] && cart.totalCents == product.priceCents)
            #expect(try await store.product(product.id).priceCents == product.priceCents)
            // Registration never sets a role: the account is a plain user.
            let registered = try await HTTP.send(.POST, store.gateway + "/api/users", raw: #"{"email":"plain@matrix.test","password":"password123"}"#)
            #expect(try registered.decode(User.self).role == .user)
        }
    }

    @Test("limits: a page is capped at 100 whatever limit asks, and bodies past a route's limit are 413 at the gateway and the service")
    func limits() async throws {
        try await Self.withCallers { callers in
            let store = callers.store
            let entries = (0..<120).map { #"{"sku":"CAP-\#($0)","name":"Cap \#($0)","price_cents":100,"stock":1}"# }
            let imported = try await HTTP.send(
                .POST, store.gateway + "/admin/products/import", raw: #"{"products":[\#(entries.joined(separator: ","))]}"#, token: store.admin.token)
            try #require(imported.status == .ok, "\(imported.text)")
            for path in ["/api/products?limit=1000000", "/api/products?limit=99999999999999999999999", "/admin/products?limit=1000000"] {
                let page: Page<Product> = try await HTTP.send(.GET, store.gateway + path, token: store.admin.token).decode()
                #expect(page.items.count == 100, "\(path)")
                #expect(page.nextCursor != nil, "\(path)")
            }
            let users = try await HTTP.send(.GET, store.gateway + "/admin/users?limit=1000000", token: store.admin.token)
            #expect(users.status == .ok)

            // 5 MiB of JSON on every route that takes a body (the import takes up to 32 MiB).
            let fiveMiB = #"{"name":""# + String(repeating: "x", count: 5 * 1024 * 1024) + #""}"#
            for row in SecurityMatrix.rows where row.body != nil {
                let path = Callers.fill(row.path, ["product": UUID().lowercased, "line": UUID().lowercased, "order": UUID().lowercased, "user": UUID().lowercased, "uuid": UUID().lowercased, "webhook": UUID().lowercased])
                let token = row.path.hasPrefix("/admin/") ? store.admin.token : callers.a.token
                let reply = try await HTTP.send(row.method, store.gateway + path, raw: fiveMiB, token: token)
                if row.path == "/admin/products/import" {
                    #expect(reply.status == .badRequest, "\(row): 5 MiB is within the import's limit")
                } else {
                    #expect(reply.status == .payloadTooLarge, "\(row): \(reply.status.code)")
                    #expect(reply.errorCode == ErrorCode.payloadTooLarge)
                }
                if let service = row.service {
                    let direct = try await HTTP.send(row.method, store.server.service(service) + path, raw: fiveMiB, token: token)
                    #expect(direct.status == (row.path == "/admin/products/import" ? .badRequest : .payloadTooLarge), "\(row) on the \(service) port")
                }
            }
            let tooLargeImport = #"{"products":[""# + String(repeating: "x", count: 33 * 1024 * 1024) + #""]}"#
            let reply = try await HTTP.send(.POST, store.gateway + "/admin/products/import", raw: tooLargeImport, token: store.admin.token)
            #expect(reply.status == .payloadTooLarge)
        }
    }

    /// Text that looks like SQL, or is very long, or is odd: every text field and parameter
    /// takes it verbatim or refuses it with 400; none answers 500.
    static let hostileStrings: [String] = [
        "' OR '1'='1", "'; DROP TABLE users; --", "Robert'); DROP TABLE products;--", "%' AND 1=1 --", "\\'; SELECT pg_sleep(5); --",
        "1; UPDATE products SET stock = 0", "\"}]}", "$1", "%00", "\u{0}", "\u{202E}gnp.exe", "😀🛒", "ﷺ", "a\u{301}\u{302}\u{303}",
        String(repeating: "A", count: 10_000), String(repeating: "é", count: 300),
    ]

    @Test("SQL-looking and very long strings in every text field are stored verbatim or refused with 400, never a 500")
    func hostileText() async throws {
        try await Self.withCallers { callers in
            let store = callers.store
            func check(_ reply: HTTP.Reply, _ what: String) {
                #expect(reply.status.code < 500, "\(what): \(reply.status.code) \(reply.text.prefix(200))")
            }
            func quoted(_ text: String) throws -> String { String(decoding: try JSONEncoder().encode(text), as: UTF8.self) }
            for text in Self.hostileStrings {
                let q = try quoted(text)
                let encoded = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                // Accounts.
                check(try await HTTP.send(.POST, store.gateway + "/api/users", raw: #"{"email":\#(q),"password":"password123"}"#), "register email")
                check(try await HTTP.send(.POST, store.gateway + "/api/users", raw: #"{"email":"h\#(UUID().uuidString.prefix(6))@x.co","password":\#(q)}"#), "register password")
                check(try await HTTP.send(.POST, store.gateway + "/api/login", raw: #"{"email":\#(q),"password":\#(q)}"#), "login")
                check(try await HTTP.send(.POST, store.gateway + "/api/refresh", raw: #"{"refresh_token":\#(q)}"#), "refresh")
                check(try await HTTP.send(.POST, store.gateway + "/api/revoke", raw: #"{"refresh_token":\#(q)}"#), "revoke")
                check(try await HTTP.send(.POST, store.gateway + "/api/refresh", headers: [("Cookie", "refresh_token=\(encoded)")]), "refresh cookie")
                // Query parameters and ids.
                for path in ["/api/products?q=\(encoded)", "/api/products?cursor=\(encoded)", "/api/products?limit=\(encoded)",
                             "/api/orders?status=\(encoded)", "/api/orders?cursor=\(encoded)", "/api/orders/\(encoded)",
                             "/admin/users?cursor=\(encoded)", "/admin/orders?cursor=\(encoded)", "/admin/products/\(encoded)",
                             "/admin/events/orders?cursor=\(encoded)"] {
                    check(try await HTTP.send(.GET, store.gateway + path, token: store.admin.token), path)
                }
                check(try await HTTP.send(.POST, store.gateway + "/api/orders", token: callers.b.token, headers: [("Idempotency-Key", String(encoded.prefix(300)))]), "Idempotency-Key")

                // Products: stored verbatim (the name trimmed) or refused.
                let sku = try quoted(String(text.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(20)) + "-\(UUID().uuidString.prefix(6))")
                let created = try await HTTP.send(
                    .POST, store.gateway + "/admin/products",
                    raw: #"{"sku":\#(sku),"name":\#(q),"description":\#(q),"price_cents":100,"stock":1}"#, token: store.admin.token)
                check(created, "product name/description")
                if created.status == .created {
                    let product: Product = try created.decode()
                    let read = try await store.product(product.id)
                    #expect(read.name == text.trimmingCharacters(in: .whitespacesAndNewlines), "name \(text.prefix(40))")
                    #expect(read.description == text, "description \(text.prefix(40))")
                    let found: Page<Product> = try await HTTP.send(
                        .GET, store.gateway + "/admin/products?q=\(encoded)", token: store.admin.token).decode()
                    if text.unicodeScalars.count <= 200 { #expect(found.items.contains { $0.id == product.id }, "search for \(text.prefix(40))") }
                    check(try await HTTP.send(
                        .POST, store.gateway + "/admin/products/\(product.id.lowercased)/stock", raw: #"{"delta":1,"reason":\#(q)}"#, token: store.admin.token), "stock reason")
                    check(try await HTTP.send(
                        .PATCH, store.gateway + "/admin/products/\(product.id.lowercased)", raw: #"{"name":\#(q),"sku":\#(q)}"#, token: store.admin.token), "product patch")
                }
                check(try await HTTP.send(.POST, store.gateway + "/admin/products/import", raw: #"{"products":[{"sku":\#(q),"name":\#(q),"price_cents":1}]}"#, token: store.admin.token), "import")
            }
            // A long email and password of the right shape are accepted as they are.
            let local = String(repeating: "l", count: 240)
            let registered = try await HTTP.send(.POST, store.gateway + "/api/users", raw: #"{"email":"\#(local)@x.co","password":"\#(String(repeating: "p", count: 1024))"}"#)
            #expect(registered.status == .created)
            #expect(try registered.decode(User.self).email == "\(local)@x.co")
            #expect(!store.server.log.contains("unexpected error"), "the server logged an unexpected error")
        }
    }
}
