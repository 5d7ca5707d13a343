import EcomAPI
import Foundation
import NIOHTTP1
import Testing

/// Who sends a request of the matrix.
enum Caller: String, CaseIterable, Sendable, CustomStringConvertible {
    case anonymous, userA, userB, admin
    var description: String { rawValue }
}

/// One route of the gateway's API and what each caller gets from it.
///
/// Paths name the resources a row needs with placeholders, made fresh for each row:
/// `{product}` (an active product), `{line}` (a line in user A's cart), `{order}` (user A's
/// confirmed order), `{user}` (an account that is none of the callers), `{uuid}` (an id that
/// names nothing). Callers go in the order anonymous, user B, admin, user A, so that A's own
/// successful change comes after everyone else has been refused.
struct MatrixRow: Sendable, CustomStringConvertible {
    var method: HTTPMethod
    var path: String
    /// The service that answers the route on its own port; nil for the gateway's own routes.
    var service: String?
    var body: (@Sendable (_ fixture: [String: String]) -> String)?
    /// Resources the row needs beyond those its path names (`line`: A's cart holds one).
    var needs: Set<String> = []
    var expected: [Caller: HTTPResponseStatus]

    var description: String { "\(method) \(path)" }

    /// The operation of the OpenAPI document the row covers: every placeholder is `{id}` there.
    var operation: String {
        "\(method) " + path.replacingOccurrences(of: #"\{[a-z]+\}"#, with: "{id}", options: .regularExpression)
    }

    /// The resources the row's path and body use.
    var placeholders: Set<String> {
        needs.union(["product", "line", "order", "user", "uuid", "webhook"].filter { path.contains("{\($0)}") })
    }
}

extension Dictionary where Key == Caller, Value == HTTPResponseStatus {
    static func everyone(_ status: HTTPResponseStatus) -> Self {
        [.anonymous: status, .userA: status, .userB: status, .admin: status]
    }

    /// A signed-in route: 401 without a token.
    static func account(a: HTTPResponseStatus, b: HTTPResponseStatus, admin: HTTPResponseStatus) -> Self {
        [.anonymous: .unauthorized, .userA: a, .userB: b, .admin: admin]
    }

    /// An admin route: 401 without a token, 403 for a user.
    static func admin(_ status: HTTPResponseStatus) -> Self {
        [.anonymous: .unauthorized, .userA: .forbidden, .userB: .forbidden, .admin: status]
    }
}

enum SecurityMatrix {
    static func json(_ text: String) -> @Sendable ([String: String]) -> String { { _ in text } }

    /// Every operation of the API. The test fails when the OpenAPI document has one this table lacks.
    static let rows: [MatrixRow] = [
        // The gateway's own routes.
        MatrixRow(method: .GET, path: "/health", expected: .everyone(.ok)),
        MatrixRow(method: .GET, path: "/ready", expected: .everyone(.ok)),
        MatrixRow(method: .GET, path: "/metrics", expected: .everyone(.ok)),
        MatrixRow(method: .GET, path: "/openapi.json", expected: .everyone(.ok)),

        // Public: the caller's token changes nothing.
        MatrixRow(
            method: .POST, path: "/api/users", service: "users",
            body: { _ in #"{"email":"m-\#(UUID().uuidString.prefix(8))@matrix.test","password":"password123"}"# },
            expected: .everyone(.created)),
        MatrixRow(method: .POST, path: "/api/login", service: "users", body: { $0["credentials"] ?? "{}" }, expected: .everyone(.ok)),
        MatrixRow(method: .POST, path: "/api/refresh", service: "users", body: json(#"{"refresh_token":"not-a-refresh-token"}"#), expected: .everyone(.unauthorized)),
        MatrixRow(method: .POST, path: "/api/revoke", service: "users", body: json("{}"), expected: .everyone(.noContent)),
        MatrixRow(method: .GET, path: "/api/products", service: "products", expected: .everyone(.ok)),
        MatrixRow(method: .GET, path: "/api/products/{product}", service: "products", expected: .everyone(.ok)),

        // Signed in: each caller's own account, cart and orders; another user's lines and orders are 404.
        MatrixRow(method: .GET, path: "/api/me", service: "users", expected: .account(a: .ok, b: .ok, admin: .ok)),
        // A new password too short to be accepted: a 400 shows the request got past authentication.
        MatrixRow(
            method: .POST, path: "/api/me/password", service: "users",
            body: json(#"{"current_password":"password123","new_password":"short"}"#),
            expected: .account(a: .badRequest, b: .badRequest, admin: .badRequest)),
        MatrixRow(method: .GET, path: "/api/cart", service: "cart", expected: .account(a: .ok, b: .ok, admin: .ok)),
        MatrixRow(method: .DELETE, path: "/api/cart", service: "cart", expected: .account(a: .noContent, b: .noContent, admin: .noContent)),
        MatrixRow(
            method: .POST, path: "/api/cart/items", service: "cart", body: { #"{"product_id":"\#($0["product"] ?? "")","quantity":1}"# },
            needs: ["product"], expected: .account(a: .created, b: .created, admin: .created)),
        MatrixRow(
            method: .PATCH, path: "/api/cart/items/{line}", service: "cart", body: json(#"{"quantity":2}"#),
            expected: .account(a: .ok, b: .notFound, admin: .notFound)),
        MatrixRow(method: .DELETE, path: "/api/cart/items/{line}", service: "cart", expected: .account(a: .ok, b: .notFound, admin: .notFound)),
        // A's cart holds a line; B's and the admin's are empty.
        MatrixRow(method: .POST, path: "/api/orders", service: "orders", needs: ["line"], expected: .account(a: .created, b: .conflict, admin: .conflict)),
        MatrixRow(method: .GET, path: "/api/orders", service: "orders", expected: .account(a: .ok, b: .ok, admin: .ok)),
        // Streams: the matrix reads an answer's head and first lines, then hangs up.
        MatrixRow(method: .GET, path: "/api/events/stream", service: "notifications", expected: .account(a: .ok, b: .ok, admin: .ok)),
        MatrixRow(method: .GET, path: "/admin/events/stream", service: "notifications", expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/api/orders/{order}", service: "orders", expected: .account(a: .ok, b: .notFound, admin: .notFound)),
        MatrixRow(method: .DELETE, path: "/api/orders/{order}", service: "orders", expected: .account(a: .ok, b: .notFound, admin: .notFound)),

        // Admin only.
        MatrixRow(method: .GET, path: "/admin/users", service: "users", expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/admin/users/{user}", service: "users", expected: .admin(.ok)),
        MatrixRow(method: .PATCH, path: "/admin/users/{user}", service: "users", body: json(#"{"disabled":false}"#), expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/admin/products", service: "products", expected: .admin(.ok)),
        MatrixRow(
            method: .POST, path: "/admin/products", service: "products",
            body: { _ in #"{"sku":"M-\#(UUID().uuidString.prefix(8))","name":"Matrix","price_cents":100,"stock":1}"# },
            expected: .admin(.created)),
        MatrixRow(
            method: .POST, path: "/admin/products/import", service: "products",
            body: { _ in #"{"products":[{"sku":"I-\#(UUID().uuidString.prefix(8))","name":"Imported","price_cents":100}]}"# },
            expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/admin/products/{product}", service: "products", expected: .admin(.ok)),
        MatrixRow(method: .PATCH, path: "/admin/products/{product}", service: "products", body: json(#"{"price_cents":2500}"#), expected: .admin(.ok)),
        MatrixRow(method: .DELETE, path: "/admin/products/{product}", service: "products", expected: .admin(.noContent)),
        MatrixRow(
            method: .POST, path: "/admin/products/{product}/stock", service: "products", body: json(#"{"delta":1,"reason":"count"}"#),
            expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/admin/orders", service: "orders", expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/admin/orders/{order}", service: "orders", expected: .admin(.ok)),
        MatrixRow(method: .POST, path: "/admin/orders/{order}/ship", service: "orders", expected: .admin(.ok)),
        // The order is confirmed, not shipped: refused for its state once past the role check.
        MatrixRow(method: .POST, path: "/admin/orders/{order}/deliver", service: "orders", expected: .admin(.conflict)),
        MatrixRow(method: .GET, path: "/admin/webhooks", service: "notifications", expected: .admin(.ok)),
        MatrixRow(
            method: .POST, path: "/admin/webhooks", service: "notifications", body: json(#"{"url":"https://example.com/hook"}"#),
            expected: .admin(.created)),
        MatrixRow(method: .GET, path: "/admin/webhooks/{webhook}", service: "notifications", expected: .admin(.ok)),
        MatrixRow(
            method: .PATCH, path: "/admin/webhooks/{webhook}", service: "notifications", body: json(#"{"enabled":false}"#),
            expected: .admin(.ok)),
        MatrixRow(method: .DELETE, path: "/admin/webhooks/{webhook}", service: "notifications", expected: .admin(.noContent)),
        MatrixRow(method: .POST, path: "/admin/webhooks/{webhook}/test", service: "notifications", expected: .admin(.accepted)),
        MatrixRow(method: .POST, path: "/admin/webhooks/{webhook}/rotate-secret", service: "notifications", expected: .admin(.ok)),
        MatrixRow(method: .GET, path: "/admin/webhooks/{webhook}/deliveries", service: "notifications", expected: .admin(.ok)),
    ] + ["products", "cart", "orders", "notifications"].flatMap { (service: String) -> [MatrixRow] in
        [
            MatrixRow(method: .GET, path: "/admin/events/\(service)", service: service, expected: .admin(.ok)),
            MatrixRow(method: .POST, path: "/admin/events/\(service)/{uuid}/retry", service: service, expected: .admin(.notFound)),
        ]
    }

    /// Service-to-service routes: never routed by the gateway, and refused on a service's port to
    /// anyone without a service token.
    static let internalRoutes: [(service: String, method: HTTPMethod, path: String, body: String?)] = [
        ("users", .GET, "/internal/demo-admin", nil),
        ("users", .GET, "/internal/revocations", nil),
        ("products", .POST, "/internal/products/lookup", #"{"ids":[]}"#),
        ("cart", .GET, "/internal/carts/{user}", nil),
        ("cart", .POST, "/internal/carts/{user}/orders", #"{"order_id":"00000000-0000-0000-0000-000000000001","lines":[]}"#),
    ]

    /// The operations of the committed OpenAPI document (`GET /api/products/{id}`).
    static func documentedOperations() throws -> Set<String> {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/EcomGateway/openapi.json").standardized
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        return Set(paths.flatMap { path, item in item.keys.map { "\($0.uppercased()) \(path)" } })
    }
}
