import EcomAPI
import Foundation

extension Cart {
    /// A stored cart as the API shows it, at the catalog's current prices.
    ///
    /// A line whose product is archived or inactive stays in the cart, shown with its price but
    /// marked unavailable and left out of the total, so the user sees why checkout refuses it.
    /// A line for more units than are available now is marked unavailable too, with the count,
    /// so the user sees before checkout which line the order would be rejected for.
    init(_ snapshot: CartSnapshot, products: [UUID: CatalogProduct]) throws {
        var total: Int64 = 0
        let lines = try snapshot.lines.map { line in
            // Products are archived, never deleted, so a product missing from the catalog means the
            // catalog lost it: the line is shown as unavailable rather than breaking the whole cart.
            let product = products[line.productID]
            let unitPrice = product?.priceCents ?? 0
            let lineTotal = try checked(unitPrice.multipliedReportingOverflow(by: Int64(line.quantity)))
            let forSale = product?.isActive ?? false
            if forSale { total = try checked(total.addingReportingOverflow(lineTotal)) }
            let availableQuantity = forSale ? max(0, product?.stock ?? 0) : 0
            return CartLine(
                id: line.id, productID: line.productID, name: product?.name ?? "unknown product",
                unitPriceCents: unitPrice, quantity: line.quantity, lineTotalCents: lineTotal,
                available: forSale && availableQuantity >= line.quantity, availableQuantity: availableQuantity)
        }
        self.init(
            items: lines, totalCents: total, itemCount: snapshot.lines.reduce(0) { $0 + $1.quantity },
            version: snapshot.version)
    }
}

/// A cart total past `Int64.max` cents: answered as a bare 500 and logged, never a trap that
/// would take every service in the process down with it.
struct CartTotalOverflow: Error {}

private func checked(_ result: (partialValue: Int64, overflow: Bool)) throws -> Int64 {
    guard !result.overflow else { throw CartTotalOverflow() }
    return result.partialValue
}
