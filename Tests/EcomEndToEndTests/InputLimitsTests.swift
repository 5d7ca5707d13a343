import EcomAPI
import Foundation
import NIOHTTP1
import Testing

/// One text input sent one character over its documented maximum.
struct OverLimit: Sendable, CustomTestStringConvertible {
    enum Caller: Sendable { case anonymous, shopper, admin }

    var name: String
    var method: HTTPMethod
    /// `{product}` stands for the id of a product the test made.
    var path: String
    /// The JSON body, if any.
    var body: String?
    var headers: [(String, String)] = []
    var caller: Caller = .anonymous
    var field: String
    var code: String = ErrorCode.invalidField

    var testDescription: String { name }

    static func text(_ count: Int) -> String { String(repeating: "a", count: count) }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }
}

/// The inputs, grouped so that each group runs against a store of its own.
enum LimitGroup: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case accounts, catalog, ordersAndHeaders

    var testDescription: String { rawValue }

    var cases: [OverLimit] {
        let text = OverLimit.text
        let json = OverLimit.json
        switch self {
        case .accounts:
            return [
                OverLimit(name: "register email (254)", method: .POST, path: "/api/users", body: json(["email": text(250) + "@b.co", "password": "password123"]), field: "email"),
                OverLimit(name: "register password (1024)", method: .POST, path: "/api/users", body: json(["email": "limits@b.co", "password": text(1025)]), field: "password"),
                OverLimit(name: "login email (254)", method: .POST, path: "/api/login", body: json(["email": text(4000) + "@b.co", "password": "password123"]), field: "email"),
                OverLimit(name: "login password (1024)", method: .POST, path: "/api/login", body: json(["email": "limits@b.co", "password": text(1025)]), field: "password"),
                OverLimit(name: "refresh token in the body (128)", method: .POST, path: "/api/refresh", body: json(["refresh_token": text(129)]), field: "refresh_token"),
                OverLimit(name: "refresh token in the cookie (128)", method: .POST, path: "/api/refresh", headers: [("Cookie", "refresh_token=\(text(129))")], field: "refresh_token"),
                // A quoted `;` would cut the cookie short of its real length, so only token characters pass.
                OverLimit(
                    name: "refresh token in the cookie, quoted around a ';'", method: .POST, path: "/api/revoke",
                    headers: [("Cookie", "refresh_token=\"\(text(100));\(text(100))\"")], field: "refresh_token"),
                OverLimit(name: "revoked refresh token (128)", method: .POST, path: "/api/revoke", body: json(["refresh_token": text(129)]), field: "refresh_token"),
                OverLimit(
                    name: "current password (1024)", method: .POST, path: "/api/me/password",
                    body: json(["current_password": text(1025), "new_password": "new-password-1"]), caller: .shopper, field: "current_password"),
                OverLimit(
                    name: "new password (1024)", method: .POST, path: "/api/me/password",
                    body: json(["current_password": "password123", "new_password": text(1025)]), caller: .shopper, field: "new_password"),
                OverLimit(name: "account list cursor (2048)", method: .GET, path: "/admin/users?cursor=\(text(2049))", caller: .admin, field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "account id", method: .GET, path: "/admin/users/\(text(300))", caller: .admin, field: "id", code: ErrorCode.invalidID),
            ]
        case .catalog:
            return [
                OverLimit(name: "search q (200)", method: .GET, path: "/api/products?q=\(text(201))", field: "q", code: ErrorCode.invalidQuery),
                OverLimit(name: "catalog cursor (2048)", method: .GET, path: "/api/products?cursor=\(text(2049))", field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "admin catalog cursor (2048)", method: .GET, path: "/admin/products?cursor=\(text(2049))", caller: .admin, field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "product id", method: .GET, path: "/api/products/\(text(300))", field: "id", code: ErrorCode.invalidID),
                OverLimit(name: "product name (200)", method: .POST, path: "/admin/products", body: json(["name": text(201), "price_cents": 100]), caller: .admin, field: "name"),
                OverLimit(
                    name: "product description (5000)", method: .POST, path: "/admin/products",
                    body: json(["name": "Limits", "description": text(5001), "price_cents": 100]), caller: .admin, field: "description"),
                OverLimit(name: "product sku (64)", method: .POST, path: "/admin/products", body: json(["sku": text(65), "name": "Limits", "price_cents": 100]), caller: .admin, field: "sku"),
                OverLimit(name: "product name in an update (200)", method: .PATCH, path: "/admin/products/{product}", body: json(["name": text(201)]), caller: .admin, field: "name"),
                OverLimit(name: "stock adjustment reason (200)", method: .POST, path: "/admin/products/{product}/stock", body: json(["delta": 1, "reason": text(201)]), caller: .admin, field: "reason"),
                OverLimit(
                    name: "imported product name (200)", method: .POST, path: "/admin/products/import",
                    body: json(["products": [["sku": "limits-1", "name": text(201), "price_cents": 100]]]), caller: .admin, field: "products.0.name"),
                OverLimit(name: "parked products events cursor (2048)", method: .GET, path: "/admin/events/products?cursor=\(text(2049))", caller: .admin, field: "cursor", code: ErrorCode.invalidQuery),
            ]
        case .ordersAndHeaders:
            return [
                OverLimit(
                    name: "Idempotency-Key (255)", method: .POST, path: "/api/orders", headers: [("Idempotency-Key", text(256))], caller: .shopper,
                    field: "Idempotency-Key", code: "invalid_idempotency_key"),
                OverLimit(name: "order list cursor (2048)", method: .GET, path: "/api/orders?cursor=\(text(2049))", caller: .shopper, field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "order status filter", method: .GET, path: "/api/orders?status=\(text(300))", caller: .shopper, field: "status", code: ErrorCode.invalidQuery),
                OverLimit(name: "admin order list cursor (2048)", method: .GET, path: "/admin/orders?cursor=\(text(2049))", caller: .admin, field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "order id", method: .GET, path: "/api/orders/\(text(300))", caller: .shopper, field: "id", code: ErrorCode.invalidID),
                OverLimit(name: "cart line id", method: .DELETE, path: "/api/cart/items/\(text(300))", caller: .shopper, field: "id", code: ErrorCode.invalidID),
                OverLimit(name: "parked cart events cursor (2048)", method: .GET, path: "/admin/events/cart?cursor=\(text(2049))", caller: .admin, field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "parked orders events cursor (2048)", method: .GET, path: "/admin/events/orders?cursor=\(text(2049))", caller: .admin, field: "cursor", code: ErrorCode.invalidQuery),
                OverLimit(name: "X-Request-ID (128)", method: .GET, path: "/api/products", headers: [("X-Request-ID", text(129))], field: "X-Request-ID", code: ErrorCode.invalidHeader),
                OverLimit(name: "X-Request-ID on a gateway route (128)", method: .GET, path: "/health", headers: [("X-Request-ID", text(129))], field: "X-Request-ID", code: ErrorCode.invalidHeader),
            ]
        }
    }
}

@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct InputLimitsTests {
    @Test("every text input one character over its maximum is 400 naming the field", arguments: LimitGroup.allCases)
    func overTheLimit(group: LimitGroup) async throws {
        try await Store.with { store in
            let shopper = try await store.shopper()
            let product = try await store.createProduct(stock: 5)
            for limit in group.cases {
                let token: String? =
                    switch limit.caller {
                    case .anonymous: nil
                    case .shopper: shopper.token
                    case .admin: store.admin.token
                    }
                let path = limit.path.replacingOccurrences(of: "{product}", with: product.id.lowercased)
                let reply = try await HTTP.send(limit.method, store.gateway + path, raw: limit.body, token: token, headers: limit.headers)
                #expect(reply.status == .badRequest, "\(limit.name): \(reply.status.code) \(reply.text)")
                let error = try? reply.decode(APIErrorBody.self).error
                #expect(error?.field == limit.field, "\(limit.name): \(reply.text)")
                #expect(error?.code == limit.code, "\(limit.name): \(reply.text)")
            }
            // Nothing over a limit was stored: the shopper's session still works, the product is as made.
            #expect(try await HTTP.send(.GET, store.gateway + "/api/me", token: shopper.token).status == .ok)
            #expect(try await store.product(product.id).name == product.name)
        }
    }
}
