import Foundation

/// A product as the catalog shows it. Prices are integer cents.
package struct Product: Codable, Sendable, Equatable {
    @LowercaseUUID package var id: UUID
    package var sku: String
    package var name: String
    package var description: String
    package var priceCents: Int64
    /// Units available to reserve now: on hand less held.
    package var stock: Int
    package var isActive: Bool
    package var createdAt: Date
    package var updatedAt: Date
    /// Units in the warehouse, not yet shipped; shown to admins only.
    package var onHand: Int?
    /// Units held by orders not yet shipped, cancelled or rejected; shown to admins only.
    package var held: Int?
    /// Whether the product was deleted (archived for good); shown to admins only, where an archived
    /// product and one merely taken off sale both have `is_active` false.
    package var archived: Bool?
    /// `stock.low` is announced when `stock` falls below this; shown to admins only, and only when
    /// the product has a threshold of its own rather than the store's.
    package var lowStockThreshold: Int?

    package init(
        id: UUID, sku: String, name: String, description: String, priceCents: Int64, stock: Int, isActive: Bool,
        createdAt: Date, updatedAt: Date, onHand: Int? = nil, held: Int? = nil, archived: Bool? = nil,
        lowStockThreshold: Int? = nil
    ) {
        self.id = id
        self.sku = sku
        self.name = name
        self.description = description
        self.priceCents = priceCents
        self.stock = stock
        self.isActive = isActive
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.onHand = onHand
        self.held = held
        self.archived = archived
        self.lowStockThreshold = lowStockThreshold
    }

    enum CodingKeys: String, CodingKey {
        case id, sku, name, description, stock, held, archived
        case priceCents = "price_cents"
        case isActive = "is_active"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case onHand = "on_hand"
        case lowStockThreshold = "low_stock_threshold"
    }
}

/// Body of `POST /admin/products`, and one entry of a catalog import (where `sku` is required).
/// `stock` sets the units on hand.
package struct ProductCreate: Codable, Sendable, Equatable {
    /// Made from the id when absent.
    package var sku: String?
    package var name: String
    package var description: String?
    package var priceCents: Int64
    package var stock: Int?
    package var isActive: Bool?
    /// The product's own `stock.low` threshold; the store's when absent.
    package var lowStockThreshold: Int?

    package init(
        sku: String?, name: String, description: String?, priceCents: Int64, stock: Int?, isActive: Bool?,
        lowStockThreshold: Int? = nil
    ) {
        self.sku = sku
        self.name = name
        self.description = description
        self.priceCents = priceCents
        self.stock = stock
        self.isActive = isActive
        self.lowStockThreshold = lowStockThreshold
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case sku, name, description, stock
        case priceCents = "price_cents"
        case isActive = "is_active"
        case lowStockThreshold = "low_stock_threshold"
    }
}

/// Body of `PATCH /admin/products/{id}`: absent fields stay as they are.
package struct ProductUpdate: Codable, Sendable, Equatable {
    package var sku: String?
    package var name: String?
    package var description: String?
    package var priceCents: Int64?
    package var stock: Int?
    package var isActive: Bool?
    /// A threshold of the product's own, or `.cleared` (`null`) to go back to the store's.
    package var lowStockThreshold: Clearable<Int>?

    package init(
        sku: String? = nil, name: String? = nil, description: String? = nil, priceCents: Int64? = nil,
        stock: Int? = nil, isActive: Bool? = nil, lowStockThreshold: Clearable<Int>? = nil
    ) {
        self.sku = sku
        self.name = name
        self.description = description
        self.priceCents = priceCents
        self.stock = stock
        self.isActive = isActive
        self.lowStockThreshold = lowStockThreshold
    }

    package var isEmpty: Bool {
        sku == nil && name == nil && description == nil && priceCents == nil && stock == nil && isActive == nil
            && lowStockThreshold == nil
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case sku, name, description, stock
        case priceCents = "price_cents"
        case isActive = "is_active"
        case lowStockThreshold = "low_stock_threshold"
    }

    /// As synthesized, except that `low_stock_threshold: null` is kept as `.cleared` rather than
    /// read as absent.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decodeIfPresent(String.self, forKey: .sku)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        priceCents = try container.decodeIfPresent(Int64.self, forKey: .priceCents)
        stock = try container.decodeIfPresent(Int.self, forKey: .stock)
        isActive = try container.decodeIfPresent(Bool.self, forKey: .isActive)
        lowStockThreshold =
            container.contains(.lowStockThreshold) ? try container.decode(Clearable<Int>.self, forKey: .lowStockThreshold) : nil
    }
}

/// A field of a partial update that can be taken back to its default: `null` in JSON clears it,
/// where an absent field leaves it as it is.
package enum Clearable<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    case value(Value)
    case cleared

    /// The value set, or nil when cleared.
    package var value: Value? {
        if case .value(let value) = self { value } else { nil }
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .cleared : .value(try container.decode(Value.self))
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .value(let value): try container.encode(value)
        case .cleared: try container.encodeNil()
        }
    }
}

/// Body of `POST /admin/products/{id}/stock`: a signed change with its reason, kept in the stock ledger.
package struct StockAdjustment: Codable, Sendable, Equatable {
    package var delta: Int
    package var reason: String

    package init(delta: Int, reason: String) {
        self.delta = delta
        self.reason = reason
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case delta, reason
    }
}

/// Body of `POST /admin/products/import`: an upsert by `sku`.
package struct CatalogImport: Codable, Sendable {
    package var products: [ProductCreate]

    package init(products: [ProductCreate]) {
        self.products = products
    }

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case products
    }
}

/// What an import did.
package struct ImportResult: Codable, Sendable, Equatable {
    package var created: Int
    package var updated: Int
    package var unchanged: Int

    package init(created: Int, updated: Int, unchanged: Int) {
        self.created = created
        self.updated = updated
        self.unchanged = unchanged
    }
}
