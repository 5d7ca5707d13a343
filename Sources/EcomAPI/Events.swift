import Foundation

/// Routing keys of the `orders` exchange.
package enum EventType {
    package static let orderCreated = "order.created"
    package static let orderConfirmed = "order.confirmed"
    package static let orderCancelled = "order.cancelled"
    package static let orderRejected = "order.rejected"
    package static let orderShipped = "order.shipped"
    package static let orderDelivered = "order.delivered"
    package static let stockReserved = "stock.reserved"
    package static let stockRejected = "stock.rejected"
    package static let stockChanged = "stock.changed"
    package static let stockLow = "stock.low"
    package static let productCreated = "product.created"
    package static let productChanged = "product.changed"
    package static let productArchived = "product.archived"
}

/// Event type patterns, as AMQP topics match them: words of lowercase letters and underscores
/// separated by dots, `*` for one word, `#` for any number (`order.*`, `stock.#`, `#`). Streams,
/// webhook endpoints and the CLI check them alike.
package enum EventTypePattern {
    /// Whether `pattern` is a valid pattern of at most 8 words and 200 characters.
    package static func isValid(_ pattern: String) -> Bool {
        let words = pattern.split(separator: ".", omittingEmptySubsequences: false)
        return pattern.utf8.count <= 200 && words.count <= 8
            && words.allSatisfy { word in
                word == "*" || word == "#" || (!word.isEmpty && word.utf8.allSatisfy { (97...122).contains($0) || $0 == 95 })
            }
    }
}

/// The JSON envelope of every event: `{"id", "type", "occurred_at", "request_id", "data"}`.
package struct Event<Payload: Codable & Sendable>: Codable, Sendable {
    @LowercaseUUID package var id: UUID
    package var type: String
    package var occurredAt: Date
    package var requestID: String?
    package var data: Payload

    package init(id: UUID = UUID.random(), type: String, occurredAt: Date = Date(), requestID: String?, data: Payload) {
        self.id = id
        self.type = type
        self.occurredAt = occurredAt
        self.requestID = requestID
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case id, type, data
        case occurredAt = "occurred_at"
        case requestID = "request_id"
    }
}

/// The envelope without its payload: enough to route an event and deduplicate it.
package struct EventHeader: Codable, Sendable {
    @LowercaseUUID package var id: UUID
    package var type: String
    package var occurredAt: Date
    package var requestID: String?

    enum CodingKeys: String, CodingKey {
        case id, type
        case occurredAt = "occurred_at"
        case requestID = "request_id"
    }
}

package struct OrderedQuantity: Codable, Sendable, Equatable {
    @LowercaseUUID package var productID: UUID
    package var quantity: Int

    package init(productID: UUID, quantity: Int) {
        self.productID = productID
        self.quantity = quantity
    }

    enum CodingKeys: String, CodingKey {
        case quantity
        case productID = "product_id"
    }
}

/// `order.created`: reserve these quantities, and take these lines out of the cart.
package struct OrderCreated: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID
    @LowercaseUUID package var userID: UUID
    package var cartVersion: Int64
    package var lines: [OrderedQuantity]

    package init(orderID: UUID, userID: UUID, cartVersion: Int64, lines: [OrderedQuantity]) {
        self.orderID = orderID
        self.userID = userID
        self.cartVersion = cartVersion
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey {
        case lines
        case orderID = "order_id"
        case userID = "user_id"
        case cartVersion = "cart_version"
    }
}

/// `order.cancelled`: release the order's reservation if one is held, and never make one later.
package struct OrderCancelled: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID
    package var reason: String

    package init(orderID: UUID, reason: String) {
        self.orderID = orderID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case orderID = "order_id"
    }
}

/// `order.shipped` and `order.delivered`: an admin moved the order on. Shipping consumes the
/// order's reservation: its units leave both the held and the on-hand count.
package struct OrderShipment: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID

    package init(orderID: UUID) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id"
    }
}

/// `order.confirmed`: every line of the order is reserved; the order is the buyer's to cancel or an
/// admin's to ship.
package struct OrderConfirmed: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID

    package init(orderID: UUID) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id"
    }
}

/// `stock.reserved`: every line of the order is reserved.
package struct StockReserved: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID

    package init(orderID: UUID) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id"
    }
}

/// `stock.rejected`: nothing of the order is reserved.
package struct StockRejected: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID
    /// `insufficient_stock`, `product_unavailable` or `order_cancelled`.
    package var reason: String
    /// The first line that could not be reserved; `lines` names them all.
    package var productID: UUID?
    /// Every line that could not be reserved; absent from events written before it existed.
    package var lines: [RejectedLine]?

    package init(orderID: UUID, reason: String, productID: UUID?, lines: [RejectedLine]? = nil) {
        self.orderID = orderID
        self.reason = reason
        self.productID = productID
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey {
        case reason, lines
        case orderID = "order_id"
        case productID = "product_id"
    }
}

/// `order.rejected`: the order will not be fulfilled. `lines` are those that could not be
/// reserved; `ordered` is everything the order took from the cart, which the cart gives back.
package struct OrderRejected: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID
    @LowercaseUUID package var userID: UUID
    package var reason: String
    package var lines: [RejectedLine]
    package var ordered: [OrderedQuantity]

    package init(orderID: UUID, userID: UUID, reason: String, lines: [RejectedLine], ordered: [OrderedQuantity]) {
        self.orderID = orderID
        self.userID = userID
        self.reason = reason
        self.lines = lines
        self.ordered = ordered
    }

    enum CodingKeys: String, CodingKey {
        case reason, lines, ordered
        case orderID = "order_id"
        case userID = "user_id"
    }
}

/// An event a service stopped retrying; an admin can retry it.
package struct ParkedEvent: Codable, Sendable, Equatable {
    @LowercaseUUID package var id: UUID
    package var service: String
    package var type: String
    package var attempts: Int
    package var lastError: String?
    package var parkedAt: Date?
    package var body: String

    package init(id: UUID, service: String, type: String, attempts: Int, lastError: String?, parkedAt: Date?, body: String) {
        self.id = id
        self.service = service
        self.type = type
        self.attempts = attempts
        self.lastError = lastError
        self.parkedAt = parkedAt
        self.body = body
    }

    enum CodingKeys: String, CodingKey {
        case id, service, type, attempts, body
        case lastError = "last_error"
        case parkedAt = "parked_at"
    }
}

// MARK: - Service-to-service bodies

/// Body of the products service's `POST /internal/products/lookup`.
package struct ProductLookup: Codable, Sendable {
    package var ids: [UUID]

    package init(ids: [UUID]) {
        self.ids = ids
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case ids
    }
}

/// Body of the cart service's `POST /internal/carts/{user_id}/orders`: remove what this order took, once.
package struct CartOrderApplied: Codable, Sendable, Equatable {
    @LowercaseUUID package var orderID: UUID
    package var lines: [OrderedQuantity]

    package init(orderID: UUID, lines: [OrderedQuantity]) {
        self.orderID = orderID
        self.lines = lines
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case lines
        case orderID = "order_id"
    }
}

/// `stock.changed`: a product's available units (on hand less held) changed, by `cause`:
/// `reservation`, `release` (a cancelled order), `adjustment` (an admin's restock or write-off),
/// `update` (an admin set the units on hand) or `import`.
package struct StockChanged: Codable, Sendable, Equatable {
    package var productID: UUID
    package var available: Int
    package var cause: String
    /// The order whose reservation or release changed it.
    package var orderID: UUID?

    package init(productID: UUID, available: Int, cause: String, orderID: UUID? = nil) {
        self.productID = productID
        self.available = available
        self.cause = cause
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey {
        case available, cause
        case productID = "product_id"
        case orderID = "order_id"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(productID.lowercased, forKey: .productID)
        try container.encode(available, forKey: .available)
        try container.encode(cause, forKey: .cause)
        try container.encodeIfPresent(orderID?.lowercased, forKey: .orderID)
    }
}

/// `stock.low`: a product's available units fell below the store's low-stock threshold.
package struct StockLow: Codable, Sendable, Equatable {
    @LowercaseUUID package var productID: UUID
    package var available: Int
    package var threshold: Int

    package init(productID: UUID, available: Int, threshold: Int) {
        self.productID = productID
        self.available = available
        self.threshold = threshold
    }

    enum CodingKeys: String, CodingKey {
        case available, threshold
        case productID = "product_id"
    }
}

/// `product.created`, `product.changed` and `product.archived`: the product as it stands after
/// an admin's change.
package struct ProductChanged: Codable, Sendable, Equatable {
    @LowercaseUUID package var productID: UUID
    package var sku: String
    package var name: String
    package var priceCents: Int64
    package var available: Int
    package var isActive: Bool
    package var archived: Bool

    package init(productID: UUID, sku: String, name: String, priceCents: Int64, available: Int, isActive: Bool, archived: Bool) {
        self.productID = productID
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.available = available
        self.isActive = isActive
        self.archived = archived
    }

    enum CodingKeys: String, CodingKey {
        case sku, name, available, archived
        case productID = "product_id"
        case priceCents = "price_cents"
        case isActive = "is_active"
    }
}
