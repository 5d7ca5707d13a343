import EcomAPI
import EcomServerKit

extension ProductCreate: APIRequestBody {}
extension ProductUpdate: APIPatchBody {}
extension StockAdjustment: APIRequestBody {}
extension CatalogImport: APIRequestBody {}
extension ProductLookup: APIRequestBody {}
