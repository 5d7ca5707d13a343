import EcomAPI
import EcomCart
import EcomPostgres
import EcomServerKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.enabled(if: TestEnvironment.hasDatabase, TestEnvironment.skipReason))
struct CartRoutesTests {
    @Test("adding, increasing, setting, removing and clearing lines, priced at current prices")
    func lifecycle() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            let first = try await harness.send(
                .post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.kettle.id, 2))
            #expect(first.status == .created)
            let added = try harness.decode(Cart.self, first)
            #expect(added.items.map(\.quantity) == [2])
            #expect(added.items.first?.name == "Kettle")
            #expect(added.items.first?.unitPriceCents == 2_499)
            #expect(added.items.first?.lineTotalCents == 4_998)
            #expect(added.totalCents == 4_998)

            let again = try await harness.send(
                .post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.kettle.id, 3))
            #expect(again.status == .ok)
            let increased = try harness.decode(Cart.self, again)
            #expect(increased.items.count == 1)
            #expect(increased.items.first?.quantity == 5)

            let withMug = try await harness.add(Fixture.mug, quantity: 1, for: user)
            #expect(withMug.items.map(\.productID) == [Fixture.kettle.id, Fixture.mug.id])
            #expect(withMug.totalCents == 5 * 2_499 + 899)
            #expect(withMug.itemCount == 6)

            let kettleLine = try #require(withMug.items.first).id
            let set = try await harness.send(.patch, "/api/cart/items/\(kettleLine.lowercased)", as: .user(user), json: #"{"quantity":1}"#)
            #expect(set.status == .ok)
            #expect(try harness.decode(Cart.self, set).totalCents == 2_499 + 899)

            let mugLine = withMug.items[1].id
            let removed = try await harness.send(.delete, "/api/cart/items/\(mugLine.lowercased)", as: .user(user))
            #expect(removed.status == .ok)
            #expect(try harness.decode(Cart.self, removed).items.map(\.productID) == [Fixture.kettle.id])
            // A removed line is gone: editing or removing it again is a 404.
            let edited = try await harness.send(.patch, "/api/cart/items/\(mugLine.lowercased)", as: .user(user), json: #"{"quantity":1}"#)
            #expect(edited.status == .notFound)
            let removedAgain = try await harness.send(.delete, "/api/cart/items/\(mugLine.lowercased)", as: .user(user))
            #expect(removedAgain.status == .notFound)

            let cleared = try await harness.send(.delete, "/api/cart", as: .user(user))
            #expect(cleared.status == .noContent)
            let empty = try await harness.cart(of: user)
            #expect(empty.items.isEmpty)
            #expect(empty.totalCents == 0)
            #expect(empty.itemCount == 0)
        }
    }

    @Test("an add names the line it made or grew, in Location and line_id, even when it is not the first line")
    func addNamesItsLine() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 1, for: user)

            let made = try await harness.send(.post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.mug.id, 2))
            #expect(made.status == .created)
            let first = try harness.decode(CartItemAdded.self, made)
            let mugLine = try #require(first.cart.items.first { $0.productID == Fixture.mug.id })
            #expect(first.cart.items.first?.productID == Fixture.kettle.id)
            #expect(first.lineID == mugLine.id)
            #expect(made.headers[.location] == "/api/cart/items/\(mugLine.id.lowercased)")

            let grown = try await harness.send(.post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.mug.id, 3))
            #expect(grown.status == .ok)
            let second = try harness.decode(CartItemAdded.self, grown)
            #expect(second.lineID == mugLine.id)
            #expect(second.line?.quantity == 5)
            #expect(grown.headers[.location] == "/api/cart/items/\(mugLine.id.lowercased)")

            // The line it names is the one the line routes edit.
            let removed = try await harness.send(.delete, "/api/cart/items/\(second.lineID.lowercased)", as: .user(user))
            #expect(removed.status == .ok)
            #expect(try harness.decode(Cart.self, removed).items.map(\.productID) == [Fixture.kettle.id])
        }
    }

    @Test("another user's line is not found, and stays as it was")
    func anotherUsersLine() async throws {
        try await CartHarness.run { harness in
            let owner = UUID()
            let before = try await harness.add(Fixture.kettle, quantity: 2, for: owner)
            let line = try #require(before.items.first).id.lowercased

            let stranger = UUID()
            let update = try await harness.send(.patch, "/api/cart/items/\(line)", as: .user(stranger), json: #"{"quantity":9}"#)
            #expect(update.status == .notFound)
            #expect(try harness.errorCode(update) == ErrorCode.notFound)
            let delete = try await harness.send(.delete, "/api/cart/items/\(line)", as: .user(stranger))
            #expect(delete.status == .notFound)
            #expect(try harness.errorCode(delete) == ErrorCode.notFound)

            #expect(try await harness.cart(of: owner) == before)
            #expect(try await harness.cart(of: stranger).version == 0)
        }
    }

    @Test("a full cart refuses a new product but still takes more of one it holds")
    func cartFull() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            try await harness.add(Fixture.kettle, quantity: 1, for: user)
            try await harness.pool.execute(
                """
                INSERT INTO cart_items (id, user_id, product_id, quantity)
                SELECT gen_random_uuid(), \(user), gen_random_uuid(), 1 FROM generate_series(2, \(CartLimits.maximumLines))
                """)
            let before = try await harness.repository.cart(of: user)
            #expect(before.lines.count == CartLimits.maximumLines)

            let refused = try await harness.send(.post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.mug.id, 1))
            #expect(refused.status == .conflict)
            #expect(try harness.errorCode(refused) == "cart_full")
            #expect(try await harness.repository.cart(of: user) == before)

            let more = try await harness.send(.post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.kettle.id, 1))
            #expect(more.status == .ok)
        }
    }

    @Test("eight concurrent adds of one unit each make a line of eight", .timeLimit(.minutes(3)))
    func concurrentAdds() async throws {
        try await CartHarness.run(poolSize: 8) { harness in
            let user = UUID()
            let responses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, Cart).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await harness.send(
                            .post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.kettle.id, 1))
                        return (response.status, try harness.decode(Cart.self, response))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.filter { $0.0 == .created }.count == 1)
            #expect(responses.filter { $0.0 == .ok }.count == 7)
            #expect(Set(responses.map(\.1.version)).count == 8)
            #expect(Set(responses.map { $0.1.items.first?.quantity ?? 0 }) == Set(1...8))
            #expect(try await harness.cart(of: user).items.map(\.quantity) == [8])
        }
    }

    @Test(
        "an add, a quantity change or a removal that waits for another edit of the cart answers with the cart as that edit left it",
        arguments: ["add", "set quantity", "remove"])
    func editAfterConcurrentEdit(_ edit: String) async throws {
        try await CartHarness.run { harness in
            let (user, kept, removed, target, added) = (UUID(), UUID(), UUID(), UUID(), UUID())
            _ = try await harness.repository.add(productID: kept, quantity: 1, for: user)
            let doomed = try await harness.repository.add(productID: removed, quantity: 1, for: user)
            let line = try await harness.repository.add(productID: target, quantity: 1, for: user).lineID
            try await harness.pool.withLease { lease in
                // Another edit in flight: it holds the cart row, as every edit does, and removes a line.
                try await lease.run { connection in
                    try connection.beginCommittingLazily()
                    try connection.execute("UPDATE carts SET version = nextval('cart_versions') WHERE user_id = \(user)")
                    try connection.execute("DELETE FROM cart_items WHERE id = \(doomed.lineID)")
                }
                let answer = Task { () -> CartSnapshot in
                    switch edit {
                    case "add": try await harness.repository.add(productID: added, quantity: 2, for: user).cart
                    case "set quantity": try await harness.repository.setQuantity(5, ofLine: line, for: user)
                    default: try await harness.repository.removeLine(line, for: user)
                    }
                }
                // The edit waits for the cart row before the other edit commits.
                var waiting = false
                for _ in 0..<100 where !waiting {
                    try await Task.sleep(for: .milliseconds(50))
                    waiting = try await harness.pool.query(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )[0].decode("n", as: Int.self) == 1
                }
                #expect(waiting)
                try await lease.run { try $0.commit() }
                let cart = try await answer.value
                let expected: [(UUID, Int)] = switch edit {
                case "add": [(kept, 1), (target, 1), (added, 2)]
                case "set quantity": [(kept, 1), (target, 5)]
                default: [(kept, 1)]
                }
                #expect(cart.lines.map(\.productID) == expected.map(\.0) && cart.lines.map(\.quantity) == expected.map(\.1), "\(cart)")
                #expect(cart == (try await harness.repository.cart(of: user)))
            }
        }
    }

    @Test("changing or removing a line that is not the user's, or no longer there, is 404 and leaves the cart's version as it was")
    func editMissingLine() async throws {
        try await CartHarness.run { harness in
            let (user, other) = (UUID(), UUID())
            let mine = try await harness.repository.add(productID: UUID(), quantity: 1, for: user)
            let theirs = try await harness.repository.add(productID: UUID(), quantity: 1, for: other)
            let changed = await #expect(throws: APIError.self) { try await harness.repository.setQuantity(3, ofLine: theirs.lineID, for: user) }
            #expect(changed?.status == .notFound)
            let removed = await #expect(throws: APIError.self) { try await harness.repository.removeLine(UUID(), for: user) }
            #expect(removed?.status == .notFound)
            #expect(try await harness.repository.cart(of: user) == mine.cart)
            #expect(try await harness.repository.cart(of: other) == theirs.cart)
        }
    }

    @Test("versions strictly increase with every edit and are never reused, even after clearing")
    func versions() async throws {
        try await CartHarness.run { harness in
            let user = UUID()
            var versions: [Int64] = []
            let first = try await harness.add(Fixture.kettle, quantity: 1, for: user)
            versions.append(first.version)
            versions.append(try await harness.add(Fixture.kettle, quantity: 1, for: user).version)
            let line = try #require(first.items.first).id.lowercased
            let set = try await harness.send(.patch, "/api/cart/items/\(line)", as: .user(user), json: #"{"quantity":4}"#)
            versions.append(try harness.decode(Cart.self, set).version)
            try await harness.send(.delete, "/api/cart", as: .user(user))
            versions.append(try await harness.cart(of: user).version)
            // The same contents as before the clear, under a version never seen.
            versions.append(try await harness.add(Fixture.kettle, quantity: 1, for: user).version)
            let removed = try await harness.send(.delete, "/api/cart/items/\((try await harness.cart(of: user)).items[0].id.lowercased)", as: .user(user))
            versions.append(try harness.decode(Cart.self, removed).version)

            #expect(versions.first! > 0)
            #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "\(versions)")
            let someoneElse = try await harness.add(Fixture.mug, quantity: 1, for: UUID()).version
            #expect(!versions.contains(someoneElse))
        }
    }

    @Test("an unreachable products service makes adding answer 503 and changes nothing")
    func productsUnreachable() async throws {
        try await CartHarness.run(productsURL: "http://127.0.0.1:1") { harness in
            let user = UUID()
            let response = try await harness.send(
                .post, "/api/cart/items", as: .user(user), json: CartHarness.addBody(Fixture.kettle.id, 1))
            #expect(response.status == .serviceUnavailable)
            #expect(try harness.errorCode(response) == ErrorCode.serviceUnavailable)
            let cart = try await harness.repository.cart(of: user)
            #expect(cart.lines.isEmpty)
            #expect(cart.version == 0)
        }
    }
}
