import EcomAPI
import EcomServerKit
import Foundation

extension ErrorCode {
    /// Another product already has this sku.
    static let skuTaken = "sku_taken"
    /// A stock adjustment would remove more units than are available (on hand and not held).
    static let insufficientStock = "insufficient_stock"
    /// An absolute count of units on hand is below the units that orders hold.
    static let stockBelowHeld = "stock_below_held"
    /// An adjustment would lift stock past what an admin may set.
    static let stockLimit = "stock_limit"
}

/// What a product may be, checked before anything is written; the database's CHECK constraints
/// repeat every rule, so nothing that skips this code can store what it refuses.
///
/// Lengths count Unicode scalars, as PostgreSQL's `char_length` does, so a value accepted here
/// is accepted there too. Text may not contain NUL, which libpq would silently cut the value at.
enum ProductRules {
    static let maximumNameLength = 200
    static let maximumDescriptionLength = 5000
    static let maximumSKULength = 64
    static let priceCents: ClosedRange<Int64> = 1...100_000_000_000
    static let stock = 0...1_000_000
    static let maximumReasonLength = 200
    static let maximumImportSize = 10_000
    static let maximumLookupSize = 500
    static let maximumSearchLength = Pagination.maximumSearchLength

    static func sku(_ sku: String, field: String) throws -> String {
        let allowed = sku.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
        }
        guard (1...maximumSKULength).contains(sku.unicodeScalars.count), allowed else {
            throw APIError.invalidField(field, "\(field) must be 1 to \(maximumSKULength) characters of A-Z, a-z, 0-9, '.', '_' or '-'")
        }
        return sku
    }

    /// The name without surrounding white space: 1 to 200 characters as sent, not blank, and no
    /// control characters once trimmed.
    static func name(_ name: String, field: String) throws -> String {
        try oneLine(name, field: field, maximumLength: maximumNameLength)
    }

    /// Text of one line without its surrounding white space (which may include a trailing newline).
    ///
    /// The length is that of the text as sent, not of the trimmed text, so the rule is one a JSON
    /// Schema `maxLength` and `pattern` state exactly (the OpenAPI document does).
    static func oneLine(_ text: String, field: String, maximumLength: Int) throws -> String {
        guard (1...maximumLength).contains(text.unicodeScalars.count) else {
            throw APIError.invalidField(field, "\(field) must be 1 to \(maximumLength) characters")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw APIError.invalidField(field, "\(field) must not be blank")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.invalidField(field, "\(field) must be one line without control characters")
        }
        return trimmed
    }

    static func description(_ description: String, field: String) throws -> String {
        guard description.unicodeScalars.count <= maximumDescriptionLength else {
            throw APIError.invalidField(field, "\(field) must be at most \(maximumDescriptionLength) characters")
        }
        guard !description.unicodeScalars.contains("\0") else {
            throw APIError.invalidField(field, "\(field) must not contain NUL characters")
        }
        return description
    }

    static func price(_ cents: Int64, field: String) throws -> Int64 {
        guard priceCents.contains(cents) else {
            throw APIError.invalidField(field, "\(field) must be between \(priceCents.lowerBound) and \(priceCents.upperBound) cents")
        }
        return cents
    }

    static func stock(_ units: Int, field: String) throws -> Int {
        guard stock.contains(units) else {
            throw APIError.invalidField(field, "\(field) must be between \(stock.lowerBound) and \(stock.upperBound)")
        }
        return units
    }
}

extension ProductCreate {
    /// The product with its name trimmed, or 400 `invalid_field` for the first bad field; `fieldPrefix`
    /// locates an entry of an import (`products.3.`).
    func validated(fieldPrefix: String = "") throws -> ProductCreate {
        ProductCreate(
            sku: try sku.map { try ProductRules.sku($0, field: fieldPrefix + "sku") },
            name: try ProductRules.name(name, field: fieldPrefix + "name"),
            description: try description.map { try ProductRules.description($0, field: fieldPrefix + "description") },
            priceCents: try ProductRules.price(priceCents, field: fieldPrefix + "price_cents"),
            stock: try stock.map { try ProductRules.stock($0, field: fieldPrefix + "stock") },
            isActive: isActive,
            lowStockThreshold: try lowStockThreshold.map { try ProductRules.stock($0, field: fieldPrefix + "low_stock_threshold") })
    }
}

extension ProductUpdate {
    /// The present fields, each checked as on create; an update that changes nothing is refused.
    func validated() throws -> ProductUpdate {
        guard !isEmpty else {
            throw APIError.badRequest(ErrorCode.invalidBody, "nothing to change: give at least one field")
        }
        return ProductUpdate(
            sku: try sku.map { try ProductRules.sku($0, field: "sku") },
            name: try name.map { try ProductRules.name($0, field: "name") },
            description: try description.map { try ProductRules.description($0, field: "description") },
            priceCents: try priceCents.map { try ProductRules.price($0, field: "price_cents") },
            stock: try stock.map { try ProductRules.stock($0, field: "stock") },
            isActive: isActive,
            lowStockThreshold: try lowStockThreshold.map { change in
                try change.value.map { .value(try ProductRules.stock($0, field: "low_stock_threshold")) } ?? .cleared
            })
    }
}

extension StockAdjustment {
    /// A non-zero delta no larger than the stock bound, and a trimmed reason for the ledger.
    func validated() throws -> StockAdjustment {
        let bound = ProductRules.stock.upperBound
        guard delta != 0, (-bound...bound).contains(delta) else {
            throw APIError.invalidField("delta", "delta must be non-zero and at most \(ProductRules.stock.upperBound) either way")
        }
        let reason = try ProductRules.oneLine(reason, field: "reason", maximumLength: ProductRules.maximumReasonLength)
        return StockAdjustment(delta: delta, reason: reason)
    }
}
