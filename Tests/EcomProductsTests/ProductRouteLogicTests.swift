import EcomAPI
import EcomServerKit
import EcomTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOFoundationCompat
import Testing

@testable import EcomProducts

/// The products routes' own logic (validation, status codes, roles, pages, answer shapes) on an
/// in-memory repository: no database needed.
@Suite struct ProductRouteLogicTests {
    static func run(_ body: @escaping @Sendable (ProductsTestApp) async throws -> Void) async throws {
        try await ProductsTestApp.run(repository: MemoryProductRepository(), body)
    }

    static let badInputs: [BadInput] = [
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "", "price_cents": 100}"#, status: .badRequest, code: "invalid_field", field: "name"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "   ", "price_cents": 100}"#, status: .badRequest, code: "invalid_field", field: "name"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "\#(String(repeating: "n", count: 201))", "price_cents": 100}"#, status: .badRequest, code: "invalid_field", field: "name"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "description": "\#(String(repeating: "d", count: 5001))", "price_cents": 100}"#, status: .badRequest, code: "invalid_field", field: "description"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 0}"#, status: .badRequest, code: "invalid_field", field: "price_cents"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": -1}"#, status: .badRequest, code: "invalid_field", field: "price_cents"),
        // Foundation reports a number that does not fit the type without its key, so the shared decoder answers invalid_body.
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 9223372036854775808}"#, status: .badRequest, code: "invalid_body"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 19.99}"#, status: .badRequest, code: "invalid_body"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": "1999"}"#, status: .badRequest, code: "invalid_field", field: "price_cents"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x"}"#, status: .badRequest, code: "invalid_field", field: "price_cents"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 100, "stock": -1}"#, status: .badRequest, code: "invalid_field", field: "stock"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 100, "stock": 1000001}"#, status: .badRequest, code: "invalid_field", field: "stock"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 100, "sku": "has space"}"#, status: .badRequest, code: "invalid_field", field: "sku"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 100, "id": "\#(UUID().uuidString)"}"#, status: .badRequest, code: "unknown_field", field: "id"),
        BadInput(method: .post, path: "/admin/products", body: "[]", status: .badRequest, code: "invalid_body"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 100}"#, caller: .user, status: .forbidden, code: "forbidden"),
        BadInput(method: .post, path: "/admin/products", body: #"{"name": "x", "price_cents": 100}"#, caller: .anonymous, status: .unauthorized, code: "unauthorized"),
        BadInput(method: .patch, path: "/admin/products/{id}", body: "{}", status: .badRequest, code: "invalid_body"),
        BadInput(method: .patch, path: "/admin/products/{id}", body: #"{"name": null}"#, status: .badRequest, code: "invalid_field", field: "name"),
        BadInput(method: .patch, path: "/admin/products/{id}", body: #"{"name": "ok", "price_cents": 0}"#, status: .badRequest, code: "invalid_field", field: "price_cents"),
        BadInput(method: .patch, path: "/admin/products/{id}", body: #"{"stock": -5}"#, status: .badRequest, code: "invalid_field", field: "stock"),
        BadInput(method: .patch, path: "/admin/products/{id}", body: #"{"role": "admin"}"#, status: .badRequest, code: "unknown_field", field: "role"),
        BadInput(method: .patch, path: "/admin/products/not-a-uuid", body: #"{"name": "x"}"#, status: .badRequest, code: "invalid_id", field: "id"),
        BadInput(method: .patch, path: "/admin/products/\(UUID().uuidString)", body: #"{"name": "x"}"#, status: .notFound, code: "not_found"),
        BadInput(method: .delete, path: "/admin/products/{id}", caller: .user, status: .forbidden, code: "forbidden"),
        BadInput(method: .post, path: "/admin/products/{id}/stock", body: #"{"delta": 0, "reason": "count"}"#, status: .badRequest, code: "invalid_field", field: "delta"),
        BadInput(method: .post, path: "/admin/products/{id}/stock", body: #"{"delta": 5, "reason": ""}"#, status: .badRequest, code: "invalid_field", field: "reason"),
        BadInput(method: .post, path: "/admin/products/{id}/stock", body: #"{"delta": 5}"#, status: .badRequest, code: "invalid_field", field: "reason"),
        BadInput(method: .post, path: "/admin/products/import", body: #"{"products": [{"sku": "NEW-1", "name": "ok", "price_cents": 1}, {"name": "no sku", "price_cents": 1}]}"#, status: .badRequest, code: "invalid_field", field: "products.1.sku"),
        BadInput(method: .post, path: "/admin/products/import", body: #"{"products": [{"sku": "NEW-1", "name": "ok", "price_cents": 1}, {"sku": "NEW-2", "name": "ok", "price_cents": 0}]}"#, status: .badRequest, code: "invalid_field", field: "products.1.price_cents"),
        BadInput(method: .post, path: "/admin/products/import", body: #"{"products": [{"sku": "KEEP-1", "name": "renamed", "price_cents": 1}, {"sku": "KEEP-1", "name": "twice", "price_cents": 1}]}"#, status: .badRequest, code: "invalid_field", field: "products.1.sku"),
        BadInput(method: .post, path: "/admin/products/import", body: #"{"products": [{"sku": "NEW-1", "name": "ok", "price_cents": 1, "colour": "red"}]}"#, status: .badRequest, code: "unknown_field", field: "products.0.colour"),
        BadInput(method: .get, path: "/api/products?limit=0", status: .badRequest, code: "invalid_query", field: "limit"),
        BadInput(method: .get, path: "/api/products?cursor=not-a-cursor", status: .badRequest, code: "invalid_query", field: "cursor"),
        BadInput(method: .get, path: "/api/products?q=\(String(repeating: "q", count: 201))", status: .badRequest, code: "invalid_query", field: "q"),
        BadInput(method: .get, path: "/api/products?id_prefix=4c1g", status: .badRequest, code: "invalid_query", field: "id_prefix"),
        BadInput(method: .get, path: "/api/products?id_prefix=4c1b-ef23", status: .badRequest, code: "invalid_query", field: "id_prefix"),
        BadInput(method: .get, path: "/api/products?id_prefix=", status: .badRequest, code: "invalid_query", field: "id_prefix"),
        BadInput(method: .get, path: "/admin/products?id_prefix=\(String(repeating: "a", count: 33))", status: .badRequest, code: "invalid_query", field: "id_prefix"),
        BadInput(method: .get, path: "/api/products?sku=\(String(repeating: "S", count: 65))", status: .badRequest, code: "invalid_query", field: "sku"),
        BadInput(method: .get, path: "/admin/products?sku=BOOK%2F8", status: .badRequest, code: "invalid_query", field: "sku"),
        BadInput(method: .get, path: "/api/products/not-a-uuid", status: .badRequest, code: "invalid_id", field: "id"),
        BadInput(method: .get, path: "/admin/products", caller: .user, status: .forbidden, code: "forbidden"),
        BadInput(method: .post, path: "/internal/products/lookup", body: #"{"ids": []}"#, caller: .admin, status: .forbidden, code: "forbidden"),
        BadInput(method: .post, path: "/internal/products/lookup", body: #"{"ids": [\#(Array(repeating: "\"\(UUID().uuidString)\"", count: 501).joined(separator: ","))]}"#, caller: .service, status: .badRequest, code: "invalid_field", field: "ids"),
        BadInput(method: .post, path: "/internal/products/lookup", body: #"{"ids": ["nope"]}"#, caller: .service, status: .badRequest, code: "invalid_field", field: "ids.0"),
        BadInput(method: .get, path: "/api/products/\(UUID().lowercased)", caller: .anonymous, status: .notFound, code: "not_found"),
        BadInput(method: .get, path: "/admin/products/\(UUID().lowercased)", status: .notFound, code: "not_found"),
        BadInput(method: .get, path: "/admin/products/not-a-uuid", status: .badRequest, code: "invalid_id", field: "id"),
        BadInput(method: .delete, path: "/admin/products/\(UUID().lowercased)", status: .notFound, code: "not_found"),
        BadInput(method: .post, path: "/admin/products/\(UUID().lowercased)/stock", body: #"{"delta": 5, "reason": "delivery"}"#, status: .notFound, code: "not_found"),
        BadInput(method: .get, path: "/admin/products", caller: .service, status: .forbidden, code: "forbidden"),
        BadInput(method: .get, path: "/admin/products", caller: .anonymous, status: .unauthorized, code: "unauthorized"),
        BadInput(method: .post, path: "/admin/products/import", body: #"{"products": []}"#, caller: .user, status: .forbidden, code: "forbidden"),
        BadInput(method: .post, path: "/admin/products/{id}/stock", body: #"{"delta": 1, "reason": "found one"}"#, caller: .user, status: .forbidden, code: "forbidden"),
        BadInput(method: .post, path: "/internal/products/lookup", body: #"{"ids": []}"#, caller: .anonymous, status: .unauthorized, code: "unauthorized"),
        BadInput(method: .post, path: "/internal/products/lookup", body: #"{"ids": []}"#, caller: .user, status: .forbidden, code: "forbidden"),
        BadInput(method: .get, path: "/admin/products?limit=ten", status: .badRequest, code: "invalid_query", field: "limit"),
        BadInput(method: .get, path: "/api/products?cursor=\(Cursor.encode(["only one part"]))", status: .badRequest, code: "invalid_query", field: "cursor"),
        BadInput(method: .get, path: "/api/products?cursor=\(Cursor.encode(["Kept", "not-a-uuid"]))", status: .badRequest, code: "invalid_query", field: "cursor"),
    ]

    @Test("bad input and the wrong caller get their status and stable code, and change nothing", arguments: badInputs)
    func badInput(_ example: BadInput) async throws {
        try await Self.run { app in try await app.expectRefused(example) }
    }

    @Test("shoppers see active products without the counts behind their stock; admins see the counts and archived ones")
    func views() async throws {
        try await Self.run { app in
            let created = try await app.send(
                .post, "/admin/products", token: app.adminToken, json: #"{"sku": "LAMP-1", "name": " Lamp ", "price_cents": 2499, "stock": 4}"#)
            #expect(created.status == .created)
            let admin = try JSONDecoder.ecom.decode(Product.self, from: Data(buffer: created.body))
            #expect(admin.name == "Lamp" && admin.onHand == 4 && admin.held == 0 && admin.archived == false)

            let shown = try await app.send(.get, "/api/products/\(admin.id.lowercased)")
            let keys = try #require(try JSONSerialization.jsonObject(with: Data(buffer: shown.body)) as? [String: Any]).keys
            #expect(Set(keys) == ["id", "sku", "name", "description", "price_cents", "stock", "is_active", "created_at", "updated_at"])

            let hidden = try await app.createProduct(sku: "HIDDEN-1", name: "Hidden", isActive: false)
            #expect(try await app.send(.get, "/api/products/\(hidden.id.lowercased)").status == .notFound)
            #expect(try await app.send(.delete, "/admin/products/\(admin.id.lowercased)", token: app.adminToken).status == .noContent)
            #expect(try await app.send(.get, "/api/products/\(admin.id.lowercased)").status == .notFound)
            #expect(try await app.walk("/api/products?limit=10").isEmpty)
            let all = try await app.walk("/admin/products?limit=10", token: app.adminToken)
            #expect(all.map(\.sku) == ["HIDDEN-1", "LAMP-1"])
            #expect(all.map(\.archived) == [false, true] && all.allSatisfy { !$0.isActive })
        }
    }

    @Test("a page holds 20 products unless limit says otherwise, never more than 100, and next_cursor is null on the last")
    func pageLimits() async throws {
        try await Self.run { app in
            let catalog = (0..<105).map { entry("BULK-\($0)", "Item \($0)") }
            #expect(try await app.importCatalog(catalog) == ImportResult(created: 105, updated: 0, unchanged: 0))
            for (query, count) in [("", 20), ("?limit=7", 7), ("?limit=1000", 100), ("?limit=+0100", 100)] {
                let page: Page<Product> = try await app.call(.get, "/api/products" + query)
                #expect(page.items.count == count, "\(query)")
                #expect(page.nextCursor != nil)
            }
            // Past every "Item 94": names sort by code point, so only "Item 95" to "Item 99" follow.
            let last = try await app.send(.get, "/api/products?limit=100&cursor=\(Cursor.encode(["Item 94", "ffffffff-ffff-ffff-ffff-ffffffffffff"]))")
            let keys = try #require(try JSONSerialization.jsonObject(with: Data(buffer: last.body)) as? [String: Any])
            #expect(keys["next_cursor"] is NSNull)
            #expect((keys["items"] as? [Any])?.count == 5)
        }
    }

    @Test("the lookup answers each known id once, archived and inactive products included, and leaves unknown ids out")
    func lookup() async throws {
        try await Self.run { app in
            let shown = try await app.createProduct(sku: "SHOWN-1", name: "Shown")
            let hidden = try await app.createProduct(sku: "HIDDEN-1", name: "Hidden", isActive: false)
            let ids = [shown.id, hidden.id, shown.id, UUID()].map { "\"\($0.lowercased)\"" }.joined(separator: ",")
            let found: [Product] = try await app.call(.post, "/internal/products/lookup", token: app.serviceToken, json: #"{"ids": [\#(ids)]}"#)
            #expect(Set(found.map(\.id)) == [shown.id, hidden.id])
            #expect(found.count == 2)
            #expect(found.allSatisfy { $0.onHand == nil && $0.held == nil })
        }
    }
}
