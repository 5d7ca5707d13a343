import EcomAPI
import EcomServerKit
import Foundation
import NIOHTTP1

/// The products service as the cart sees it. The cart stores no names or prices: it asks for
/// them whenever it shows a cart, so what a user sees is always the current catalog.
package struct ProductCatalog: Sendable {
    /// The products among the ids that exist, as the products service's lookup answers.
    private let lookup: @Sendable (_ ids: [UUID], _ requestID: String?) async throws -> [CatalogProduct]

    package init(products: ServiceClient) {
        lookup = { ids, requestID in
            try await products.send(
                .POST, InternalPath.productLookup, body: ProductLookup(ids: ids), requestID: requestID, as: [CatalogProduct].self)
        }
    }

    /// A catalog answering from `lookup` instead of the products service, so the cart's routes can
    /// be tested on their own.
    package init(lookup: @escaping @Sendable (_ ids: [UUID], _ requestID: String?) async throws -> [Product]) {
        self.lookup = { ids, requestID in try await lookup(ids, requestID).map(CatalogProduct.init) }
    }

    /// The products among `ids` that exist, archived ones included; an unreachable products
    /// service throws `APIError.unavailable` (503).
    ///
    /// One request: a cart has at most `CartLimits.maximumLines` products, well under the
    /// lookup's limit of 500 ids.
    func products(_ ids: some Sequence<UUID>, requestID: String?) async throws -> [UUID: CatalogProduct] {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return [:] }
        let found = try await lookup(ids, requestID)
        return Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// What the cart shows of a product: the lookup's answer read without the fields it does not use, so
/// pricing a cart decodes no timestamps or descriptions.
package struct CatalogProduct: Decodable, Sendable, Equatable {
    @LowercaseUUID package var id: UUID
    package var name: String
    package var priceCents: Int64
    /// Units available to reserve now.
    package var stock: Int
    package var isActive: Bool

    package init(_ product: Product) {
        id = product.id
        name = product.name
        priceCents = product.priceCents
        stock = product.stock
        isActive = product.isActive
    }

    enum CodingKeys: String, CodingKey {
        case id, name, stock
        case priceCents = "price_cents"
        case isActive = "is_active"
    }
}
