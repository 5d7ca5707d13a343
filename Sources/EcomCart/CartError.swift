import EcomAPI
import EcomServerKit
import HTTPTypes

/// The cart service's own answers, with their stable codes.
enum CartError {
    static let productNotFound = APIError(
        .notFound, code: "product_not_found", message: "no product with this id is for sale", field: "product_id")

    static let quantityLimit = APIError.conflict(
        "quantity_limit", "a cart line holds at most \(CartLimits.maximumQuantity) units", field: "quantity")

    static let cartFull = APIError.conflict(
        "cart_full", "a cart holds at most \(CartLimits.maximumLines) different products")

    static let lineNotFound = APIError.notFound("cart item")
}
