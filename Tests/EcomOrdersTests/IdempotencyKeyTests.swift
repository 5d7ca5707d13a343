import EcomAPI
import Foundation
import Testing

@testable import EcomOrders

@Suite struct IdempotencyKeyTests {
    @Test("a key is recorded with the order it made and 201, and makes no second order whatever cart comes with it", arguments: Backend.available)
    func recordedWithItsOrder(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            #expect(try await store.repository.recordedKey("k-1", userID: user) == nil)
            let order = try await store.placeOrder(for: user, cartVersion: 1, key: "k-1")
            #expect(try await store.repository.recordedKey("k-1", userID: user) == .done(orderID: order.id, status: 201))
            let again = OrderDraft(id: UUID(), userID: user, cartVersion: 2, lines: Lines.sample)
            #expect(try await store.repository.create(again, idempotencyKey: "k-1", requestID: "test") == .keyTaken)
            #expect(try await store.repository.find(id: again.id, userID: nil) == nil)
            #expect(try await store.announced().count == 1)
            // Another key of the same user makes an order of its own.
            _ = try await store.placeOrder(for: user, cartVersion: 2, key: "k-2")
            #expect(try await store.announced().count == 2)
        }
    }

    @Test(
        "one key sent by many requests at once makes one order, whether they read one cart version or each another",
        arguments: Backend.available, [true, false])
    func concurrentRequestsOfOneKey(_ backend: Backend, sameCart: Bool) async throws {
        try await backend.run { store in
            let user = UUID()
            let outcomes = try await withThrowingTaskGroup(of: OrderCreation.self) { group in
                for version in 1...8 {
                    group.addTask {
                        let draft = OrderDraft(id: UUID(), userID: user, cartVersion: sameCart ? 1 : Int64(version), lines: Lines.sample)
                        return try await store.repository.create(draft, idempotencyKey: "once", requestID: "test")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let made = outcomes.compactMap(\.order)
            #expect(made.count == 1)
            // The key, not the cart version, stops the others: each answers as the key says.
            #expect(outcomes.filter { $0 == .keyTaken }.count == 7)
            #expect(try await store.repository.recordedKey("once", userID: user) == .done(orderID: try #require(made.first).id, status: 201))
            #expect(try await store.announced().count == 1)
        }
    }

    @Test("a key whose request found the cart's earlier order is recorded with that order and 200, unless it is recorded already", arguments: Backend.available)
    func recordedWithWinner(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            let order = try await store.placeOrder(for: user, cartVersion: 3)
            let draft = OrderDraft(id: UUID(), userID: user, cartVersion: 3, lines: Lines.sample)
            #expect(try await store.repository.create(draft, idempotencyKey: "again", requestID: "test") == .cartVersionTaken)
            #expect(try await store.repository.winner(userID: user, cartVersion: 3, idempotencyKey: "again") == .order(order))
            #expect(try await store.repository.recordedKey("again", userID: user) == .done(orderID: order.id, status: 200))

            // The key made an order of its own meanwhile: that one answers, as a replay.
            let own = try await store.placeOrder(for: user, cartVersion: 4, key: "mine")
            _ = try await store.placeOrder(for: user, cartVersion: 5)
            #expect(try await store.repository.winner(userID: user, cartVersion: 5, idempotencyKey: "mine") == .keyTaken)
            #expect(try await store.repository.recordedKey("mine", userID: user) == .done(orderID: own.id, status: 201))
            #expect(try await store.repository.winner(userID: user, cartVersion: 6, idempotencyKey: "mine") == nil)
        }
    }

    @Test("a key is the user's: another user's same key makes an order of their own", arguments: Backend.available)
    func keysArePerUser(_ backend: Backend) async throws {
        try await backend.run { store in
            let (alice, bob) = (UUID(), UUID())
            let order = try await store.placeOrder(for: alice, key: "shared")
            let bobs = try await store.placeOrder(for: bob, key: "shared")
            #expect(bobs.id != order.id)
            #expect(try await store.repository.recordedKey("shared", userID: alice) == .done(orderID: order.id, status: 201))
            #expect(try await store.repository.recordedKey("shared", userID: bob) == .done(orderID: bobs.id, status: 201))
        }
    }

    @Test("a key an earlier release left in progress holds for two minutes, then is removed and makes an order", arguments: Backend.available)
    func leftInProgress(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            try await store.leaveInProgress("claimed", user)
            #expect(try await store.repository.recordedKey("claimed", userID: user) == .inProgress)
            let draft = OrderDraft(id: UUID(), userID: user, cartVersion: 1, lines: Lines.sample)
            #expect(try await store.repository.create(draft, idempotencyKey: "claimed", requestID: "test") == .keyTaken)
            try await store.ageKey("claimed", user, 60)
            #expect(try await store.repository.recordedKey("claimed", userID: user) == .inProgress)
            try await store.ageKey("claimed", user, 61)
            #expect(try await store.repository.recordedKey("claimed", userID: user) == nil)
            let order = try await store.placeOrder(for: user, cartVersion: 1, key: "claimed")
            #expect(try await store.repository.recordedKey("claimed", userID: user) == .done(orderID: order.id, status: 201))
            // A done key stays done, however old, until it is purged.
            try await store.ageKey("claimed", user, 600)
            #expect(try await store.repository.recordedKey("claimed", userID: user) == .done(orderID: order.id, status: 201))
        }
    }

    @Test("keys are purged after their retention, not before", arguments: Backend.available)
    func purge(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            _ = try await store.placeOrder(for: user, cartVersion: 1, key: "old")
            let recent = try await store.placeOrder(for: user, cartVersion: 2, key: "recent")
            try await store.ageKey("old", user, 49 * 3600)
            try await store.ageKey("recent", user, 47 * 3600)
            #expect(try await store.repository.purgeKeys() == 1)
            #expect(try await store.repository.recordedKey("old", userID: user) == nil)
            #expect(try await store.repository.recordedKey("recent", userID: user) == .done(orderID: recent.id, status: 201))
        }
    }
}
