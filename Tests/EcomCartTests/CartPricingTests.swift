import EcomAPI
import Foundation
import Testing

@testable import EcomCart

@Suite struct CartPricingTests {
    static func line(_ product: Product, _ quantity: Int) -> CartSnapshot.Line {
        CartSnapshot.Line(id: UUID(), productID: product.id, quantity: quantity)
    }

    @Test("lines are priced at the catalog's prices; unavailable ones are shown but not totalled")
    func totals() throws {
        var archived = Fixture.mug
        archived.isActive = false
        let snapshot = CartSnapshot(version: 7, lines: [Self.line(Fixture.kettle, 2), Self.line(archived, 3)])
        let cart = try Cart(snapshot, products: [Fixture.kettle.id: Fixture.kettle, archived.id: archived].mapValues(CatalogProduct.init))
        #expect(cart.items.map(\.lineTotalCents) == [4_998, 2_697])
        #expect(cart.items.map(\.available) == [true, false])
        #expect(cart.totalCents == 4_998)
        #expect(cart.itemCount == 5)
        #expect(cart.version == 7)
    }

    @Test("a line for more units than are available now is unavailable, with the available count")
    func availability() throws {
        var scarce = Fixture.mug
        scarce.stock = 2
        var soldOut = Fixture.teapot
        soldOut.stock = 0
        var archived = Fixture.kettle
        archived.isActive = false
        let snapshot = CartSnapshot(
            version: 1,
            lines: [Self.line(scarce, 2), Self.line(scarce, 3), Self.line(soldOut, 1), Self.line(archived, 1)])
        let cart = try Cart(snapshot, products: [scarce.id: scarce, soldOut.id: soldOut, archived.id: archived].mapValues(CatalogProduct.init))
        #expect(cart.items.map(\.available) == [true, false, false, false])
        #expect(cart.items.map(\.availableQuantity) == [2, 2, 0, 0])
    }

    @Test("a product the catalog no longer knows leaves its line unavailable instead of failing the cart")
    func unknownProduct() throws {
        let cart = try Cart(CartSnapshot(version: 1, lines: [Self.line(Fixture.kettle, 1)]), products: [:])
        #expect(cart.items.first?.available == false)
        #expect(cart.totalCents == 0)
    }

    @Test("a total past Int64 is an error, not a trap")
    func overflow() {
        var priceless = Fixture.kettle
        priceless.priceCents = .max / 2
        let snapshot = CartSnapshot(version: 1, lines: [Self.line(priceless, 3)])
        #expect(throws: CartTotalOverflow.self) { try Cart(snapshot, products: [priceless.id: CatalogProduct(priceless)]) }
    }
}
