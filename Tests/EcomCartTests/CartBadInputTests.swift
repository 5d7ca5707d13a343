import EcomAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct CartBadInputTests {
    /// A request against a cart holding two kettles. In `path` and `body`, `{line}` stands for
    /// that line's id, `{kettle}`, `{lamp}` (archived) and `{unknown}` for product ids.
    struct Case: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var body: String?
        var status: HTTPResponse.Status
        var code: String

        var testDescription: String { "\(method) \(path) \(body ?? "") → \(status.code) \(code)" }
    }

    static let cases: [Case] = [
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":0}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":-1}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":1001}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":"2"}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}"}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":1,"user_id":"{unknown}"}"#, status: .badRequest, code: ErrorCode.unknownField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"kettle","quantity":1}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"#, status: .badRequest, code: ErrorCode.invalidBody),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{unknown}","quantity":1}"#, status: .notFound, code: "product_not_found"),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{lamp}","quantity":1}"#, status: .notFound, code: "product_not_found"),
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":999}"#, status: .conflict, code: "quantity_limit"),
        Case(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":0}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":-1}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":1001}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .patch, path: "/api/cart/items/{line}", body: #"{}"#, status: .badRequest, code: ErrorCode.invalidField),
        Case(method: .patch, path: "/api/cart/items/{line}", body: #"{"quantity":3,"product_id":"{kettle}"}"#, status: .badRequest, code: ErrorCode.unknownField),
        Case(method: .patch, path: "/api/cart/items/not-a-uuid", body: #"{"quantity":1}"#, status: .badRequest, code: ErrorCode.invalidID),
        Case(method: .delete, path: "/api/cart/items/not-a-uuid", status: .badRequest, code: ErrorCode.invalidID),
        Case(method: .patch, path: "/api/cart/items/{unknown}", body: #"{"quantity":1}"#, status: .notFound, code: ErrorCode.notFound),
        Case(method: .delete, path: "/api/cart/items/{unknown}", status: .notFound, code: ErrorCode.notFound),
    ]

    @Test("bad input is refused with its status and code, and the cart stays as it was", arguments: cases)
    func refused(_ example: Case) async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            let before = try await harness.add(Fixture.kettle, quantity: 2, for: user)
            func filled(_ text: String) -> String {
                text.replacingOccurrences(of: "{line}", with: before.items[0].id.lowercased)
                    .replacingOccurrences(of: "{kettle}", with: Fixture.kettle.id.lowercased)
                    .replacingOccurrences(of: "{lamp}", with: Fixture.lamp.id.lowercased)
                    .replacingOccurrences(of: "{unknown}", with: UUID().lowercased)
            }
            let response = try await harness.send(
                example.method, filled(example.path), as: .user(user), json: example.body.map(filled))
            #expect(response.status == example.status)
            #expect(try harness.errorCode(response) == example.code)
            #expect(try await harness.cart(of: user) == before)
        }
    }
}
