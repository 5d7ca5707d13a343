import EcomAPI
import EcomServerKit
import Foundation

extension ProductCreate: APIRequestBody {
    package static let fields: Set<String> = ["sku", "name", "description", "price_cents", "stock", "is_active"]
}

extension ProductUpdate: APIRequestBody {
    package static let fields = ProductCreate.fields
}

extension StockAdjustment: APIRequestBody {
    package static let fields: Set<String> = ["delta", "reason"]
}

extension CatalogImport: APIRequestBody {
    package static let fields: Set<String> = ["products"]
}

extension ProductLookup: APIRequestBody {
    package static let fields: Set<String> = ["ids"]
}

/// The body of `PATCH /admin/products/{id}`.
///
/// A `null` would decode as "absent" and silently change nothing, so it is refused: a caller
/// who sends `"description": null` learns that it did not clear the description.
struct ProductPatch: APIRequestBody {
    static let fields = ProductUpdate.fields
    var update: ProductUpdate

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where try container.decodeNil(forKey: key) {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: [key], debugDescription: "\(key.stringValue) must not be null"))
        }
        update = try ProductUpdate(from: decoder)
    }
}

/// The body of `POST /admin/products/import` (and the seed file), with unknown keys refused in
/// every entry too: `StrictJSONDecoder` checks only the top level, and a typo such as
/// `"is_actve"` in one of ten thousand entries must not pass as "absent".
struct CatalogImportRequest: APIRequestBody {
    static let fields = CatalogImport.fields
    var products: [StrictObject<ProductCreate>]

    var catalog: CatalogImport { CatalogImport(products: products.map(\.value)) }
}

/// A nested JSON object that may carry only the keys `Value` names.
struct StrictObject<Value: APIRequestBody>: Decodable {
    var value: Value

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.map(\.stringValue).filter({ !Value.fields.contains($0) }).min() {
            let field = (decoder.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue } + [unknown])
                .joined(separator: ".")
            throw APIError.badRequest(ErrorCode.unknownField, "unknown field \"\(field)\"", field: field)
        }
        value = try Value(from: decoder)
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}
