import EcomAPI
import Foundation
import Testing

@testable import EcomOrders

@Suite struct PendingTimeoutTests {
    @Test("a pending order older than the timeout is rejected as timed out and announced once; younger or settled ones are untouched", arguments: Backend.available)
    func expiresOnce(_ backend: Backend) async throws {
        try await backend.run { store in
            let stale = try await store.placeOrder()
            let young = try await store.placeOrder()
            let confirmed = try await store.placeOrder()
            try await store.move(confirmed, through: [.confirm])
            for order in [stale, confirmed] {
                try await store.ageOrder(order.id, 300)
            }
            try await store.ageOrder(young.id, 60)

            #expect(try await store.repository.expirePending(olderThan: .seconds(120), requestID: "sweep-1") == 1)
            #expect(try await store.repository.expirePending(olderThan: .seconds(120), requestID: "sweep-2") == 0)

            let expired = try #require(try await store.repository.find(id: stale.id, userID: nil))
            #expect(expired.status == .rejected && expired.reason == "timeout")
            #expect(
                expired.rejection
                    == OrderRejection(
                        reason: "timeout",
                        lines: [Lines.kettle, Lines.mug].map {
                            RejectedLine(productID: $0.productID, name: $0.name, requested: $0.quantity, available: nil)
                        }))
            // Cancelled too, so that a reservation the products service makes late is released.
            #expect(
                try await store.announced(about: stale.id) == [EventType.orderCreated, EventType.orderCancelled, EventType.orderRejected])
            #expect(try await store.repository.find(id: young.id, userID: nil)?.status == .pending)
            #expect(try await store.repository.find(id: confirmed.id, userID: nil)?.status == .confirmed)
            #expect(try await store.announced(about: young.id) == [EventType.orderCreated])
            #expect(try await store.announced(about: confirmed.id) == [EventType.orderCreated, EventType.orderConfirmed])
        }
    }

    @Test("a timed-out order can no longer be confirmed or cancelled", arguments: Backend.available)
    func timedOutIsSettled(_ backend: Backend) async throws {
        try await backend.run { store in
            let order = try await store.placeOrder()
            try await store.ageOrder(order.id, 300)
            #expect(try await store.repository.expirePending(olderThan: .seconds(120), requestID: "sweep") == 1)
            for change in OrderTransition.allCases {
                #expect(try await store.repository.transition(id: order.id, userID: nil, change, requestID: "test") == nil)
            }
            #expect(try await store.repository.find(id: order.id, userID: nil)?.status == .rejected)
        }
    }

    @Test("the pending summary counts pending orders and the age of the oldest", arguments: Backend.available)
    func pendingSummary(_ backend: Backend) async throws {
        try await backend.run { store in
            let empty = try await store.repository.pendingSummary()
            #expect(empty.count == 0 && empty.oldest == 0)
            let old = try await store.placeOrder()
            _ = try await store.placeOrder()
            let confirmed = try await store.placeOrder()
            try await store.move(confirmed, through: [.confirm])
            try await store.ageOrder(old.id, 90)
            try await store.ageOrder(confirmed.id, 900)
            let summary = try await store.repository.pendingSummary()
            #expect(summary.count == 2)
            // Generous bounds: the clock moves while the test runs.
            #expect((90...150).contains(summary.oldest))
        }
    }
}
