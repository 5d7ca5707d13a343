import EcomAPI
import Foundation
import Testing

@Suite struct InternalPathTests {
    @Test("each path a caller sends is its route's pattern with the user's id in place of :user_id")
    func callersMatchRoutes() {
        let user = UUID()
        let id = user.uuidString.lowercased()
        #expect(InternalPath.cart(user) == InternalPath.cartRoute.replacingOccurrences(of: ":user_id", with: id))
        #expect(InternalPath.cartOrders(user) == InternalPath.cartOrdersRoute.replacingOccurrences(of: ":user_id", with: id))
        #expect(InternalPath.cart(user) == "/internal/carts/\(id)")
        #expect(InternalPath.cartOrders(user) == "/internal/carts/\(id)/orders")
        #expect(InternalPath.cartContents(user) == "/internal/carts/\(id)?priced=false")
    }

    @Test("every service-only path is under /internal/, where the gateway routes nothing")
    func allInternal() {
        let paths = [
            InternalPath.productLookup, InternalPath.cartRoute, InternalPath.cartOrdersRoute, InternalPath.demoAdmin,
            InternalPath.revocations,
        ]
        #expect(paths.allSatisfy { $0.hasPrefix("/internal/") })
        #expect(Set(paths).count == paths.count)
    }
}
