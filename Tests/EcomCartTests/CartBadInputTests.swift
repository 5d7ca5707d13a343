import EcomAPI
import EcomTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct CartBadInputTests {
    /// A request against a cart holding two kettles. In `path` and `body`, `{line}` stands for
    /// that line's id, `{kettle}`, `{lamp}` (archived) and `{unknown}` for product ids.
    typealias Case = RefusedRequest

    /// The refusals the repository makes, in the transaction of the edit; what the routes refuse
    /// themselves is in `CartRouteLogicTests`.
    static let cases: [Case] = [
        Case(method: .post, path: "/api/cart/items", body: #"{"product_id":"{kettle}","quantity":999}"#, status: .conflict, code: "quantity_limit"),
        Case(method: .patch, path: "/api/cart/items/{unknown}", body: #"{"quantity":1}"#, status: .notFound, code: ErrorCode.notFound),
        Case(method: .delete, path: "/api/cart/items/{unknown}", status: .notFound, code: ErrorCode.notFound),
    ]

    @Test("bad input is refused with its status and code, and the cart stays as it was", arguments: cases)
    func refused(_ example: Case) async throws {
        try await CartHarness.run { harness in try await Self.expectRefused(example, by: harness) }
    }

    /// Sends `example` for a user whose cart holds two kettles, and expects its status and code,
    /// and the cart as it was.
    static func expectRefused(_ example: Case, by harness: CartHarness) async throws {
        let user = UUID()
        let before = try await harness.add(Fixture.kettle, quantity: 2, for: user)
        func filled(_ text: String) -> String {
            text.replacingOccurrences(of: "{line}", with: before.items[0].id.lowercased)
                .replacingOccurrences(of: "{kettle}", with: Fixture.kettle.id.lowercased)
                .replacingOccurrences(of: "{lamp}", with: Fixture.lamp.id.lowercased)
                .replacingOccurrences(of: "{unknown}", with: UUID().lowercased)
        }
        let response = try await harness.send(example.method, filled(example.path), as: .user(user), json: example.body.map(filled))
        #expect(response.status == example.status)
        #expect(try harness.errorCode(response) == example.code)
        #expect(try await harness.cart(of: user) == before)
    }
}
