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
    /// Keeps the public reads' encoded answers and tells other processes about changes; without it,
    /// every read queries and encodes, and other processes are not told.
    let freshness: CatalogFreshness?

    package init(repository: any ProductRepository, freshness: CatalogFreshness? = nil) {
        self.repository = repository
        self.freshness = freshness
    }

    private var cache: ProductCache? { freshness?.cache }

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

    /// A page's answer is its products' encodings joined (see `EncodedJSON`), from the cache when it has
    /// the page and each of its products.
    @Sendable func listCatalog(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let query = try ListQuery(request)
        let key = query.cacheKey
        if let body = cache?.page(key) { return EncodedJSON.response(body) }
        let ticket = cache?.ticket()
        let (rows, next) = try await page(query, scope: .catalog)
        let encoder = JSONEncoder.ecom
        let products = try rows.map { (id: $0.id, product: try Self.encoded($0, with: encoder)) }
        let tail = try EncodedJSON.pageTail(nextCursor: next, with: encoder)
        if let ticket { cache?.store(products, page: (key, tail), ticket: ticket) }
        return EncodedJSON.response(EncodedJSON.page(products.map(\.product.json), tail: tail))
    }

    /// Unknown, inactive and archived products all answer 404: shoppers cannot tell them apart.
    @Sendable func getFromCatalog(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let id = try context.uuidParameter()
        let product: ProductCache.EncodedProduct
        if let cached = cache?.product(id, for: .product) {
            product = cached
        } else {
            let ticket = cache?.ticket()
            guard let record = try await repository.find(id: id) else { throw APIError.notFound("product") }
            product = try Self.encoded(record, with: .ecom)
            if let ticket { cache?.store([(id, product)], ticket: ticket) }
        }
        guard product.isOnSale else { throw APIError.notFound("product") }
        return EncodedJSON.response(product.json)
    }

    // MARK: - Administration

    @Sendable func list(_ request: Request, context: EcomRequestContext) async throws -> Page<Product> {
        _ = try context.requireAdmin()
        let (rows, next) = try await page(try ListQuery(request), scope: .all)
        return Page(items: rows.map(\.adminAPI), nextCursor: next)
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
        freshness?.changed(.listings([product.id]))
        context.logger.info(
            "product created", metadata: ["product_id": "\(product.id.lowercased)", "sku": "\(product.sku)", "by": "\(admin.subject)"])
        return EditedResponse(status: .created, response: product.adminAPI)
    }

    @Sendable func update(_ request: Request, context: EcomRequestContext) async throws -> Product {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        let changes = try await request.decode(as: ProductUpdate.self, context: context).validated()
        guard let product = try await repository.update(id: id, with: changes) else { throw APIError.notFound("product") }
        // Price and stock are in no list's filter or order; the other fields can move the product between pages.
        let listed = changes.sku != nil || changes.name != nil || changes.description != nil || changes.isActive != nil
        freshness?.changed(listed ? .listings([id]) : .products([id]))
        context.logger.info("product updated", metadata: ["product_id": "\(id.lowercased)", "by": "\(admin.subject)"])
        return product.adminAPI
    }

    /// Archives rather than deletes: past orders and carts still resolve the product.
    @Sendable func archive(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        guard try await repository.archive(id: id) else { throw APIError.notFound("product") }
        freshness?.changed(.listings([id]))
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
        freshness?.changed(.products([id]))
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
        if result.created + result.updated > 0 { freshness?.changed(.everything) }
        context.logger.info(
            "catalog imported",
            metadata: ["created": "\(result.created)", "updated": "\(result.updated)", "unchanged": "\(result.unchanged)", "by": "\(admin.subject)"])
        return result
    }

    // MARK: - Internal

    /// Names, prices and availability for the cart and orders; archived and inactive products are
    /// included so past lines still resolve, and callers check `is_active`.
    /// The answer lists the products in id order, as PostgreSQL orders uuids (by their bytes).
    @Sendable func lookup(_ request: Request, context: EcomRequestContext) async throws -> Response {
        _ = try context.requireService()
        let body = try await request.decode(as: ProductLookup.self, context: context)
        guard body.ids.count <= ProductRules.maximumLookupSize else {
            throw APIError.invalidField("ids", "at most \(ProductRules.maximumLookupSize) ids at once")
        }
        let ids = Set(body.ids)
        var found = cache?.products(ids) ?? [:]
        if found.count < ids.count {
            let ticket = cache?.ticket()
            let encoder = JSONEncoder.ecom
            let fetched = try await repository.find(ids: Array(ids.subtracting(found.keys))).map {
                (id: $0.id, product: try Self.encoded($0, with: encoder))
            }
            if let ticket { cache?.store(fetched, ticket: ticket) }
            for (id, product) in fetched { found[id] = product }
        }
        let ordered = found.keys.sorted(by: Self.precedesInPostgres)
        return EncodedJSON.response(EncodedJSON.array(ordered.map { found[$0]!.json }))
    }

    // MARK: - Helpers

    /// The query of a product list, checked.
    struct ListQuery {
        var limit: Int
        var filter: ProductFilter
        var after: ProductListKey?

        init(_ request: Request) throws {
            limit = try request.pageLimit()
            filter = ProductFilter(
                search: try ProductsController.search(request.queryString("q")), idPrefix: try request.idPrefix(),
                sku: try ProductsController.sku(request.queryString("sku")))
            after = try request.queryString("cursor").map(ProductsController.listKey)
        }

        /// Queries that ask for the same page have the same key, however they were spelled.
        var cacheKey: ProductCache.PageKey {
            ProductCache.PageKey(
                limit: limit, search: filter.search, idLower: filter.idPrefix?.lower, idUpper: filter.idPrefix?.upper,
                sku: filter.sku, afterName: after?.name, afterID: after?.id)
        }
    }

    /// A page's products and the cursor of the next page, nil on the last.
    private func page(_ query: ListQuery, scope: ProductScope) async throws -> (ArraySlice<ProductRecord>, String?) {
        let rows = try await repository.list(scope: scope, filter: query.filter, after: query.after, limit: query.limit + 1)
        let items = rows.prefix(query.limit)
        let next = rows.count > query.limit ? items.last.map { Cursor.encode([$0.name, $0.id.lowercased]) } : nil
        return (items, next)
    }

    /// A product as the catalog and the lookup show it, encoded.
    static func encoded(_ record: ProductRecord, with encoder: JSONEncoder) throws -> ProductCache.EncodedProduct {
        let product = record.api
        return ProductCache.EncodedProduct(json: try EncodedJSON.product(product, with: encoder), isOnSale: product.isActive)
    }

    /// Whether `a` sorts before `b` in PostgreSQL, which compares uuids byte by byte.
    static func precedesInPostgres(_ a: UUID, _ b: UUID) -> Bool {
        withUnsafeBytes(of: a.uuid) { a in withUnsafeBytes(of: b.uuid) { b in a.lexicographicallyPrecedes(b) } }
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
