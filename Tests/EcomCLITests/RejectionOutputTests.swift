import EcomAPI
import Foundation
import Testing

@testable import EcomCLI

@Suite struct RejectionOutputTests {
    static func line(quantity: Int, available: Bool, count: Int?) -> CartLine {
        CartLine(
            id: UUID(), productID: Sample.mug.id, name: "Mug", unitPriceCents: 1250, quantity: quantity,
            lineTotalCents: 1250 * Int64(quantity), available: available, availableQuantity: count)
    }

    @Test("a cart line says yes, only N or no, by what is available now")
    func availability() {
        #expect(Self.line(quantity: 2, available: true, count: 5).availability == "yes")
        #expect(Self.line(quantity: 3, available: false, count: 2).availability == "only 2")
        #expect(Self.line(quantity: 3, available: false, count: 0).availability == "no")
        // A server that does not send the count still gets yes or no.
        #expect(Self.line(quantity: 3, available: true, count: nil).availability == "yes")
        #expect(Self.line(quantity: 3, available: false, count: nil).availability == "no")
    }

    @Test("a rejection names the products that could not be reserved, with wanted and available units")
    func summary() {
        var order = Sample.order
        order.status = .rejected
        order.reason = "insufficient_stock"
        order.rejection = OrderRejection(
            reason: "insufficient_stock", lines: [RejectedLine(productID: Sample.tea.id, name: "Green tea", requested: 3, available: 1)])
        #expect(EcomCommand.OrderCommand.rejectionSummary(order)
            == "insufficient_stock; could not reserve Green tea (3 wanted, 1 available); the order's lines go back to your cart")
        order.reason = "timeout"
        order.rejection = OrderRejection(
            reason: "timeout", lines: [RejectedLine(productID: Sample.mug.id, name: "Mug", requested: 2, available: nil)])
        #expect(EcomCommand.OrderCommand.rejectionSummary(order)
            == "timeout; stock was not reserved in time for Mug (2 wanted); the order's lines go back to your cart")
        order.rejection = nil
        #expect(EcomCommand.OrderCommand.rejectionSummary(order) == "timeout")
    }
}
