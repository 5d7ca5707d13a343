import EcomAPI
import EcomServerKit
import EcomTestSupport
import Foundation
import Testing

@testable import EcomProducts

/// What the routes rely on from a `ProductRepository`, checked on the in-memory one and, with a
/// database, on PostgreSQL: the in-memory repository answers as the real one does.
@Suite struct ProductRepositoryContractTests {
    static func withRepository(_ backend: RepositoryBackend, _ body: (any ProductRepository) async throws -> Void) async throws {
        switch backend {
        case .memory: try await body(MemoryProductRepository())
        case .postgres: try await TestDatabase.withPool { pool in try await body(PostgresProductRepository(pool: pool)) }
        }
    }

    /// The code and field of the `APIError` that `body` throws; nil when it throws none.
    static func refusal(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as APIError {
            return "\(error.code) \(error.field ?? "")"
        } catch {
            return "\(error)"
        }
    }

    @Test("skus are unique on create and update; archived products stay archived; stock changes stay within what is held and the bound", arguments: RepositoryBackend.available)
    func writes(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let lamp = try await repository.create(entry("LAMP-1", "Lamp", stock: 3))
            let generated = try await repository.create(ProductCreate(sku: nil, name: "Rug", description: nil, priceCents: 100, stock: nil, isActive: nil))
            #expect(generated.sku == PostgresProductRepository.generatedSKU(for: generated.id) && generated.onHand == 0 && generated.isActive)
            #expect(await Self.refusal { _ = try await repository.create(entry("LAMP-1", "Again")) } == "sku_taken sku")
            #expect(await Self.refusal { _ = try await repository.update(id: generated.id, with: ProductUpdate(sku: "LAMP-1")) } == "sku_taken sku")
            #expect(try await repository.update(id: UUID(), with: ProductUpdate(name: "Nothing")) == nil)

            #expect(await Self.refusal { _ = try await repository.adjustStock(id: lamp.id, by: StockAdjustment(delta: -4, reason: "lost")) } == "insufficient_stock delta")
            #expect(await Self.refusal { _ = try await repository.adjustStock(id: lamp.id, by: StockAdjustment(delta: ProductRules.stock.upperBound, reason: "found")) } == "stock_limit delta")
            #expect(try await repository.adjustStock(id: lamp.id, by: StockAdjustment(delta: -3, reason: "sold"))?.onHand == 0)
            #expect(try await repository.adjustStock(id: UUID(), by: StockAdjustment(delta: 1, reason: "found")) == nil)

            #expect(try await repository.archive(id: lamp.id))
            #expect(try await repository.archive(id: UUID()) == false)
            #expect(await Self.refusal { _ = try await repository.update(id: lamp.id, with: ProductUpdate(isActive: true)) } == "product_archived is_active")
            let renamed = try #require(try await repository.update(id: lamp.id, with: ProductUpdate(name: "Old lamp")))
            #expect(renamed.name == "Old lamp" && renamed.archivedAt != nil && !renamed.api.isActive)
            #expect(try await repository.find(ids: [lamp.id, UUID(), generated.id]).map(\.id).sorted { $0.lowercased < $1.lowercased }
                == [lamp.id, generated.id].sorted { $0.lowercased < $1.lowercased })
        }
    }

    @Test("lists keep the catalog to products on sale, match name or description literally, and page by name and id", arguments: RepositoryBackend.available)
    func lists(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            #expect(try await repository.isEmpty())
            let result = try await repository.importCatalog([
                CatalogEntry(sku: "S-1", product: entry("S-1", "Red Kettle", description: "Boils water.")),
                CatalogEntry(sku: "S-2", product: entry("S-2", "Blue Mug", description: "Goes well with a KETTLE.")),
                CatalogEntry(sku: "S-3", product: entry("S-3", "Cotton Towel, 100%")),
                CatalogEntry(sku: "S-4", product: entry("S-4", "Snake_case Handbook")),
                CatalogEntry(sku: "S-5", product: entry("S-5", "Tree Cutter")),
                CatalogEntry(sku: "S-6", product: entry("S-6", "Hidden kettle", isActive: false)),
            ])
            #expect(result == ImportResult(created: 6, updated: 0, unchanged: 0))
            #expect(try await repository.isEmpty() == false)
            func skus(_ scope: ProductScope, _ filter: ProductFilter) async throws -> [String] {
                try await repository.list(scope: scope, filter: filter, after: nil, limit: 10).map(\.sku)
            }
            #expect(try await skus(.catalog, ProductFilter(search: "kettle")) == ["S-2", "S-1"])
            #expect(try await skus(.all, ProductFilter(search: "kettle")) == ["S-2", "S-6", "S-1"])
            #expect(try await skus(.all, ProductFilter(search: "%")) == ["S-3"])
            // Taken as a pattern, "e_c" would match "Tree Cutter" too.
            #expect(try await skus(.all, ProductFilter(search: "e_c")) == ["S-4"])
            #expect(try await skus(.all, ProductFilter(sku: "S-5")) == ["S-5"])
            #expect(try await skus(.all, ProductFilter(sku: "s-5")).isEmpty)

            let all = try await repository.list(scope: .all, filter: ProductFilter(), after: nil, limit: 100)
            // Names that start with different capitals, so any collation orders them alike.
            #expect(all.map(\.sku) == ["S-2", "S-3", "S-6", "S-1", "S-4", "S-5"])
            let after = try await repository.list(scope: .all, filter: ProductFilter(), after: ProductListKey(name: all[2].name, id: all[2].id), limit: 2)
            #expect(after.map(\.sku) == ["S-1", "S-4"])
            let prefix = try #require(IDPrefix(String(all[4].id.lowercased.prefix(8))))
            #expect(try await skus(.all, ProductFilter(idPrefix: prefix)) == ["S-4"])
        }
    }

    @Test("an import upserts by sku, leaves equal products untouched, and keeps what an entry leaves out", arguments: RepositoryBackend.available)
    func imports(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let entries = [
                CatalogEntry(sku: "A-1", product: entry("A-1", "Anvil", description: "Heavy.", stock: 4)),
                CatalogEntry(sku: "B-1", product: entry("B-1", "Bell", stock: 2)),
            ]
            #expect(try await repository.importCatalog(entries) == ImportResult(created: 2, updated: 0, unchanged: 0))
            let before = try await repository.list(scope: .all, filter: ProductFilter(), after: nil, limit: 10)
            #expect(try await repository.importCatalog(entries) == ImportResult(created: 0, updated: 0, unchanged: 2))
            #expect(try await repository.list(scope: .all, filter: ProductFilter(), after: nil, limit: 10) == before)

            let changed = [
                CatalogEntry(sku: "A-1", product: entry("A-1", "Anvil", description: nil, stock: nil)),
                CatalogEntry(sku: "B-1", product: entry("B-1", "Bell", price: 1500, stock: 2)),
                CatalogEntry(sku: "C-1", product: entry("C-1", "Chime")),
            ]
            #expect(try await repository.importCatalog(changed) == ImportResult(created: 1, updated: 1, unchanged: 1))
            let after = try await repository.list(scope: .all, filter: ProductFilter(), after: nil, limit: 10)
            #expect(after.map(\.sku) == ["A-1", "B-1", "C-1"])
            #expect(after[0] == before[0])
            #expect(after[1].priceCents == 1500 && after[1].id == before[1].id)
        }
    }
}
