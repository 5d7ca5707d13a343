import EcomAPI
import EcomServerKit
import Foundation
import NIOHTTP1

/// The products service as the cart sees it. The cart stores no names or prices: it asks for
/// them whenever it shows a cart, so what a user sees is always the current catalog.
package struct ProductCatalog: Sendable {
    /// The products among the ids that exist, as the products service's lookup answers.
    private let lookup: @Sendable (_ ids: [UUID], _ requestID: String?) async throws -> [Product]

    package init(products: ServiceClient) {
        self.init { ids, requestID in
            try await products.send(
                .POST, InternalPath.productLookup, body: ProductLookup(ids: ids), requestID: requestID, as: [Product].self)
        }
    }

    /// A catalog answering from `lookup` instead of the products service, so the cart's routes can
    /// be tested on their own.
    package init(lookup: @escaping @Sendable (_ ids: [UUID], _ requestID: String?) async throws -> [Product]) {
        self.lookup = lookup
    }

    /// The products among `ids` that exist, archived ones included; an unreachable products
    /// service throws `APIError.unavailable` (503).
    ///
    /// One request: a cart has at most `CartLimits.maximumLines` products, well under the
    /// lookup's limit of 500 ids.
    func products(_ ids: some Sequence<UUID>, requestID: String?) async throws -> [UUID: Product] {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return [:] }
        let found = try await lookup(ids, requestID)
        return Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
