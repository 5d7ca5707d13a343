import EcomAPI
import Foundation

@testable import EcomCart

/// `CartRepository` in memory, for tests of the routes' own logic: the same answers as
/// `PostgresCartRepository` for one caller at a time. Concurrent edits and the event handler's
/// statements stay with the PostgreSQL tests.
actor MemoryCartRepository: CartRepository {
    private enum OrderState { case removed, restoring, restored }

    private struct AppliedOrder {
        var userID: UUID
        var state: OrderState
        var lines: [OrderedQuantity]
        var updatedAt: Date
    }

    /// Versions come from one sequence for every cart, as in the database, so none is handed out twice.
    private var lastVersion: Int64 = 0
    private var carts: [UUID: CartSnapshot] = [:]
    private var orders: [UUID: AppliedOrder] = [:]

    func cart(of userID: UUID) -> CartSnapshot {
        carts[userID] ?? CartSnapshot(version: 0, lines: [])
    }

    func add(productID: UUID, quantity: Int, for userID: UUID) throws -> (cart: CartSnapshot, lineID: UUID, newLine: Bool) {
        var cart = cart(of: userID)
        let lineID: UUID
        let newLine: Bool
        if let index = cart.lines.firstIndex(where: { $0.productID == productID }) {
            guard cart.lines[index].quantity + quantity <= CartLimits.maximumQuantity else { throw CartError.quantityLimit }
            cart.lines[index].quantity += quantity
            (lineID, newLine) = (cart.lines[index].id, false)
        } else {
            guard cart.lines.count < CartLimits.maximumLines else { throw CartError.cartFull }
            (lineID, newLine) = (UUID(), true)
            cart.lines.append(CartSnapshot.Line(id: lineID, productID: productID, quantity: quantity))
        }
        return (store(cart, for: userID), lineID, newLine)
    }

    func setQuantity(_ quantity: Int, ofLine lineID: UUID, for userID: UUID) throws -> CartSnapshot {
        var cart = cart(of: userID)
        guard let index = cart.lines.firstIndex(where: { $0.id == lineID }) else { throw CartError.lineNotFound }
        cart.lines[index].quantity = quantity
        return store(cart, for: userID)
    }

    func removeLine(_ lineID: UUID, for userID: UUID) throws -> CartSnapshot {
        var cart = cart(of: userID)
        guard let index = cart.lines.firstIndex(where: { $0.id == lineID }) else { throw CartError.lineNotFound }
        cart.lines.remove(at: index)
        return store(cart, for: userID)
    }

    func clear(for userID: UUID) {
        store(CartSnapshot(version: 0, lines: []), for: userID)
    }

    func applyOrder(_ order: CartOrderApplied, for userID: UUID) -> Bool {
        guard orders[order.orderID] == nil else { return false }
        orders[order.orderID] = AppliedOrder(userID: userID, state: .removed, lines: [], updatedAt: Date())
        var cart = cart(of: userID)
        for (productID, quantity) in Self.quantities(order.lines) where quantity > 0 {
            guard let index = cart.lines.firstIndex(where: { $0.productID == productID }) else { continue }
            cart.lines[index].quantity -= quantity
            if cart.lines[index].quantity <= 0 { cart.lines.remove(at: index) }
        }
        store(cart, for: userID)
        return true
    }

    /// What the `order.rejected` handler records: the order's lines are to come back, unless they
    /// already have. False if the order was seen rejected before.
    @discardableResult
    func markRejected(_ order: CartOrderApplied, for userID: UUID) -> Bool {
        if let current = orders[order.orderID], current.state != .removed { return false }
        orders[order.orderID] = AppliedOrder(userID: userID, state: .restoring, lines: order.lines, updatedAt: Date())
        return true
    }

    func ordersToRestore(limit: Int) -> [RejectedOrderLines] {
        orders.filter { $0.value.state == .restoring }
            .sorted { $0.value.updatedAt < $1.value.updatedAt }
            .prefix(limit)
            .map { RejectedOrderLines(orderID: $0.key, userID: $0.value.userID, lines: $0.value.lines) }
    }

    func restore(_ order: RejectedOrderLines, forSale: Set<UUID>) -> Bool {
        // The cart's version moves first, whether or not this call finds the order waiting.
        var cart = store(cart(of: order.userID), for: order.userID)
        guard orders[order.orderID]?.state == .restoring else { return false }
        orders[order.orderID]?.state = .restored
        let ordered = Self.quantities(order.lines)
        for line in order.lines where forSale.contains(line.productID) {
            guard let quantity = ordered[line.productID], quantity > 0 else { continue }
            let wanted = min(quantity, CartLimits.maximumQuantity)
            if let index = cart.lines.firstIndex(where: { $0.productID == line.productID }) {
                cart.lines[index].quantity = max(cart.lines[index].quantity, wanted)
            } else if cart.lines.count < CartLimits.maximumLines {
                // A full cart keeps what it holds; the order still lists what did not fit.
                cart.lines.append(CartSnapshot.Line(id: UUID(), productID: line.productID, quantity: wanted))
            }
        }
        carts[order.userID]?.lines = cart.lines
        return true
    }

    // MARK: - Helpers

    /// Stores `cart` under a version no cart has had.
    @discardableResult
    private func store(_ cart: CartSnapshot, for userID: UUID) -> CartSnapshot {
        lastVersion += 1
        let stored = CartSnapshot(version: lastVersion, lines: cart.lines)
        carts[userID] = stored
        return stored
    }

    private static func quantities(_ lines: [OrderedQuantity]) -> [UUID: Int] {
        Dictionary(lines.map { ($0.productID, $0.quantity) }, uniquingKeysWith: +)
    }
}
