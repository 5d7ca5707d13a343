import EcomAPI
import EcomServerKit
import Foundation
import Synchronization

@testable import EcomOrders

/// An event a repository stored with a change, as the tests compare them.
struct Announcement: Sendable, Hashable {
    var type: String
    var orderID: UUID
}

/// `OrderRepository` in memory, for tests of the controller's logic without a database: the same
/// guarded transitions, idempotency keys and timeout as `PostgresOrderRepository`, with the events
/// it would have written to the outbox kept in order.
final class InMemoryOrderRepository: OrderRepository {
    private struct Stored {
        var order: Order
        var cartVersion: Int64
    }

    private struct KeyID: Hashable {
        var userID: UUID
        var key: String
    }

    private struct KeyState {
        /// Nil for a key an earlier release left in progress (`leaveInProgress`).
        var done: (orderID: UUID, status: Int)?
        var recordedAt: Date
    }

    private struct State {
        var orders: [UUID: Stored] = [:]
        var keys: [KeyID: KeyState] = [:]
        var announced: [Announcement] = []
        var keyLookupsFail = false
    }

    /// As long as an in-progress key counts (the PostgreSQL repository's two minutes).
    static let staleKeyAge: TimeInterval = 120
    static let keyRetention: TimeInterval = 48 * 3600

    private let state = Mutex(State())

    /// Events in the order they were stored.
    var announced: [Announcement] { state.withLock { $0.announced } }

    /// Makes an order look created `seconds` earlier.
    func age(order id: UUID, by seconds: TimeInterval) {
        state.withLock { $0.orders[id]?.order.createdAt.addTimeInterval(-seconds) }
    }

    /// Makes an idempotency key look recorded `seconds` earlier.
    func age(key: String, of userID: UUID, by seconds: TimeInterval) {
        state.withLock { $0.keys[KeyID(userID: userID, key: key)]?.recordedAt.addTimeInterval(-seconds) }
    }

    /// Claims a key as an earlier release did before reading the cart: in progress, no order yet.
    func leaveInProgress(key: String, of userID: UUID) {
        state.withLock { $0.keys[KeyID(userID: userID, key: key)] = KeyState(done: nil, recordedAt: Date()) }
    }

    // MARK: - OrderRepository

    func find(id: UUID, userID: UUID?) async throws -> Order? {
        state.withLock { state in
            state.orders[id].map(\.order).flatMap { userID == nil || $0.userID == userID ? $0 : nil }
        }
    }

    func list(
        userID: UUID?, status: OrderStatus?, idPrefix: IDPrefix?, limit: Int, after: OrderKey?
    ) async throws -> [(order: Order, key: OrderKey)] {
        let orders = state.withLock { $0.orders.values.map(\.order) }
        return orders.map { ($0, Self.key(of: $0)) }
            .filter { order, key in
                (userID == nil || order.userID == userID) && (status == nil || order.status == status)
                    && (idPrefix.map { (Self.text($0.lower)...Self.text($0.upper)).contains(Self.text(order.id)) } ?? true)
                    && (after.map { Self.precedes(after: $0, key) } ?? true)
            }
            .sorted { Self.precedes(after: $0.1, $1.1) }
            .prefix(limit).map { (order: $0.0, key: $0.1) }
    }

    func create(_ draft: OrderDraft, idempotencyKey: String?, requestID: String) async throws -> OrderCreation {
        state.withLock { state in
            if let idempotencyKey, state.keys[KeyID(userID: draft.userID, key: idempotencyKey)] != nil { return .keyTaken }
            guard !state.orders.values.contains(where: { $0.order.userID == draft.userID && $0.cartVersion == draft.cartVersion })
            else { return .cartVersionTaken }
            let now = Date()
            let order = Order(
                id: draft.id, userID: draft.userID, status: .pending, reason: nil, totalCents: draft.totalCents,
                items: draft.lines.sorted { ($0.name, Self.text($0.productID)) < ($1.name, Self.text($1.productID)) },
                createdAt: now, updatedAt: now, rejection: nil)
            state.orders[order.id] = Stored(order: order, cartVersion: draft.cartVersion)
            state.announced.append(Announcement(type: EventType.orderCreated, orderID: order.id))
            if let idempotencyKey {
                state.keys[KeyID(userID: draft.userID, key: idempotencyKey)] = KeyState(done: (order.id, 201), recordedAt: now)
            }
            return .created(order)
        }
    }

    func winner(userID: UUID, cartVersion: Int64, idempotencyKey: String?) async throws -> CartVersionWinner? {
        state.withLock { state in
            guard let order = state.orders.values.first(where: { $0.order.userID == userID && $0.cartVersion == cartVersion })?.order
            else { return nil }
            guard let idempotencyKey else { return .order(order) }
            let id = KeyID(userID: userID, key: idempotencyKey)
            guard state.keys[id] == nil else { return .keyTaken }
            state.keys[id] = KeyState(done: (order.id, 200), recordedAt: Date())
            return .order(order)
        }
    }

    func transition(id: UUID, userID: UUID?, _ change: OrderTransition, requestID: String?) async throws -> Order? {
        state.withLock { state in
            guard var order = state.orders[id]?.order, userID == nil || order.userID == userID, change.from.contains(order.status)
            else { return nil }
            order.status = change.to
            order.reason = change.reason ?? order.reason
            order.updatedAt = Date()
            state.orders[id]?.order = order
            state.announced.append(Announcement(type: change.announces, orderID: id))
            return order
        }
    }

    func expirePending(olderThan age: Duration, requestID: String) async throws -> Int {
        let cutoff = Date().addingTimeInterval(-TimeInterval(age.components.seconds))
        return state.withLock { state in
            let expired = state.orders.values.map(\.order).filter { $0.status == .pending && $0.createdAt < cutoff }
                .sorted { $0.createdAt < $1.createdAt }.prefix(500)
            for var order in expired {
                order.status = .rejected
                order.reason = "timeout"
                order.updatedAt = Date()
                order.rejection = OrderRejection(
                    reason: "timeout",
                    lines: order.items.map { RejectedLine(productID: $0.productID, name: $0.name, requested: $0.quantity, available: nil) })
                state.orders[order.id]?.order = order
                state.announced += [
                    Announcement(type: EventType.orderCancelled, orderID: order.id),
                    Announcement(type: EventType.orderRejected, orderID: order.id),
                ]
            }
            return expired.count
        }
    }

    func pendingSummary() async throws -> (count: Int, oldest: Int) {
        let pending = state.withLock { $0.orders.values.map(\.order).filter { $0.status == .pending } }
        let oldest = pending.map(\.createdAt).min().map { Date().timeIntervalSince($0).rounded() } ?? 0
        return (pending.count, Int(oldest))
    }

    /// Makes `recordedKey` fail, as a database that cannot be reached does.
    func failKeyLookups() {
        state.withLock { $0.keyLookupsFail = true }
    }

    func recordedKey(_ key: String, userID: UUID) async throws -> RecordedKey? {
        try state.withLock { state in
            if state.keyLookupsFail { throw APIError.unavailable }
            let id = KeyID(userID: userID, key: key)
            guard let recorded = state.keys[id] else { return nil }
            if let done = recorded.done { return .done(orderID: done.orderID, status: done.status) }
            guard recorded.recordedAt < Date().addingTimeInterval(-Self.staleKeyAge) else { return .inProgress }
            state.keys[id] = nil
            return nil
        }
    }

    func purgeKeys() async throws -> Int {
        let cutoff = Date().addingTimeInterval(-Self.keyRetention)
        return state.withLock { state in
            let old = state.keys.filter { $0.value.recordedAt < cutoff }.keys
            old.forEach { state.keys[$0] = nil }
            return old.count
        }
    }

    // MARK: - Helpers

    /// A cursor's timestamp text: microseconds since 1970, padded so that text order is time order.
    private static func key(of order: Order) -> OrderKey {
        let microseconds = Int64((order.createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        return OrderKey(createdAt: String(repeating: "0", count: max(0, 20 - String(microseconds).count)) + String(microseconds), id: order.id)
    }

    /// PostgreSQL orders `uuid` by its bytes, which is the order of the lowercase hex text.
    private static func text(_ id: UUID) -> String { id.lowercased }

    /// Whether `key` comes after `after` in the list's order, newest first.
    private static func precedes(after: OrderKey, _ key: OrderKey) -> Bool {
        (key.createdAt, text(key.id)) < (after.createdAt, text(after.id))
    }
}
