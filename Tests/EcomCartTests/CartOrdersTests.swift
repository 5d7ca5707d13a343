import EcomAPI
import EcomPostgres
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import EcomCart
@testable import EcomMessaging

@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct CartOrdersTests {
    @Test("the orders service reads the cart it checks out, with product ids, quantities and version")
    func internalRead() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            let mine = try await harness.add(Fixture.kettle, quantity: 3, for: user)
            let response = try await harness.send(.get, "/internal/carts/\(user.lowercased)", as: .service)
            #expect(response.status == .ok)
            #expect(try harness.decode(Cart.self, response) == mine)
        }
    }

    @Test("an applied order leaves the cart once; units and lines added after checkout stay")
    func appliedOnce() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 3, for: user)
            try await harness.add(Fixture.mug, quantity: 1, for: user)
            // Checkout happens here; then the user goes on shopping before the removal arrives.
            try await harness.add(Fixture.kettle, quantity: 2, for: user)
            let before = try await harness.add(Fixture.teapot, quantity: 1, for: user)

            let order = Self.body(UUID(), [(Fixture.kettle, 3), (Fixture.mug, 1)])
            let path = "/internal/carts/\(user.lowercased)/orders"
            #expect(try await harness.send(.post, path, as: .service, json: order).status == .noContent)
            let after = try await harness.cart(of: user)
            #expect(after.items.map(\.productID) == [Fixture.kettle.id, Fixture.teapot.id])
            #expect(after.items.map(\.quantity) == [2, 1])
            #expect(after.version > before.version)

            #expect(try await harness.send(.post, path, as: .service, json: order).status == .noContent)
            #expect(try await harness.cart(of: user) == after)
        }
    }

    @Test("whichever of the order.created event and the direct call comes second changes nothing")
    func eventAndCall() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 4, for: user)
            let path = "/internal/carts/\(user.lowercased)/orders"

            // The event first, as when the cart was down while the orders service called it.
            let first = UUID()
            try await Self.deliver(OrderCreated(orderID: first, userID: user, cartVersion: 1, lines: [.init(productID: Fixture.kettle.id, quantity: 1)]), to: harness)
            let afterEvent = try await harness.cart(of: user)
            #expect(afterEvent.items.map(\.quantity) == [3])
            let late = try await harness.send(.post, path, as: .service, json: Self.body(first, [(Fixture.kettle, 1)]))
            #expect(late.status == .noContent)
            #expect(try await harness.cart(of: user) == afterEvent)

            // The call first, as usual.
            let second = UUID()
            try await harness.send(.post, path, as: .service, json: Self.body(second, [(Fixture.kettle, 3)]))
            let afterCall = try await harness.cart(of: user)
            #expect(afterCall.items.isEmpty)
            try await Self.deliver(OrderCreated(orderID: second, userID: user, cartVersion: 2, lines: [.init(productID: Fixture.kettle.id, quantity: 3)]), to: harness)
            #expect(try await harness.cart(of: user) == afterCall)
        }
    }

    @Test("an order's lines with quantities below 1 are refused")
    func badOrder() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            let before = try await harness.add(Fixture.kettle, quantity: 2, for: user)
            let response = try await harness.send(
                .post, "/internal/carts/\(user.lowercased)/orders", as: .service,
                json: Self.body(UUID(), [(Fixture.kettle, -5)]))
            #expect(response.status == .badRequest)
            #expect(try harness.decode(APIErrorBody.self, response).error.field == "lines.0.quantity")
            #expect(try await harness.cart(of: user) == before)
        }
    }

    static func body(_ orderID: UUID, _ lines: [(Product, Int)]) -> String {
        let lines = lines.map { #"{"product_id":"\#($0.0.id.lowercased)","quantity":\#($0.1)}"# }
        return #"{"order_id":"\#(orderID.lowercased)","lines":[\#(lines.joined(separator: ","))]}"#
    }

    /// Hands the event to the cart's handler in a transaction, as the inbox worker does.
    static func deliver(_ order: OrderCreated, to harness: CartHarness) async throws {
        let body = try JSONEncoder.ecom.encode(Event(type: EventType.orderCreated, requestID: nil, data: order))
        let delivery = Delivery(
            header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: EventType.orderCreated, body: body)
        try await harness.pool.transaction { connection in try orderCreatedHandler(delivery, connection) }
    }
}
