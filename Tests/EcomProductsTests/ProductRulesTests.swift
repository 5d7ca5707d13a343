import EcomAPI
import EcomServerKit
import Foundation
import HTTPTypes
import Testing

@testable import EcomProducts

@Suite struct ProductRulesTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var product: ProductCreate
        var field: String
        var testDescription: String { "refuses \(field): \(product)" }
    }

    static let valid = ProductCreate(sku: "ELEC-0001", name: "Lamp", description: "Bright.", priceCents: 1999, stock: 3, isActive: true)

    static func with(_ change: (inout ProductCreate) -> Void) -> ProductCreate {
        var product = valid
        change(&product)
        return product
    }

    static let invalid: [Case] = [
        Case(product: with { $0.name = "" }, field: "name"),
        Case(product: with { $0.name = " \n\t " }, field: "name"),
        Case(product: with { $0.name = String(repeating: "n", count: 201) }, field: "name"),
        // 200 characters, 201 Unicode scalars: PostgreSQL's char_length counts scalars.
        Case(product: with { $0.name = String(repeating: "n", count: 199) + "e\u{301}" }, field: "name"),
        Case(product: with { $0.name = "two\nlines" }, field: "name"),
        // The length is that of the name as sent, surrounding white space included.
        Case(product: with { $0.name = " " + String(repeating: "n", count: 200) }, field: "name"),
        Case(product: with { $0.name = "\u{A0}\u{3000} " }, field: "name"),
        Case(product: with { $0.description = String(repeating: "d", count: 5001) }, field: "description"),
        Case(product: with { $0.description = "cut\0short" }, field: "description"),
        Case(product: with { $0.priceCents = 0 }, field: "price_cents"),
        Case(product: with { $0.priceCents = -1 }, field: "price_cents"),
        Case(product: with { $0.priceCents = 100_000_000_001 }, field: "price_cents"),
        Case(product: with { $0.priceCents = .max }, field: "price_cents"),
        Case(product: with { $0.stock = -1 }, field: "stock"),
        Case(product: with { $0.stock = 1_000_001 }, field: "stock"),
        Case(product: with { $0.sku = "" }, field: "sku"),
        Case(product: with { $0.sku = "has space" }, field: "sku"),
        Case(product: with { $0.sku = "ÜBER-1" }, field: "sku"),
        Case(product: with { $0.sku = String(repeating: "S", count: 65) }, field: "sku"),
    ]

    @Test("a product breaking one rule is refused with that field", arguments: invalid)
    func refuses(_ example: Case) throws {
        let error = try #require(throws: APIError.self) { try example.product.validated() }
        #expect(error.status == .badRequest)
        #expect(error.code == ErrorCode.invalidField)
        #expect(error.field == example.field)
    }

    @Test("bounds are inclusive and names are trimmed")
    func bounds() throws {
        #expect(try Self.with { $0.name = "  Lamp\u{A0}\u{3000}\n" }.validated().name == "Lamp")
        let product = try Self.with {
            $0.name = String(repeating: "n", count: 200)
            $0.description = String(repeating: "d", count: 5000)
            $0.priceCents = 100_000_000_000
            $0.stock = 1_000_000
            $0.sku = "a.B_c-" + String(repeating: "9", count: 58)
        }.validated()
        #expect(product.name == String(repeating: "n", count: 200))
        #expect(try Self.with { $0.priceCents = 1; $0.stock = 0 }.validated().priceCents == 1)
    }

    @Test("an empty update is refused, and each present field is checked as on create")
    func updates() throws {
        #expect(try #require(throws: APIError.self) { try ProductUpdate().validated() }.code == ErrorCode.invalidBody)
        #expect(try #require(throws: APIError.self) { try ProductUpdate(priceCents: 0).validated() }.field == "price_cents")
        #expect(try ProductUpdate(name: " Lamp ").validated() == ProductUpdate(name: "Lamp"))
    }

    @Test("a stock adjustment needs a non-zero delta and a one-line reason", arguments: [
        (StockAdjustment(delta: 0, reason: "count"), "delta"),
        (StockAdjustment(delta: Int.min, reason: "count"), "delta"),
        (StockAdjustment(delta: 1_000_001, reason: "count"), "delta"),
        (StockAdjustment(delta: 5, reason: "  "), "reason"),
        (StockAdjustment(delta: 5, reason: String(repeating: "r", count: 201)), "reason"),
        (StockAdjustment(delta: 5, reason: "two\nlines"), "reason"),
    ])
    func adjustments(_ adjustment: StockAdjustment, field: String) throws {
        #expect(try #require(throws: APIError.self) { try adjustment.validated() }.field == field)
    }

    @Test("an import names the entry and field at fault, and needs a sku per entry")
    func importEntries() throws {
        func field(_ products: [ProductCreate]) throws -> String? {
            try #require(throws: APIError.self) { try CatalogImport(products: products).validatedEntries() }.field
        }
        #expect(try field([Self.valid, Self.with { $0.sku = nil }]) == "products.1.sku")
        #expect(try field([Self.valid, Self.with { $0.priceCents = 0; $0.sku = "OTHER" }]) == "products.1.price_cents")
        #expect(try field([Self.valid, Self.valid]) == "products.1.sku")
        #expect(try field(Array(repeating: Self.valid, count: 10_001)) == "products")
    }

    @Test("the sample catalog is a valid import of a few dozen active products")
    func sampleCatalog() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../fixtures/catalog.json").standardized
        let catalog = try StrictJSONDecoder.decode(CatalogImport.self, from: try Data(contentsOf: file))
        let entries = try catalog.validatedEntries()
        #expect((30...40).contains(entries.count))
        #expect(entries.allSatisfy { $0.product.isActive == true && !($0.product.description ?? "").isEmpty })
        #expect(entries.contains { $0.product.stock == 0 })
    }

    @Test("unknown keys inside import entries are refused, with their path")
    func unknownNestedKeys() throws {
        let json = #"{"products": [{"sku": "A", "name": "A", "price_cents": 1}, {"sku": "B", "name": "B", "price_cents": 1, "is_actve": true}]}"#
        let error = try #require(throws: APIError.self) {
            try StrictJSONDecoder.decode(CatalogImport.self, from: Data(json.utf8))
        }
        #expect(error.code == ErrorCode.unknownField)
        #expect(error.field == "products.1.is_actve")
    }

    @Test("a null in a PATCH body is refused rather than read as absent")
    func nullInPatch() throws {
        let error = try #require(throws: APIError.self) {
            try StrictJSONDecoder.decode(ProductUpdate.self, from: Data(#"{"name": "Lamp", "description": null}"#.utf8))
        }
        #expect(error.code == ErrorCode.invalidField)
        #expect(error.field == "description")
    }

    @Test("search text is matched literally inside LIKE patterns")
    func likeEscaping() {
        #expect(PostgresProductRepository.escapedForLike(#"100% snake_case \ ok"#) == #"100\% snake\_case \\ ok"#)
    }
}
