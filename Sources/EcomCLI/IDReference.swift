import ArgumentParser
import EcomAPI
import EcomClient
import Foundation

/// An id as a person types it: a whole UUID, or its start as tables and messages print it.
///
/// As git and docker do with hashes, any start of at least four hex digits names the one item whose
/// id begins with them. The server finds it (`?id_prefix=` on the list routes), so no list is ever
/// fetched whole; a whole UUID is used as it is, without a lookup.
struct IDReference: Sendable, Equatable {
    static let minimumPrefixLength = 4

    enum Form: Sendable, Equatable {
        case full(UUID)
        /// Lowercased hex digits, dashes dropped.
        case prefix(String)
    }

    var text: String
    var form: Form

    /// A whole UUID, or nil when `text` is not written as one.
    static func full(_ text: String) -> UUID? {
        UUID(uuidString: text)
    }

    /// The hex digits of `text` with dashes dropped, or nil if anything else is in it.
    static func hexDigits(_ text: String) -> String? {
        let digits = text.lowercased().filter { $0 != "-" }
        guard !digits.isEmpty, digits.count <= 32, digits.allSatisfy(\.isHexDigit) else { return nil }
        return digits
    }

    /// The `transform` of id arguments: a usage error (exit 64) says what an id looks like.
    static func parse(_ text: String) throws -> IDReference {
        if let id = full(text) { return IDReference(text: text, form: .full(id)) }
        guard let digits = hexDigits(text) else {
            throw ValidationError("an id is hexadecimal, like the ID column shows (4c1bef23) or whole")
        }
        guard digits.count >= minimumPrefixLength else {
            throw ValidationError("give at least \(minimumPrefixLength) characters of the id")
        }
        return IDReference(text: text, form: .prefix(digits))
    }

    /// The whole id: as given, or the one item whose id starts with the prefix.
    ///
    /// `find` asks the server for the items matching a prefix; more than one is an error naming them.
    func resolve<Item>(
        _ noun: String, find: (IDMatch, PageRequest) async throws -> Page<Item>, id: (Item) -> UUID, label: (Item) -> String
    ) async throws -> UUID {
        switch form {
        case .full(let id):
            return id
        case .prefix(let digits):
            let matches = try await find(IDMatch(idPrefix: digits), PageRequest(limit: Self.shownCandidates)).items
            return try Self.one(of: matches, noun: noun, described: "whose id starts with \(text)", id: id, label: label)
        }
    }

    /// The one id in `matches`, else an error: none, or the candidates (exit 1).
    static func one<Item>(
        of matches: [Item], noun: String, described: String, id: (Item) -> UUID, label: (Item) -> String
    ) throws -> UUID {
        guard let first = matches.first else { throw CommandFailure("no \(noun) \(described)") }
        guard matches.count > 1 else { return id(first) }
        let shown = matches.prefix(shownCandidates - 1)
        var lines = shown.map { "  \(id($0).lowercased)  \(label($0))" }
        if matches.count > shown.count { lines.append("  …") }
        throw CommandFailure(
            "more than one \(noun) \(described); give more of the id:\n" + lines.joined(separator: "\n"))
    }

    /// Candidates listed for an ambiguous prefix; one more is fetched to know whether there are others.
    static let shownCandidates = 11
}

/// A product named by its id, the start of its id, or its SKU (`BOOK-0008`).
struct ProductReference: Sendable, Equatable {
    var text: String

    /// The `transform` of product arguments.
    static func parse(_ text: String) throws -> ProductReference {
        guard IDReference.full(text) != nil || mayBeSKU(text) else {
            throw ValidationError("a product is named by its id, the start of it (4c1bef23), or its SKU (letters, digits, '.', '_', '-')")
        }
        return ProductReference(text: text)
    }

    /// The product's id. A SKU that matches wins over an id prefix, since a SKU is exact.
    ///
    /// `find` lists the products matching an id prefix or a sku: the admin list for admin
    /// commands, so that inactive and archived products can be named too.
    func resolve(find: (IDMatch, PageRequest) async throws -> Page<Product>) async throws -> UUID {
        if let id = IDReference.full(text) { return id }
        let label = { (product: Product) in "\(product.sku)  \(product.name)" }
        if Self.mayBeSKU(text) {
            let bySKU = try await find(IDMatch(sku: text), PageRequest(limit: 1)).items
            if let product = bySKU.first { return product.id }
        }
        guard let digits = IDReference.hexDigits(text) else { throw CommandFailure("no product has the SKU \(text)") }
        guard digits.count >= IDReference.minimumPrefixLength else {
            throw ValidationError("no product has the SKU \(text); an id needs at least \(IDReference.minimumPrefixLength) characters")
        }
        return try await IDReference(text: text, form: .prefix(digits)).resolve("product", find: find, id: \.id, label: label)
    }

    /// Whether the server would take `text` as a sku (letters, digits, '.', '_', '-'; at most 64).
    static func mayBeSKU(_ text: String) -> Bool {
        (1...64).contains(text.unicodeScalars.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}

extension GatewayClient {
    /// The product a shopper names, among the products on sale.
    func productID(_ reference: ProductReference) async throws -> UUID {
        try await reference.resolve { match, page in try await products(match: match, page: page) }
    }

    /// The product an admin names, among every product.
    func adminProductID(_ reference: ProductReference) async throws -> UUID {
        try await reference.resolve { match, page in try await allProducts(match: match, page: page) }
    }

    /// One of the caller's orders.
    func orderID(_ reference: IDReference) async throws -> UUID {
        try await reference.resolve(
            "order of yours", find: { match, page in try await orders(match: match, page: page) }, id: \.id, label: Self.orderLabel)
    }

    /// Any customer's order.
    func adminOrderID(_ reference: IDReference) async throws -> UUID {
        try await reference.resolve(
            "order", find: { match, page in try await allOrders(match: match, page: page) }, id: \.id, label: Self.orderLabel)
    }

    /// A line of the caller's cart, found in the cart itself (a cart is small and the server sends it whole).
    func cartLineID(_ reference: IDReference) async throws -> UUID {
        let digits: String
        switch reference.form {
        case .full(let id): return id
        case .prefix(let prefix): digits = prefix
        }
        let lines = try await cart().items.filter { $0.id.lowercased.filter { $0 != "-" }.hasPrefix(digits) }
        return try IDReference.one(of: lines, noun: "line in your cart", described: "whose id starts with \(reference.text)", id: \.id) {
            "\($0.name) × \($0.quantity)"
        }
    }

    private static func orderLabel(_ order: Order) -> String {
        "\(order.status.rawValue)  \(Money.format(order.totalCents))  \(order.createdAt.formatted(.iso8601))"
    }
}
