import Foundation

/// `pending → confirmed | rejected`, `pending | confirmed → cancelled`, `confirmed → shipped → delivered`.
package enum OrderStatus: String, Codable, Sendable, CaseIterable {
    case pending, confirmed, rejected, cancelled, shipped, delivered

    /// Whether the order will not change on its own any more.
    package var isSettled: Bool { self != .pending }
}

package struct Order: Codable, Sendable, Equatable {
    @LowercaseUUID package var id: UUID
    @LowercaseUUID package var userID: UUID
    package var status: OrderStatus
    /// Why an order was rejected or cancelled (`insufficient_stock`, `timeout`, `cancelled_by_user`, …).
    package var reason: String?
    /// Why a rejected order was rejected, naming the lines that could not be reserved.
    package var rejection: OrderRejection?
    package var totalCents: Int64
    package var items: [OrderLine]
    package var createdAt: Date
    package var updatedAt: Date

    package init(
        id: UUID, userID: UUID, status: OrderStatus, reason: String?, totalCents: Int64, items: [OrderLine],
        createdAt: Date, updatedAt: Date, rejection: OrderRejection? = nil
    ) {
        self.id = id
        self.userID = userID
        self.status = status
        self.reason = reason
        self.rejection = rejection
        self.totalCents = totalCents
        self.items = items
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, status, reason, items, rejection
        case userID = "user_id"
        case totalCents = "total_cents"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

package struct OrderLine: Codable, Sendable, Equatable {
    @LowercaseUUID package var productID: UUID
    package var name: String
    package var unitPriceCents: Int64
    package var quantity: Int
    package var lineTotalCents: Int64

    package init(productID: UUID, name: String, unitPriceCents: Int64, quantity: Int, lineTotalCents: Int64) {
        self.productID = productID
        self.name = name
        self.unitPriceCents = unitPriceCents
        self.quantity = quantity
        self.lineTotalCents = lineTotalCents
    }

    enum CodingKeys: String, CodingKey {
        case name, quantity
        case productID = "product_id"
        case unitPriceCents = "unit_price_cents"
        case lineTotalCents = "line_total_cents"
    }
}

/// Why an order was rejected: `insufficient_stock`, `product_unavailable`, `order_cancelled` or
/// `timeout`, and the lines that could not be reserved.
package struct OrderRejection: Codable, Sendable, Equatable {
    package var reason: String
    package var lines: [RejectedLine]

    package init(reason: String, lines: [RejectedLine]) {
        self.reason = reason
        self.lines = lines
    }
}

/// A line that could not be reserved: how many units the order wanted, and how many were
/// available then (nil when nobody looked, as when the order timed out).
package struct RejectedLine: Codable, Sendable, Hashable {
    @LowercaseUUID package var productID: UUID
    package var name: String?
    package var requested: Int
    package var available: Int?

    package init(productID: UUID, name: String? = nil, requested: Int, available: Int?) {
        self.productID = productID
        self.name = name
        self.requested = requested
        self.available = available
    }

    enum CodingKeys: String, CodingKey {
        case name, requested, available
        case productID = "product_id"
    }
}
