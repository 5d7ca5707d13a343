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
            #expect(first.isClaimed && second == .inProgress && other.isClaimed)
        }
    }

    @Test("a key whose request made an order is done: that order with 201, whatever comes after", arguments: Backend.available)
    func doneWithCreatedOrder(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            let claim = try await store.repository.claim(key: "k-1", userID: user)
            let order = try await store.placeOrder(for: user, cartVersion: 1, key: "k-1")
            #expect(try await store.repository.claim(key: "k-1", userID: user) == .done(orderID: order.id, status: 201))
            // Releasing is for failed requests: a done key stays done.
            try await store.repository.release(key: "k-1", userID: user, stamp: try #require(claim.stamp))
            try await store.ageKey("k-1", user, 600)
            #expect(try await store.repository.claim(key: "k-1", userID: user) == .done(orderID: order.id, status: 201))
        }
    }

    @Test("a key whose request found the cart's earlier order is done with that order and 200", arguments: Backend.available)
    func doneWithWinner(_ backend: Backend) async throws {
        try await backend.run { store in
            let user = UUID()
            let order = try await store.placeOrder(for: user, cartVersion: 3)
            #expect(try await store.repository.claim(key: "again", userID: user).isClaimed)
            #expect(try await store.repository.winner(userID: user, cartVersion: 3, idempotencyKey: "again")?.id == order.id)
            #expect(try await store.repository.claim(key: "again", userID: user) == .done(orderID: order.id, status: 200))
        }
    }

    @Test("a key is the user's: another user claims the same key for a checkout of their own", arguments: Backend.available)
    func keysArePerUser(_ backend: Backend) async throws {
        try await backend.run { store in
            let (alice, bob) = (UUID(), UUID())
            #expect(try await store.repository.claim(key: "shared", userID: alice).isClaimed)
            let order = try await store.placeOrder(for: alice, key: "shared")
            #expect(try await store.repository.claim(key: "shared", userID: bob).isClaimed)
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
            let failed = try await store.repository.claim(key: "failed", userID: user)
            try await store.repository.release(key: "failed", userID: user, stamp: try #require(failed.stamp))
            #expect(try await store.repository.claim(key: "failed", userID: user).isClaimed)

            let died = try await store.repository.claim(key: "died", userID: user)
            try await store.ageKey("died", user, 60)
            #expect(try await store.repository.claim(key: "died", userID: user) == .inProgress)
            try await store.ageKey("died", user, 120)
            #expect(try await store.repository.claim(key: "died", userID: user).isClaimed)
            // Taking it over starts its two minutes again.
            #expect(try await store.repository.claim(key: "died", userID: user) == .inProgress)
            // A late release by the request that died does not undo the claim that took over.
            try await store.repository.release(key: "died", userID: user, stamp: try #require(died.stamp))
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
            #expect(try await store.repository.claim(key: "old", userID: user).isClaimed)
            #expect(try await store.repository.claim(key: "recent", userID: user).isClaimed)
        }
    }
}

extension KeyClaim {
    var stamp: String? {
        if case .claimed(let stamp) = self { stamp } else { nil }
    }
}
