import EcomAPI
import Foundation
import Testing

@testable import EcomOrders

@Suite struct OrderStatusMachineTests {
    /// The statuses each change applies to, written out rather than read from `OrderTransition`.
    static let allowed: [OrderTransition: Set<OrderStatus>] = [
        .confirm: [.pending],
        .cancel: [.pending, .confirmed],
        .ship: [.confirmed],
        .deliver: [.shipped],
    ]

    /// How a new order reaches each status.
    static func bring(_ order: Order, to status: OrderStatus, in store: OrderStore) async throws {
        switch status {
        case .pending: return
        case .confirmed: try await store.move(order, through: [.confirm])
        case .shipped: try await store.move(order, through: [.confirm, .ship])
        case .delivered: try await store.move(order, through: [.confirm, .ship, .deliver])
        case .cancelled: try await store.move(order, through: [.cancel])
        case .rejected:
            try await store.ageOrder(order.id, 600)
            #expect(try await store.repository.expirePending(olderThan: .seconds(120), requestID: "test") == 1)
        }
    }

    @Test("each change applies only from the statuses the status machine allows, and announces itself once", arguments: Backend.available)
    func everyChangeFromEveryStatus(_ backend: Backend) async throws {
        try await backend.run { store in
            for change in OrderTransition.allCases {
                for start in OrderStatus.allCases {
                    let order = try await store.placeOrder()
                    try await Self.bring(order, to: start, in: store)
                    let before = try await store.announced(about: order.id)
                    let changed = try await store.repository.transition(id: order.id, userID: nil, change, requestID: "test")
                    let after = try await store.repository.find(id: order.id, userID: nil)
                    let announced = try await store.announced(about: order.id).dropFirst(before.count)
                    if Self.allowed[change, default: []].contains(start) {
                        #expect(changed?.status == change.to && after?.status == change.to, "\(change) from \(start)")
                        #expect(Array(announced) == [change.announces], "\(change) from \(start)")
                    } else {
                        #expect(changed == nil && after?.status == start, "\(change) from \(start)")
                        #expect(announced.isEmpty, "\(change) from \(start)")
                    }
                }
            }
        }
    }

    @Test("confirmed orders ship and then deliver, each announced, and a delivered order stays delivered", arguments: Backend.available)
    func shipAndDeliver(_ backend: Backend) async throws {
        try await backend.run { store in
            let order = try await store.placeOrder()
            try await store.move(order, through: [.confirm, .ship, .deliver])
            #expect(
                try await store.announced(about: order.id) == [EventType.orderCreated, EventType.orderConfirmed, EventType.orderShipped, EventType.orderDelivered])
            for change in OrderTransition.allCases {
                #expect(try await store.repository.transition(id: order.id, userID: nil, change, requestID: "test") == nil)
            }
            #expect(try await store.repository.find(id: order.id, userID: nil)?.status == .delivered)
        }
    }

    @Test("a user cancels a pending or confirmed order once; the second cancel changes nothing", arguments: Backend.available)
    func cancelOnce(_ backend: Backend) async throws {
        try await backend.run { store in
            for start in [OrderStatus.pending, .confirmed] {
                let order = try await store.placeOrder()
                try await Self.bring(order, to: start, in: store)
                let first = try await store.repository.transition(id: order.id, userID: order.userID, .cancel, requestID: "test")
                #expect(first?.status == .cancelled && first?.reason == "cancelled_by_user")
                let second = try await store.repository.transition(id: order.id, userID: order.userID, .cancel, requestID: "test")
                #expect(second == nil)
                let stored = try await store.repository.find(id: order.id, userID: order.userID)
                #expect(stored?.status == .cancelled && stored?.updatedAt == first?.updatedAt)
                #expect(try await store.announced(about: order.id).filter { $0 == EventType.orderCancelled }.count == 1)
            }
        }
    }

    @Test("another user's order neither changes nor shows", arguments: Backend.available)
    func otherUsersOrder(_ backend: Backend) async throws {
        try await backend.run { store in
            let order = try await store.placeOrder()
            let stranger = UUID()
            #expect(try await store.repository.transition(id: order.id, userID: stranger, .cancel, requestID: "test") == nil)
            #expect(try await store.repository.find(id: order.id, userID: stranger) == nil)
            #expect(try await store.repository.find(id: order.id, userID: order.userID)?.status == .pending)
            #expect(try await store.announced(about: order.id) == [EventType.orderCreated])
        }
    }

    @Test("a second checkout of the same cart version makes no order, and finds the first", arguments: Backend.available)
    func oneOrderPerCartVersion(_ backend: Backend) async throws {
        try await backend.run { store in
            let first = try await store.placeOrder(cartVersion: 7)
            let draft = OrderDraft(id: UUID(), userID: first.userID, cartVersion: 7, lines: Lines.sample)
            #expect(try await store.repository.create(draft, idempotencyKey: nil, requestID: "test") == .cartVersionTaken)
            #expect(try await store.repository.find(id: draft.id, userID: nil) == nil)
            #expect(try await store.repository.winner(userID: first.userID, cartVersion: 7, idempotencyKey: nil) == .order(first))
            #expect(try await store.repository.winner(userID: first.userID, cartVersion: 8, idempotencyKey: nil) == nil)
            #expect(try await store.announced().count == 1)
        }
    }

    @Test("an order's lines, prices and total are stored as the draft made them", arguments: Backend.available)
    func storedAsDrafted(_ backend: Backend) async throws {
        try await backend.run { store in
            let order = try await store.placeOrder()
            #expect(order.status == .pending && order.reason == nil && order.rejection == nil)
            #expect(order.items == [Lines.kettle, Lines.mug])
            #expect(order.totalCents == 5_897)
            #expect(try await store.repository.find(id: order.id, userID: order.userID) == order)
        }
    }
}
