import EcomAPI
import Foundation
import Testing

@testable import EcomOrders

@Suite struct IdempotencyKeyTests {
    @Test("a new key is claimed, and while its request runs a second claim finds it in progress", arguments: Backend.available)
    func claimedThenInProgress(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            let first = try await store.repository.claim(key: "k-1", userID: user)
            let second = try await store.repository.claim(key: "k-1", userID: user)
            let other = try await store.repository.claim(key: "k-2", userID: user)
            #expect(first == .claimed && second == .inProgress && other == .claimed)
        }
    }

    @Test("a key whose request made an order is done: that order with 201, whatever comes after", arguments: Backend.available)
    func doneWithCreatedOrder(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            #expect(try await store.repository.claim(key: "k-1", userID: user) == .claimed)
            let order = try await store.placeOrder(for: user, cartVersion: 1, key: "k-1")
            #expect(try await store.repository.claim(key: "k-1", userID: user) == .done(orderID: order.id, status: 201))
            // Releasing is for failed requests: a done key stays done.
            try await store.repository.release(key: "k-1", userID: user)
            try await store.ageKey("k-1", user, 600)
            #expect(try await store.repository.claim(key: "k-1", userID: user) == .done(orderID: order.id, status: 201))
        }
    }

    @Test("a key whose request found the cart's earlier order is done with that order and 200", arguments: Backend.available)
    func doneWithWinner(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            let order = try await store.placeOrder(for: user, cartVersion: 3)
            #expect(try await store.repository.claim(key: "again", userID: user) == .claimed)
            #expect(try await store.repository.winner(userID: user, cartVersion: 3, idempotencyKey: "again")?.id == order.id)
            #expect(try await store.repository.claim(key: "again", userID: user) == .done(orderID: order.id, status: 200))
        }
    }

    @Test("a key is the user's: another user claims the same key for a checkout of their own", arguments: Backend.available)
    func keysArePerUser(_ backend: Backend) async throws {
        try await backend.run { store in
            let (alice, bob) = (UUID(), UUID())
            #expect(try await store.repository.claim(key: "shared", userID: alice) == .claimed)
            let order = try await store.placeOrder(for: alice, key: "shared")
            #expect(try await store.repository.claim(key: "shared", userID: bob) == .claimed)
            let bobs = try await store.placeOrder(for: bob, key: "shared")
            #expect(bobs.id != order.id)
            #expect(try await store.repository.claim(key: "shared", userID: alice) == .done(orderID: order.id, status: 201))
            #expect(try await store.repository.claim(key: "shared", userID: bob) == .done(orderID: bobs.id, status: 201))
        }
    }

    @Test("a released key, or one left in progress for over two minutes, is claimed again", arguments: Backend.available)
    func releasedOrStale(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            #expect(try await store.repository.claim(key: "failed", userID: user) == .claimed)
            try await store.repository.release(key: "failed", userID: user)
            #expect(try await store.repository.claim(key: "failed", userID: user) == .claimed)

            #expect(try await store.repository.claim(key: "died", userID: user) == .claimed)
            try await store.ageKey("died", user, 60)
            #expect(try await store.repository.claim(key: "died", userID: user) == .inProgress)
            try await store.ageKey("died", user, 120)
            #expect(try await store.repository.claim(key: "died", userID: user) == .claimed)
            // Taking it over starts its two minutes again.
            #expect(try await store.repository.claim(key: "died", userID: user) == .inProgress)
        }
    }

    @Test("keys are purged after their retention, not before", arguments: Backend.available)
    func purge(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            _ = try await store.repository.claim(key: "old", userID: user)
            _ = try await store.repository.claim(key: "recent", userID: user)
            try await store.ageKey("old", user, 49 * 3600)
            try await store.ageKey("recent", user, 47 * 3600)
            #expect(try await store.repository.purgeKeys() == 1)
            #expect(try await store.repository.claim(key: "old", userID: user) == .claimed)
            #expect(try await store.repository.claim(key: "recent", userID: user) == .claimed)
        }
    }
}
