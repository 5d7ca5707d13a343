import Foundation

/// The caller's cart, priced at current catalog prices.
package struct Cart: Codable, Sendable, Equatable {
    package var items: [CartLine]
    package var totalCents: Int64
    package var itemCount: Int
    /// Changes on every edit and is never reused; an order records the version it was made from.
    package var version: Int64

    package init(items: [CartLine], totalCents: Int64, itemCount: Int, version: Int64) {
        self.items = items
        self.totalCents = totalCents
        self.itemCount = itemCount
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case items, version
        case totalCents = "total_cents"
        case itemCount = "item_count"
    }
}

package struct CartLine: Codable, Sendable, Equatable {
    /// The line's id, for `PATCH`/`DELETE /api/cart/items/{id}`.
    @LowercaseUUID package var id: UUID
    @LowercaseUUID package var productID: UUID
    package var name: String
    package var unitPriceCents: Int64
    package var quantity: Int
    package var lineTotalCents: Int64
    /// Whether the line's quantity could be reserved now: false when the product has been
    /// archived since it was added, or fewer units than the line holds are available.
    package var available: Bool
    /// Units of the product available now (0 for a product no longer for sale); nil when unknown.
    package var availableQuantity: Int?

    package init(
        id: UUID, productID: UUID, name: String, unitPriceCents: Int64, quantity: Int, lineTotalCents: Int64,
        available: Bool, availableQuantity: Int? = nil
    ) {
        self.id = id
        self.productID = productID
        self.name = name
        self.unitPriceCents = unitPriceCents
        self.quantity = quantity
        self.lineTotalCents = lineTotalCents
        self.available = available
        self.availableQuantity = availableQuantity
    }

    enum CodingKeys: String, CodingKey {
        case id, name, quantity, available
        case productID = "product_id"
        case unitPriceCents = "unit_price_cents"
        case lineTotalCents = "line_total_cents"
        case availableQuantity = "available_quantity"
    }
}

/// Body of `POST /api/cart/items`.
package struct CartItemAdd: Codable, Sendable, Equatable {
    @LowercaseUUID package var productID: UUID
    package var quantity: Int

    package init(productID: UUID, quantity: Int) {
        self.productID = productID
        self.quantity = quantity
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case quantity
        case productID = "product_id"
    }
}

/// The answer of `POST /api/cart/items`: the whole cart, and which of its lines the units went to.
///
/// On the wire it is the cart's own object with `line_id` beside its fields, so a reader that
/// expects a cart still reads one.
package struct CartItemAdded: Codable, Sendable, Equatable {
    package var cart: Cart
    /// The line that was made or grew; the answer's `Location` names it too.
    package var lineID: UUID

    package init(cart: Cart, lineID: UUID) {
        self.cart = cart
        self.lineID = lineID
    }

    /// The line itself, as priced in `cart`.
    package var line: CartLine? { cart.items.first { $0.id == lineID } }

    enum CodingKeys: String, CodingKey {
        case lineID = "line_id"
    }

    package init(from decoder: any Decoder) throws {
        cart = try Cart(from: decoder)
        lineID = try decoder.container(keyedBy: CodingKeys.self).decode(LowercaseUUID.self, forKey: .lineID).wrappedValue
    }

    package func encode(to encoder: any Encoder) throws {
        try cart.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(LowercaseUUID(wrappedValue: lineID), forKey: .lineID)
    }
}

/// Body of `PATCH /api/cart/items/{id}`.
package struct CartItemUpdate: Codable, Sendable, Equatable {
    package var quantity: Int

    package init(quantity: Int) {
        self.quantity = quantity
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case quantity
    }
}

package enum CartLimits {
    /// Most units of one product a cart line may hold.
    package static let maximumQuantity = 1000
    /// Most lines a cart may hold.
    package static let maximumLines = 100
}

/// A cart as the orders service checks it out: each line's product and quantity, and the cart's
/// version, without prices (`GET /internal/carts/{user_id}?priced=false`). The orders service
/// prices the order itself; a priced `Cart` reads as one too, so either answer serves it.
package struct CartContents: Codable, Sendable, Equatable {
    package struct Line: Codable, Sendable, Equatable {
        @LowercaseUUID package var id: UUID
        @LowercaseUUID package var productID: UUID
        package var quantity: Int

        package init(id: UUID, productID: UUID, quantity: Int) {
            self.id = id
            self.productID = productID
            self.quantity = quantity
        }

        enum CodingKeys: String, CodingKey {
            case id, quantity
            case productID = "product_id"
        }
    }

    package var items: [Line]
    package var version: Int64

    package init(items: [Line], version: Int64) {
        self.items = items
        self.version = version
    }
}
