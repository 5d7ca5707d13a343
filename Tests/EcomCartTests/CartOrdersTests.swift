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

    @Test("order.created after this process's direct call costs no statement; any other order.created writes")
    func appliedHereSkipsTheDatabase() async throws {
        try await CartHarness.run { harness in
            let repository = try #require(harness.repository as? PostgresCartRepository)
            let handler = makeOrderEventsHandler(appliedHere: repository.appliedHere)
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 2, for: user)
            let called = UUID()
            let lines = [OrderedQuantity(productID: Fixture.kettle.id, quantity: 1)]
            #expect(try await repository.applyOrder(CartOrderApplied(orderID: called, lines: lines), for: user))

            // A read-only transaction refuses any write: the handler must not need one.
            func deliverReadOnly(_ orderID: UUID) async throws {
                let body = try JSONEncoder.ecom.encode(
                    Event(type: EventType.orderCreated, requestID: nil, data: OrderCreated(orderID: orderID, userID: user, cartVersion: 1, lines: lines)))
                let delivery = Delivery(
                    header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: EventType.orderCreated, body: body)
                try await harness.pool.transaction { connection in
                    try connection.execute("SET TRANSACTION READ ONLY")
                    try handler(delivery, connection)
                }
            }
            try await deliverReadOnly(called)
            await #expect(throws: SQLError.self) { try await deliverReadOnly(UUID()) }
            #expect(try await harness.cart(of: user).items.map(\.quantity) == [1])
        }
    }

    @Test("a rejected order's lines come back once, as max(current, ordered), without archived products")
    func rejectedOrderRestored() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 3, for: user)
            try await harness.add(Fixture.mug, quantity: 2, for: user)
            try await harness.add(Fixture.teapot, quantity: 1, for: user)
            let orderID = UUID()
            let ordered = [(Fixture.kettle, 3), (Fixture.mug, 2), (Fixture.teapot, 1)]
            let path = "/internal/carts/\(user.lowercased)/orders"
            #expect(try await harness.send(.post, path, as: .service, json: Self.body(orderID, ordered)).status == .noContent)
            #expect(try await harness.cart(of: user).items.isEmpty)

            // Between checkout and rejection the user adds more of one product and less of another,
            // and the teapot is archived.
            try await harness.add(Fixture.kettle, quantity: 5, for: user)
            try await harness.add(Fixture.mug, quantity: 1, for: user)
            harness.catalog.archive(Fixture.teapot.id)

            let rejected = Self.rejection(orderID, user: user, ordered)
            try await Self.deliver(rejected, to: harness)
            #expect(try await harness.restorer.restorePending() == 1)
            let restored = try await harness.cart(of: user)
            #expect(restored.items.map(\.productID) == [Fixture.kettle.id, Fixture.mug.id])
            #expect(restored.items.map(\.quantity) == [5, 2])

            // A duplicate rejection, a late order.created and a repeated direct call change nothing.
            try await Self.deliver(rejected, to: harness)
            #expect(try await harness.restorer.restorePending() == 0)
            try await Self.deliver(
                OrderCreated(orderID: orderID, userID: user, cartVersion: 1, lines: ordered.map { .init(productID: $0.0.id, quantity: $0.1) }),
                to: harness)
            #expect(try await harness.send(.post, path, as: .service, json: Self.body(orderID, ordered)).status == .noContent)
            #expect(try await harness.cart(of: user) == restored)
        }
    }

    @Test("a rejection that arrives before the removal keeps the lines, and order.created then removes nothing")
    func rejectedBeforeRemoved() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 2, for: user)
            let orderID = UUID()
            try await Self.deliver(Self.rejection(orderID, user: user, [(Fixture.kettle, 2)]), to: harness)
            try await Self.deliver(
                OrderCreated(orderID: orderID, userID: user, cartVersion: 1, lines: [.init(productID: Fixture.kettle.id, quantity: 2)]),
                to: harness)
            #expect(try await harness.restorer.restorePending() == 1)
            #expect(try await harness.cart(of: user).items.map(\.quantity) == [2])
        }
    }

    static func rejection(_ orderID: UUID, user: UUID, _ lines: [(Product, Int)]) -> OrderRejected {
        OrderRejected(
            orderID: orderID, userID: user, reason: "insufficient_stock",
            lines: [RejectedLine(productID: lines[0].0.id, requested: lines[0].1, available: 0)],
            ordered: lines.map { OrderedQuantity(productID: $0.0.id, quantity: $0.1) })
    }

    static func body(_ orderID: UUID, _ lines: [(Product, Int)]) -> String {
        let lines = lines.map { #"{"product_id":"\#($0.0.id.lowercased)","quantity":\#($0.1)}"# }
        return #"{"order_id":"\#(orderID.lowercased)","lines":[\#(lines.joined(separator: ","))]}"#
    }

    /// Hands the event to the cart's handler in a transaction, as the inbox worker does.
    static func deliver(_ order: OrderCreated, to harness: CartHarness) async throws {
        try await deliver(order, as: EventType.orderCreated, to: harness)
    }

    static func deliver(_ order: OrderRejected, to harness: CartHarness) async throws {
        try await deliver(order, as: EventType.orderRejected, to: harness)
    }

    private static func deliver(_ payload: some Codable & Sendable, as type: String, to harness: CartHarness) async throws {
        let body = try JSONEncoder.ecom.encode(Event(type: type, requestID: nil, data: payload))
        let delivery = Delivery(
            header: try JSONDecoder.ecom.decode(EventHeader.self, from: body), routingKey: type, body: body)
        try await harness.pool.transaction { connection in try makeOrderEventsHandler(appliedHere: AppliedOrders())(delivery, connection) }
    }
}
