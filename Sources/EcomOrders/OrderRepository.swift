import EcomAPI
import EcomServerKit
import Foundation

/// The orders service's storage.
///
/// Every status change is guarded by the status the order is in, so racing requests and
/// redelivered events change an order at most once, and the event that announces a change is
/// stored with it, in one transaction (DESIGN §6): an order never changes unannounced.
package protocol OrderRepository: Sendable {
    /// The order `id`; with `userID`, only if it is that user's.
    func find(id: UUID, userID: UUID?) async throws -> Order?

    /// Newest first; `userID` nil lists every user's orders (admin). `after` is the key of the last
    /// order already shown; each order comes with its own key, to continue from.
    func list(
        userID: UUID?, status: OrderStatus?, idPrefix: IDPrefix?, limit: Int, after: OrderKey?
    ) async throws -> [(order: Order, key: OrderKey)]

    /// Stores a pending order with its lines and announces `order.created`, recording the
    /// idempotency key if there is one with the order and status 201, all at once; or stores
    /// nothing, when the key is recorded already or the cart version made an order.
    func create(_ draft: OrderDraft, idempotencyKey: String?, requestID: String) async throws -> OrderCreation

    /// The order an earlier checkout of this cart version made, with the key (if any) recorded
    /// against it, status 200; `.keyTaken` if the key is recorded already; nil if there is none.
    func winner(userID: UUID, cartVersion: Int64, idempotencyKey: String?) async throws -> CartVersionWinner?

    /// Makes `change` if the order is in one of its `from` statuses (and, with `userID`, is that
    /// user's), announcing it. Nil when it is not.
    func transition(id: UUID, userID: UUID?, _ change: OrderTransition, requestID: String?) async throws -> Order?

    /// Rejects orders pending for longer than `age` with reason `timeout`, every line named as not
    /// reserved, and announces each as rejected, and as cancelled so that a reservation made late
    /// is released. Returns how many.
    func expirePending(olderThan age: Duration, requestID: String) async throws -> Int

    /// Number of pending orders and the age of the oldest, in seconds.
    func pendingSummary() async throws -> (count: Int, oldest: Int)

    /// What the `Idempotency-Key` of `userID` has recorded; nil for a key it has not. A key left
    /// in progress by an earlier release of ecom (which claimed keys before reading the cart) for
    /// longer than two minutes no longer counts, and is removed.
    func recordedKey(_ key: String, userID: UUID) async throws -> RecordedKey?

    /// Removes idempotency keys past their retention (kept at least 24 hours).
    func purgeKeys() async throws -> Int
}

/// The status changes of an order that a request or an event asks for by name; rejections,
/// which record what could not be reserved, have their own statements.
package enum OrderTransition: Sendable, Equatable, CaseIterable {
    /// pending → confirmed, on `stock.reserved`; announces `order.confirmed`, for the buyer and the
    /// store's listeners (the saga itself needs no more).
    case confirm
    /// pending or confirmed → cancelled, by its user; announces `order.cancelled`, which makes the
    /// products service release a reservation if it holds one.
    case cancel
    /// confirmed → shipped, by an admin; announces `order.shipped`, which consumes the reservation.
    case ship
    /// shipped → delivered, by an admin; announces `order.delivered`.
    case deliver

    /// The statuses the change applies to; from any other it changes nothing.
    package var from: [OrderStatus] {
        switch self {
        case .confirm: [.pending]
        case .cancel: [.pending, .confirmed]
        case .ship: [.confirmed]
        case .deliver: [.shipped]
        }
    }

    package var to: OrderStatus {
        switch self {
        case .confirm: .confirmed
        case .cancel: .cancelled
        case .ship: .shipped
        case .deliver: .delivered
        }
    }

    /// The reason of an order its user cancelled.
    package static let cancelledByUser = "cancelled_by_user"

    /// The reason recorded with the change; nil keeps the order's reason.
    package var reason: String? { self == .cancel ? Self.cancelledByUser : nil }

    /// The routing key of the event announcing the change.
    package var announces: String {
        switch self {
        case .confirm: EventType.orderConfirmed
        case .cancel: EventType.orderCancelled
        case .ship: EventType.orderShipped
        case .deliver: EventType.orderDelivered
        }
    }
}

/// What `OrderRepository.create` did.
package enum OrderCreation: Sendable, Equatable {
    case created(Order)
    /// An order of the same cart version exists: a racing checkout of the cart won (`winner`).
    case cartVersionTaken
    /// The idempotency key is recorded already (`recordedKey`): with the order another request with
    /// it made, or claimed by an earlier release.
    case keyTaken

    package var order: Order? {
        if case .created(let order) = self { order } else { nil }
    }
}

/// The answer to a checkout that lost the race for its cart version.
package enum CartVersionWinner: Sendable, Equatable {
    /// The order the cart version made, the key (if any) now recorded with it.
    case order(Order)
    /// The key is recorded already (`recordedKey`), so the checkout answers as its key says.
    case keyTaken
}

/// What an `Idempotency-Key` has recorded.
package enum RecordedKey: Sendable, Equatable {
    /// The order its request made, and the status it answered with.
    case done(orderID: UUID, status: Int)
    /// An earlier release of ecom claimed it for a request that may still run.
    case inProgress
}

/// Where a page of orders ends (newest first).
package struct OrderKey: Sendable, Equatable {
    package var createdAt: String
    package var id: UUID
}

/// An order about to be written: priced lines from the cart at current catalog prices.
package struct OrderDraft: Sendable {
    package var id: UUID
    package var userID: UUID
    package var cartVersion: Int64
    package var lines: [OrderLine]
    package var totalCents: Int64 { lines.reduce(0) { $0 + $1.lineTotalCents } }

    package init(id: UUID, userID: UUID, cartVersion: Int64, lines: [OrderLine]) {
        self.id = id
        self.userID = userID
        self.cartVersion = cartVersion
        self.lines = lines
    }
}
