import EcomAPI
import EcomServerKit
import EcomTestSupport
import Foundation
import Testing

@testable import EcomCart

/// What the routes rely on from a `CartRepository`, checked on the in-memory one and, with a
/// database, on PostgreSQL: the in-memory repository answers as the real one does.
@Suite struct CartRepositoryContractTests {
    static func withRepository(_ backend: RepositoryBackend, _ body: @escaping @Sendable (any CartRepository) async throws -> Void) async throws {
        switch backend {
        case .memory: try await body(MemoryCartRepository())
        case .postgres: try await CartHarness.run { harness in try await body(harness.repository) }
        }
    }

    @Test("every edit gives a version never handed out; a refused edit changes nothing, its version included", arguments: RepositoryBackend.available)
    func versionsAndRefusals(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let (owner, stranger, product) = (UUID(), UUID(), UUID())
            #expect(try await repository.cart(of: owner) == CartSnapshot(version: 0, lines: []))
            let added = try await repository.add(productID: product, quantity: 2, for: owner)
            #expect(added.newLine && added.cart.version > 0)
            #expect(added.cart.lines == [CartSnapshot.Line(id: added.lineID, productID: product, quantity: 2)])
            let grown = try await repository.add(productID: product, quantity: 3, for: owner)
            #expect(!grown.newLine && grown.lineID == added.lineID && grown.cart.lines.map(\.quantity) == [5])

            #expect(await refusal { _ = try await repository.add(productID: product, quantity: CartLimits.maximumQuantity - 4, for: owner) } == "quantity_limit")
            #expect(await refusal { _ = try await repository.setQuantity(1, ofLine: added.lineID, for: stranger) } == ErrorCode.notFound)
            #expect(await refusal { _ = try await repository.removeLine(UUID(), for: owner) } == ErrorCode.notFound)
            #expect(try await repository.cart(of: owner) == grown.cart)
            #expect(try await repository.cart(of: stranger).version == 0)

            let set = try await repository.setQuantity(1, ofLine: added.lineID, for: owner)
            try await repository.clear(for: owner)
            let cleared = try await repository.cart(of: owner)
            let other = try await repository.add(productID: product, quantity: 1, for: stranger)
            let versions = [added.cart.version, grown.cart.version, set.version, cleared.version, other.cart.version]
            #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "\(versions)")
            #expect(cleared.lines.isEmpty)
        }
    }

    @Test("a full cart refuses a new product but takes more of one it holds", arguments: RepositoryBackend.available)
    func fullCart(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let user = UUID()
            let products = (0..<CartLimits.maximumLines).map { _ in UUID() }
            for product in products { _ = try await repository.add(productID: product, quantity: 1, for: user) }
            let full = try await repository.cart(of: user)
            #expect(full.lines.map(\.productID) == products)
            #expect(await refusal { _ = try await repository.add(productID: UUID(), quantity: 1, for: user) } == "cart_full")
            #expect(try await repository.cart(of: user) == full)
            #expect(try await repository.add(productID: products[0], quantity: 1, for: user).cart.lines.count == CartLimits.maximumLines)
        }
    }

    @Test("an order comes out of the cart once: each line loses the ordered units, and lines that reach zero go", arguments: RepositoryBackend.available)
    func applyOrder(_ backend: RepositoryBackend) async throws {
        try await Self.withRepository(backend) { repository in
            let (user, kettle, mug, teapot) = (UUID(), UUID(), UUID(), UUID())
            for (product, quantity) in [(kettle, 5), (mug, 1), (teapot, 2)] {
                _ = try await repository.add(productID: product, quantity: quantity, for: user)
            }
            let order = CartOrderApplied(
                orderID: UUID(), lines: [.init(productID: kettle, quantity: 2), .init(productID: mug, quantity: 1), .init(productID: kettle, quantity: 1)])
            #expect(try await repository.applyOrder(order, for: user))
            let after = try await repository.cart(of: user)
            #expect(after.lines.map(\.productID) == [kettle, teapot] && after.lines.map(\.quantity) == [2, 2])
            #expect(try await repository.applyOrder(order, for: user) == false)
            #expect(try await repository.cart(of: user) == after)
        }
    }
}

/// The code of the `APIError` that `body` throws; nil when it throws none.
func refusal(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch {
        return (error as? APIError)?.code ?? "\(error)"
    }
}
