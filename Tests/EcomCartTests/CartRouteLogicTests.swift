import EcomAPI
import EcomTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import EcomCart

/// The cart routes' own logic (validation, status codes, roles, pricing, answer shapes) on an
/// in-memory repository and catalog: no database, no products service.
@Suite struct CartRouteLogicTests {
    static func run(_ body: @escaping @Sendable (CartHarness) async throws -> Void) async throws {
        try await CartHarness.run(repository: MemoryCartRepository(), body)
    }

    static let cases: [CartBadInputTests.Case] = [
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":0}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":-1}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":1001}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":"2"}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}"}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":1,"user_id":"{unknown}"}"#, status: .badRequest, code: ErrorCode.unknownField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"kettle","quantity":1}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"#, status: .badRequest, code: ErrorCode.invalidBody),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{unknown}","quantity":1}"#, status: .notFound, code: "product_not_found"),
        .init(method: .post, path: "/api/cart/items", body: #"{"product_id":"{lamp}","quantity":1}"#, status: .notFound, code: "product_not_found"),
        .init(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":0}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":-1}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":1001}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .patch, path: "/api/cart/items/{line}", body: #"{}"#, status: .badRequest, code: ErrorCode.invalidField),
        .init(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":3,"product_id":"{kettle}"}"#, status: .badRequest, code: ErrorCode.unknownField),
        .init(method: .patch, path: "/api/cart/items/not-a-uuid", body: #"{"quantity":1}"#, status: .badRequest, code: ErrorCode.invalidID),
        .init(method: .delete, path: "/api/cart/items/not-a-uuid", status: .badRequest, code: ErrorCode.invalidID),
    ]

    @Test("bad input is refused with its status and code, and the cart stays as it was", arguments: cases)
    func refused(_ example: CartBadInputTests.Case) async throws {
        try await Self.run { harness in try await CartBadInputTests.expectRefused(example, by: harness) }
    }

    @Test("a user who never had a cart gets an empty one at version 0")
    func emptyCart() async throws {
        try await Self.run { harness in
            let response = try await harness.send(.get, "/api/cart", as: .user(UUID()))
            #expect(String(buffer: response.body) == #"{"item_count":0,"items":[],"total_cents":0,"version":0}"#)
        }
    }

    @Test("a line whose product was archived stays, priced but unavailable and out of the total")
    func archivedProduct() async throws {
        try await Self.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 1, for: user)
            try await harness.add(Fixture.mug, quantity: 2, for: user)
            harness.catalog.archive(Fixture.mug.id)

            let cart = try await harness.cart(of: user)
            let mug = try #require(cart.items.first { $0.productID == Fixture.mug.id })
            #expect(!mug.available)
            #expect(mug.unitPriceCents == 899)
            #expect(mug.lineTotalCents == 1_798)
            #expect(cart.totalCents == 2_499)
            #expect(cart.itemCount == 3)
        }
    }

    @Test("account routes need an account token, internal routes a service token")
    func authorization() async throws {
        try await Self.run { harness in
            let user = UUID()
            let cases: [(HTTPRequest.Method, String, Caller, HTTPResponse.Status)] = [
                (.get, "/api/cart", .anonymous, .unauthorized),
                (.get, "/api/cart", .service, .forbidden),
                (.delete, "/api/cart", .service, .forbidden),
                (.get, "/internal/carts/\(user.lowercased)", .anonymous, .unauthorized),
                (.get, "/internal/carts/\(user.lowercased)", .user(user), .forbidden),
                (.post, "/internal/carts/\(user.lowercased)/orders", .user(user), .forbidden),
            ]
            for (method, path, caller, status) in cases {
                let response = try await harness.send(method, path, as: caller)
                #expect(response.status == status, "\(method) \(path) as \(caller)")
            }
            let malformed = try await harness.send(.get, "/internal/carts/not-a-uuid", as: .service)
            #expect(malformed.status == .badRequest)
            #expect(try harness.errorCode(malformed) == ErrorCode.invalidID)
        }
    }

    @Test("the orders service reads the cart it checks out, with product ids, quantities and version")
    func internalRead() async throws {
        try await Self.run { harness in
            let user = UUID()
            let mine = try await harness.add(Fixture.kettle, quantity: 3, for: user)
            let response = try await harness.send(.get, "/internal/carts/\(user.lowercased)", as: .service)
            #expect(response.status == .ok)
            #expect(try harness.decode(Cart.self, response) == mine)
            // The priced answer, as earlier releases give it, reads as the contents a checkout takes.
            let contents = CartContents(
                items: mine.items.map { CartContents.Line(id: $0.id, productID: $0.productID, quantity: $0.quantity) }, version: mine.version)
            #expect(try harness.decode(CartContents.self, response) == contents)
        }
    }

    @Test("a checkout's read of the cart, unpriced, names each line's product and quantity and the version, and asks the catalog nothing")
    func internalContents() async throws {
        try await Self.run { harness in
            let user = UUID()
            _ = try await harness.add(Fixture.kettle, quantity: 3, for: user)
            let mine = try await harness.add(Fixture.mug, quantity: 1, for: user)
            let asked = harness.catalog.lookups.load(ordering: .relaxed)
            let response = try await harness.send(.get, InternalPath.cartContents(user), as: .service)
            #expect(response.status == .ok)
            #expect(harness.catalog.lookups.load(ordering: .relaxed) == asked)
            let contents = try harness.decode(CartContents.self, response)
            #expect(contents.version == mine.version)
            #expect(contents.items.map(\.id) == mine.items.map(\.id))
            #expect(contents.items.map(\.productID) == [Fixture.kettle.id, Fixture.mug.id])
            #expect(contents.items.map(\.quantity) == [3, 1])
            // Nothing of the priced cart: a caller cannot take these for prices.
            let body = String(buffer: response.body)
            #expect(!body.contains("price") && !body.contains("name"), "\(body)")

            let empty = try await harness.send(.get, InternalPath.cartContents(UUID()), as: .service)
            #expect(try harness.decode(CartContents.self, empty) == CartContents(items: [], version: 0))
            let refused = try await harness.send(.get, InternalPath.cartContents(user), as: .user(user))
            #expect(refused.status == .forbidden)
        }
    }

    @Test("an order's bad body is refused, naming the field, and the cart stays as it was", arguments: [
        (#"{"order_id":"{order}","lines":[{"product_id":"{kettle}","quantity":-5}]}"#, "lines.0.quantity"),
        (#"{"order_id":"{order}","lines":[{"product_id":"{kettle}","quantity":1},{"product_id":"{kettle}","quantity":0}]}"#, "lines.1.quantity"),
        (#"{"order_id":"{order}","lines":[{"product_id":"{kettle}","quantity":1001}]}"#, "lines.0.quantity"),
        (#"{"order_id":"not-a-uuid","lines":[]}"#, "order_id"),
        (#"{"order_id":"{order}","lines":[],"user_id":"{order}"}"#, "user_id"),
    ])
    func badOrderBodies(_ body: String, field: String) async throws {
        try await Self.run { harness in
            let user = UUID()
            let before = try await harness.add(Fixture.kettle, quantity: 2, for: user)
            let json = body.replacingOccurrences(of: "{order}", with: UUID().lowercased)
                .replacingOccurrences(of: "{kettle}", with: Fixture.kettle.id.lowercased)
            let response = try await harness.send(.post, "/internal/carts/\(user.lowercased)/orders", as: .service, json: json)
            #expect(response.status == .badRequest)
            #expect(try harness.decode(APIErrorBody.self, response).error.field == field)
            #expect(try await harness.cart(of: user) == before)
        }
    }
}
