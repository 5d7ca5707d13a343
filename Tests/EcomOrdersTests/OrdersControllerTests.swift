import EcomAPI
import EcomServerKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Testing

@testable import EcomOrders

@Suite struct OrdersControllerTests {
    static let kettle = Catalog.product("Kettle", cents: 2_499)
    static let mug = Catalog.product("Mug", cents: 899)

    @Test("checkout makes a pending order at the catalog's current prices and takes its lines out of the cart")
    func checkout() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.kettle)
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.kettle, quantity: 2, into: user)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            var repriced = Self.kettle
            repriced.priceCents = 2_999
            harness.upstreams.stock(repriced)

            let response = try await harness.send(.post, "/api/orders", as: user)
            #expect(response.status == .created, "\(String(buffer: response.body))")
            let order = try harness.order(response)
            #expect(order.status == .pending && order.userID == user)
            #expect(order.items.map(\.unitPriceCents) == [2_999, 899] && order.totalCents == 2 * 2_999 + 899)
            #expect(harness.upstreams.applied(to: user).map(\.orderID) == [order.id])
            #expect(harness.repository.announced == [Announcement(type: EventType.orderCreated, orderID: order.id)])
            #expect(harness.wakes.value == 1)
        }
    }

    @Test("an empty cart, or a product no longer for sale, makes no order")
    func refusedCheckouts() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            let empty = try await harness.send(.post, "/api/orders", as: user)
            #expect(empty.status == .conflict)
            #expect(try harness.errorCode(empty) == "cart_empty")

            let lamp = Catalog.product("Lamp", cents: 4_999, active: false)
            harness.upstreams.stock(lamp)
            let line = try #require(harness.upstreams.put(lamp, quantity: 1, into: user).items.first)
            let archived = try await harness.send(.post, "/api/orders", as: user)
            #expect(archived.status == .conflict)
            #expect(try harness.errorCode(archived) == "product_unavailable")
            let refusal = try JSONDecoder.ecom.decode(APIErrorBody.self, from: Data(buffer: archived.body)).error
            #expect(refusal.field == line.id.lowercased)
            // Named by the catalog, which prices the order, not by the cart.
            #expect(refusal.message == "Lamp is no longer available; remove it from your cart")
            #expect(harness.repository.announced.isEmpty && harness.upstreams.applied(to: user).isEmpty)
        }
    }

    @Test("checking out an unchanged cart again answers 200 with the order it made")
    func unchangedCartAgain() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            let first = try await harness.send(.post, "/api/orders", as: user)
            let second = try await harness.send(.post, "/api/orders", as: user)
            #expect(first.status == .created && second.status == .ok)
            #expect(try harness.order(first).id == harness.order(second).id)
            #expect(harness.repository.announced.count == 1)
        }
    }

    @Test("a repeated Idempotency-Key answers the first order and status, marked as a replay, whatever the cart holds now")
    func idempotentReplay() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            let first = try await harness.send(.post, "/api/orders", as: user, key: "checkout-1")
            harness.upstreams.put(Self.mug, quantity: 3, into: user)
            let replay = try await harness.send(.post, "/api/orders", as: user, key: "checkout-1")
            #expect(first.status == .created && replay.status == .created)
            #expect(first.headers[.idempotentReplayed] == nil && replay.headers[.idempotentReplayed] == "true")
            #expect(try harness.order(replay) == harness.order(first))
            #expect(harness.repository.announced.count == 1)
        }
    }

    @Test("a retry whose first request emptied the cart answers with the order that request made")
    func replayAfterTheCartEmptied() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 2, into: user)
            let first = try await harness.send(.post, "/api/orders", as: user, key: "lost-answer")
            harness.upstreams.empty(user)
            let retry = try await harness.send(.post, "/api/orders", as: user, key: "lost-answer")
            #expect(retry.status == .created && retry.headers[.idempotentReplayed] == "true")
            #expect(try harness.order(retry) == harness.order(first))
            // A key that made nothing gets the empty cart's answer.
            let fresh = try await harness.send(.post, "/api/orders", as: user, key: "another")
            #expect(fresh.status == .conflict)
            #expect(try harness.errorCode(fresh) == "cart_empty")
        }
    }

    @Test("a failed checkout whose key cannot be read answers 503, not the checkout's own 409: the key may have made an order")
    func keyUnreadableAfterFailure() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.repository.failKeyLookups()
            let reply = try await harness.send(.post, "/api/orders", as: user, key: "lost-answer")
            #expect(reply.status == .serviceUnavailable)
            // Without a key there is nothing to look up: the empty cart answers.
            let keyless = try await harness.send(.post, "/api/orders", as: user)
            #expect(try harness.errorCode(keyless) == "cart_empty")
        }
    }

    @Test("one Idempotency-Key sent many times at once makes one order, and every answer is that order")
    func concurrentRepeats() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            let replies = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 1...6 {
                    group.addTask { try await harness.send(.post, "/api/orders", as: user, key: "double-click") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == .created })
            #expect(Set(try replies.map { try harness.order($0).id }).count == 1)
            #expect(replies.filter { $0.headers[.idempotentReplayed] == nil }.count == 1)
            #expect(harness.repository.announced.count == 1)
        }
    }

    @Test("a key an earlier release left in progress is refused until it is two minutes old; another user's same key makes their own order")
    func keyLeftInProgressAndOtherUser() async throws {
        try await ControllerHarness.run { harness in
            let (alice, bob) = (UUID(), UUID())
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: alice)
            harness.upstreams.put(Self.mug, quantity: 2, into: bob)
            harness.repository.leaveInProgress(key: "same", of: alice)
            let running = try await harness.send(.post, "/api/orders", as: alice, key: "same")
            #expect(running.status == .conflict)
            #expect(try harness.errorCode(running) == "idempotency_in_progress")

            let bobs = try await harness.send(.post, "/api/orders", as: bob, key: "same")
            #expect(bobs.status == .created)
            #expect(try harness.order(bobs).userID == bob)

            harness.repository.age(key: "same", of: alice, by: 121)
            let taken = try await harness.send(.post, "/api/orders", as: alice, key: "same")
            #expect(taken.status == .created && taken.headers[.idempotentReplayed] == nil)
            #expect(try harness.order(taken).userID == alice)
        }
    }

    @Test("a checkout that fails leaves its Idempotency-Key unused, so a retry with it goes through")
    func failedCheckoutLeavesKeyUnused() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            let empty = try await harness.send(.post, "/api/orders", as: user, key: "retry-me")
            #expect(empty.status == .conflict)
            #expect(try harness.errorCode(empty) == "cart_empty")
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            let retried = try await harness.send(.post, "/api/orders", as: user, key: "retry-me")
            #expect(retried.status == .created && retried.headers[.idempotentReplayed] == nil)
        }
    }

    @Test("a user cancels their order once; a second cancel is an invalid transition, and another user's order is not found")
    func cancel() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            let order = try harness.order(try await harness.send(.post, "/api/orders", as: user))
            let path = "/api/orders/\(order.id.lowercased)"

            let stranger = try await harness.send(.delete, path, as: UUID())
            #expect(stranger.status == .notFound)
            #expect(try await harness.send(.get, path, as: UUID()).status == .notFound)
            let cancelled = try await harness.send(.delete, path, as: user)
            #expect(cancelled.status == .ok)
            #expect(try harness.order(cancelled).status == .cancelled)
            let again = try await harness.send(.delete, path, as: user)
            #expect(again.status == .conflict)
            #expect(try harness.errorCode(again) == "invalid_transition")
            #expect(harness.repository.announced.map(\.type) == [EventType.orderCreated, EventType.orderCancelled])
        }
    }

    @Test("an admin ships only a confirmed order and delivers only a shipped one; users may do neither")
    func shipAndDeliver() async throws {
        try await ControllerHarness.run { harness in
            let (user, admin) = (UUID(), UUID())
            harness.upstreams.stock(Self.mug)
            harness.upstreams.put(Self.mug, quantity: 1, into: user)
            let order = try harness.order(try await harness.send(.post, "/api/orders", as: user))
            let path = "/admin/orders/\(order.id.lowercased)"

            let early = try await harness.send(.post, path + "/ship", as: admin, role: .admin)
            #expect(early.status == .conflict)
            #expect(try harness.errorCode(early) == "invalid_transition")
            _ = try await harness.repository.transition(id: order.id, userID: nil, .confirm, requestID: nil)
            #expect(try await harness.send(.post, path + "/ship", as: user).status == .forbidden)
            #expect(try await harness.send(.post, path + "/deliver", as: admin, role: .admin).status == .conflict)
            #expect(try harness.order(try await harness.send(.post, path + "/ship", as: admin, role: .admin)).status == .shipped)
            #expect(try harness.order(try await harness.send(.post, path + "/deliver", as: admin, role: .admin)).status == .delivered)
            #expect(try await harness.send(.post, "/admin/orders/\(UUID().lowercased)/ship", as: admin, role: .admin).status == .notFound)
            #expect(
                harness.repository.announced.map(\.type) == [EventType.orderCreated, EventType.orderConfirmed, EventType.orderShipped, EventType.orderDelivered])
        }
    }

    @Test("a user's orders list newest first, a page at a time, and by status")
    func listPages() async throws {
        try await ControllerHarness.run { harness in
            let user = UUID()
            harness.upstreams.stock(Self.mug)
            var placed: [Order] = []
            for _ in 0..<3 {
                harness.upstreams.put(Self.mug, quantity: 1, into: user)
                placed.append(try harness.order(try await harness.send(.post, "/api/orders", as: user)))
            }
            _ = try await harness.send(.delete, "/api/orders/\(placed[1].id.lowercased)", as: user)
            _ = try await harness.send(.post, "/api/orders", as: UUID())

            let first = try Self.page(try await harness.send(.get, "/api/orders?limit=2", as: user))
            #expect(first.items.map(\.id) == [placed[2].id, placed[1].id])
            let cursor = try #require(first.nextCursor)
            let second = try Self.page(try await harness.send(.get, "/api/orders?limit=2&cursor=\(cursor)", as: user))
            #expect(second.items.map(\.id) == [placed[0].id] && second.nextCursor == nil)
            let pending = try Self.page(try await harness.send(.get, "/api/orders?status=pending", as: user))
            #expect(pending.items.map(\.id) == [placed[2].id, placed[0].id])
            let bad = try await harness.send(.get, "/api/orders?status=lost", as: user)
            #expect(bad.status == .badRequest)
            #expect(try harness.errorCode(bad) == ErrorCode.invalidQuery)
        }
    }

    static func page(_ response: TestResponse) throws -> Page<Order> {
        try JSONDecoder.ecom.decode(Page<Order>.self, from: Data(buffer: response.body))
    }
}
