import EcomAPI
import EcomServerKit
import Foundation
import Hummingbird
import Logging

/// The products service's routes: the public catalog, its administration, and the lookup other services use.
package struct ProductsController: Sendable {
    /// Catalog imports may be far larger than the 1 MiB other bodies are held to: up to ten thousand entries.
    static let maximumImportBodySize = 32 * 1024 * 1024

    let repository: any ProductRepository

    package init(repository: any ProductRepository) {
        self.repository = repository
    }

    package func addRoutes(to router: Router<EcomRequestContext>) {
        router.get("/api/products", use: listCatalog)
        router.get("/api/products/:id", use: getFromCatalog)
        router.get("/admin/products", use: list)
        router.post("/admin/products", use: create)
        router.post("/admin/products/import", use: importCatalog)
        router.get("/admin/products/:id", use: get)
        router.patch("/admin/products/:id", use: update)
        router.delete("/admin/products/:id", use: archive)
        router.post("/admin/products/:id/stock", use: adjustStock)
        router.post(RouterPath(InternalPath.productLookup), use: lookup)
    }

    // MARK: - Catalog

    @Sendable func listCatalog(_ request: Request, context: EcomRequestContext) async throws -> Page<Product> {
        try await page(request, scope: .catalog, as: \.api)
    }

    /// Unknown, inactive and archived products all answer 404: shoppers cannot tell them apart.
    @Sendable func getFromCatalog(_ request: Request, context: EcomRequestContext) async throws -> Product {
        let id = try context.uuidParameter()
        guard let product = try await repository.find(id: id)?.api, product.isActive else {
            throw APIError.notFound("product")
        }
        return product
    }

    // MARK: - Administration

    @Sendable func list(_ request: Request, context: EcomRequestContext) async throws -> Page<Product> {
        _ = try context.requireAdmin()
        return try await page(request, scope: .all, as: \.adminAPI)
    }

    @Sendable func get(_ request: Request, context: EcomRequestContext) async throws -> Product {
        _ = try context.requireAdmin()
        guard let product = try await repository.find(id: try context.uuidParameter()) else {
            throw APIError.notFound("product")
        }
        return product.adminAPI
    }

    @Sendable func create(_ request: Request, context: EcomRequestContext) async throws -> EditedResponse<Product> {
        let admin = try context.requireAdmin()
        let body = try await request.decode(as: ProductCreate.self, context: context).validated()
        let product = try await repository.create(body)
        context.logger.info(
            "product created", metadata: ["product_id": "\(product.id.lowercased)", "sku": "\(product.sku)", "by": "\(admin.subject)"])
        return EditedResponse(status: .created, response: product.adminAPI)
    }

    @Sendable func update(_ request: Request, context: EcomRequestContext) async throws -> Product {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        let changes = try await request.decode(as: ProductUpdate.self, context: context).validated()
        guard let product = try await repository.update(id: id, with: changes) else { throw APIError.notFound("product") }
        context.logger.info("product updated", metadata: ["product_id": "\(id.lowercased)", "by": "\(admin.subject)"])
        return product.adminAPI
    }

    /// Archives rather than deletes: past orders and carts still resolve the product.
    @Sendable func archive(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        guard try await repository.archive(id: id) else { throw APIError.notFound("product") }
        context.logger.info("product archived", metadata: ["product_id": "\(id.lowercased)", "by": "\(admin.subject)"])
        return Response(status: .noContent)
    }

    @Sendable func adjustStock(_ request: Request, context: EcomRequestContext) async throws -> Product {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        let adjustment = try await request.decode(as: StockAdjustment.self, context: context).validated()
        guard let product = try await repository.adjustStock(id: id, by: adjustment) else {
            throw APIError.notFound("product")
        }
        context.logger.info(
            "stock adjusted",
            metadata: [
                "product_id": "\(id.lowercased)", "delta": "\(adjustment.delta)", "on_hand": "\(product.onHand)",
                "held": "\(product.held)", "by": "\(admin.subject)",
            ])
        return product.adminAPI
    }

    @Sendable func importCatalog(_ request: Request, context: EcomRequestContext) async throws -> ImportResult {
        let admin = try context.requireAdmin()
        let catalog = try await Self.importBody(request)
        let result = try await repository.importCatalog(try catalog.validatedEntries())
        context.logger.info(
            "catalog imported",
            metadata: ["created": "\(result.created)", "updated": "\(result.updated)", "unchanged": "\(result.unchanged)", "by": "\(admin.subject)"])
        return result
    }

    // MARK: - Internal

    /// Names, prices and availability for the cart and orders; archived and inactive products are
    /// included so past lines still resolve, and callers check `is_active`.
    @Sendable func lookup(_ request: Request, context: EcomRequestContext) async throws -> [Product] {
        _ = try context.requireService()
        let body = try await request.decode(as: ProductLookup.self, context: context)
        guard body.ids.count <= ProductRules.maximumLookupSize else {
            throw APIError.invalidField("ids", "at most \(ProductRules.maximumLookupSize) ids at once")
        }
        return try await repository.find(ids: Array(Set(body.ids))).map(\.api)
    }

    // MARK: - Helpers

    private func page(
        _ request: Request, scope: ProductScope, as view: (ProductRecord) -> Product
    ) async throws -> Page<Product> {
        let limit = try request.pageLimit()
        let filter = ProductFilter(
            search: try Self.search(request.queryString("q")), idPrefix: try request.idPrefix(),
            sku: try Self.sku(request.queryString("sku")))
        let after = try request.queryString("cursor").map(Self.listKey)
        let rows = try await repository.list(scope: scope, filter: filter, after: after, limit: limit + 1)
        let items = rows.prefix(limit)
        let next = rows.count > limit ? items.last.map { Cursor.encode([$0.name, $0.id.lowercased]) } : nil
        return Page(items: items.map(view), nextCursor: next)
    }

    /// `?q=` trimmed; nil when absent or blank. Its length is checked as sent, before trimming.
    static func search(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard text.unicodeScalars.count <= ProductRules.maximumSearchLength, !text.unicodeScalars.contains("\0") else {
            throw APIError.badRequest(
                ErrorCode.invalidQuery, "q must be at most \(ProductRules.maximumSearchLength) characters, without NUL", field: "q")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// `?sku=`, held to the length and characters a sku may have.
    static func sku(_ text: String?) throws -> String? {
        guard let text else { return nil }
        do {
            return try ProductRules.sku(text, field: "sku")
        } catch {
            throw APIError.badRequest(
                ErrorCode.invalidQuery, "sku must be 1 to \(ProductRules.maximumSKULength) characters of A-Z, a-z, 0-9, '.', '_' or '-'",
                field: "sku")
        }
    }

    static func listKey(_ cursor: String) throws -> ProductListKey {
        let parts = try Cursor.decode(cursor, count: 2)
        guard parts[0].unicodeScalars.count <= ProductRules.maximumNameLength, !parts[0].unicodeScalars.contains("\0"),
            let id = UUID(uuidString: parts[1])
        else {
            throw APIError.badRequest(ErrorCode.invalidQuery, "cursor is not valid", field: "cursor")
        }
        return ProductListKey(name: parts[0], id: id)
    }

    /// Reads an import body past the context's 1 MiB limit, refusing unknown keys in every entry.
    private static func importBody(_ request: Request) async throws -> CatalogImport {
        if let contentType = request.headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, code: ErrorCode.unsupportedMediaType, message: "send the body as application/json")
        }
        var buffer = ByteBuffer()
        for try await chunk in request.body {
            guard buffer.readableBytes + chunk.readableBytes <= maximumImportBodySize else {
                throw APIError.from(status: .contentTooLarge)
            }
            buffer.writeImmutableBuffer(chunk)
        }
        return try StrictJSONDecoder.decode(CatalogImport.self, from: Data(buffer.readableBytesView))
    }
}

extension CatalogImport {
    /// Every entry checked before anything is written, so an import applies whole or not at all.
    func validatedEntries() throws -> [CatalogEntry] {
        guard products.count <= ProductRules.maximumImportSize else {
            throw APIError.invalidField("products", "at most \(ProductRules.maximumImportSize) products per import")
        }
        var seen = Set<String>()
        return try products.enumerated().map { index, entry in
            let prefix = "products.\(index)."
            guard let sku = entry.sku else { throw APIError.invalidField(prefix + "sku", "every imported product needs a sku") }
            let product = try entry.validated(fieldPrefix: prefix)
            guard seen.insert(sku).inserted else {
                throw APIError.invalidField(prefix + "sku", "sku \(sku) appears more than once in the import")
            }
            return CatalogEntry(sku: sku, product: product)
        }
    }
}
