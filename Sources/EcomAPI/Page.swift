/// One page of a list: `{"items": [...], "next_cursor": "..." | null}`.
///
/// `nextCursor` is opaque; pass it back as `?cursor=` to get the following page.
package struct Page<Item: Codable & Sendable>: Codable, Sendable {
    package var items: [Item]
    package var nextCursor: String?

    package init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        // Always present, `null` on the last page, so clients can test for it.
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

package enum Pagination {
    package static let defaultLimit = 20
    package static let maximumLimit = 100
    /// The longest `q` of the product lists, in Unicode scalars.
    package static let maximumSearchLength = 200
}
