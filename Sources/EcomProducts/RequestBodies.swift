import EcomAPI
import EcomServerKit

extension ProductCreate: APIRequestBody {}
extension ProductUpdate: APIPatchBody {
    package static var clearableFields: Set<String> { [CodingKeys.lowStockThreshold.stringValue] }
}
extension StockAdjustment: APIRequestBody {}
extension CatalogImport: APIRequestBody {}
extension ProductLookup: APIRequestBody {}
