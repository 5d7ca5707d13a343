import EcomAPI
import EcomServerKit
import Foundation

@testable import EcomProducts

/// `ProductRepository` in memory, for tests of the routes' own logic: the same answers as
/// `PostgresProductRepository` for one caller at a time. The stock ledger, the reservations that
/// hold units, and what concurrent writers do stay with the PostgreSQL tests.
actor MemoryProductRepository: ProductRepository {
    private var products: [UUID: ProductRecord] = [:]

    /// Stores `product` as it is, as a test's fixture: units held by orders, an id chosen by the test.
    func insert(_ product: ProductRecord) {
        products[product.id] = product
    }

    func list(scope: ProductScope, filter: ProductFilter, after: ProductListKey?, limit: Int) -> [ProductRecord] {
        let matching = products.values.filter { product in
            (scope == .all || (product.isActive && product.archivedAt == nil))
                && (filter.idPrefix.map { ($0.lower.lowercased...$0.upper.lowercased).contains(product.id.lowercased) } ?? true)
                && (filter.sku.map { $0 == product.sku } ?? true)
                && (filter.search.map { product.name.range(of: $0, options: .caseInsensitive) != nil || product.description.range(of: $0, options: .caseInsensitive) != nil } ?? true)
                && (after.map { Self.precedes($0, Self.key(product)) } ?? true)
        }
        return Array(matching.sorted { Self.precedes(Self.key($0), Self.key($1)) }.prefix(limit))
    }

    func find(id: UUID) -> ProductRecord? {
        products[id]
    }

    func find(ids: [UUID]) -> [ProductRecord] {
        ids.compactMap { products[$0] }.sorted { $0.id.lowercased < $1.id.lowercased }
    }

    func create(_ product: ProductCreate) throws -> ProductRecord {
        let id = UUID()
        let sku = product.sku ?? PostgresProductRepository.generatedSKU(for: id)
        try checkSKUFree(sku, for: id)
        let now = Self.now()
        let record = ProductRecord(
            id: id, sku: sku, name: product.name, description: product.description ?? "", priceCents: product.priceCents,
            onHand: product.stock ?? 0, held: 0, isActive: product.isActive ?? true, archivedAt: nil, createdAt: now, updatedAt: now,
            lowStockThreshold: product.lowStockThreshold)
        products[id] = record
        return record
    }

    func update(id: UUID, with changes: ProductUpdate) throws -> ProductRecord? {
        guard var product = products[id] else { return nil }
        if changes.isActive == true, product.archivedAt != nil {
            throw APIError.conflict("product_archived", "the product was deleted (archived) and cannot be put back on sale", field: "is_active")
        }
        if let stock = changes.stock { try Self.checkNotBelowHeld(stock, held: product.held, field: "stock") }
        if let sku = changes.sku { try checkSKUFree(sku, for: id) }
        product.sku = changes.sku ?? product.sku
        product.name = changes.name ?? product.name
        product.description = changes.description ?? product.description
        product.priceCents = changes.priceCents ?? product.priceCents
        product.onHand = changes.stock ?? product.onHand
        product.isActive = changes.isActive ?? product.isActive
        switch changes.lowStockThreshold {
        case .value(let threshold): product.lowStockThreshold = threshold
        case .cleared: product.lowStockThreshold = nil
        case nil: break
        }
        product.updatedAt = Self.now()
        products[id] = product
        return product
    }

    func archive(id: UUID) -> Bool {
        guard var product = products[id] else { return false }
        product.archivedAt = product.archivedAt ?? Self.now()
        product.updatedAt = Self.now()
        products[id] = product
        return true
    }

    func adjustStock(id: UUID, by adjustment: StockAdjustment) throws -> ProductRecord? {
        guard var product = products[id] else { return nil }
        let onHand = product.onHand + adjustment.delta
        guard onHand >= product.held else {
            throw APIError.conflict(ErrorCode.insufficientStock, "only \(product.available) available", field: "delta")
        }
        guard onHand <= ProductRules.stock.upperBound else {
            throw APIError.conflict(ErrorCode.stockLimit, "stock on hand would exceed \(ProductRules.stock.upperBound)", field: "delta")
        }
        product.onHand = onHand
        product.updatedAt = Self.now()
        products[id] = product
        return product
    }

    func importCatalog(_ entries: [CatalogEntry]) throws -> ImportResult {
        // Worked on a copy, so an import applies whole or not at all, as in its transaction.
        var catalog = products
        var created = 0
        var updated = 0
        for (index, entry) in entries.enumerated() {
            guard let current = catalog.values.first(where: { $0.sku == entry.sku }) else {
                let new = entry.newProduct(at: Self.now())
                catalog[new.id] = new
                created += 1
                continue
            }
            var merged = entry.applied(to: current)
            guard merged != current else { continue }
            try Self.checkNotBelowHeld(merged.onHand, held: current.held, field: "products.\(index).stock")
            merged.updatedAt = Self.now()
            catalog[merged.id] = merged
            updated += 1
        }
        products = catalog
        return ImportResult(created: created, updated: updated, unchanged: entries.count - created - updated)
    }

    func isEmpty() -> Bool {
        products.isEmpty
    }

    // MARK: - Helpers

    private func checkSKUFree(_ sku: String, for id: UUID) throws {
        guard !products.values.contains(where: { $0.sku == sku && $0.id != id }) else {
            throw APIError.conflict(ErrorCode.skuTaken, "another product has this sku", field: "sku")
        }
    }

    private static func checkNotBelowHeld(_ onHand: Int, held: Int, field: String) throws {
        guard onHand >= held else {
            throw APIError.conflict(ErrorCode.stockBelowHeld, "orders hold \(held) units", field: field)
        }
    }

    private static func key(_ product: ProductRecord) -> ProductListKey {
        ProductListKey(name: product.name, id: product.id)
    }

    /// By name, then id, as the database's `(name, id)` orders them: names by their code points
    /// (the embedded cluster's C collation), ids as their hex text.
    private static func precedes(_ left: ProductListKey, _ right: ProductListKey) -> Bool {
        let (leftName, rightName) = (Array(left.name.unicodeScalars.map(\.value)), Array(right.name.unicodeScalars.map(\.value)))
        if leftName != rightName { return leftName.lexicographicallyPrecedes(rightName) }
        return left.id.lowercased < right.id.lowercased
    }

    /// Now, in whole seconds, as the API's JSON shows it.
    private static func now() -> Date {
        Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    }
}
