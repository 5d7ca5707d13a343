import EcomAPI
import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Restarts of `ecom serve`, planned or not, while orders are in flight.
extension StoreEndToEndTests {
    @Test("orders made while events are held settle after a restart, each applied once", arguments: Transport.available)
    func restartWithHeldEvents(transport: Transport) async throws {
        try await transport.withEnvironment { environment in try await restartWithHeldEvents(environment: environment) }
    }

    func restartWithHeldEvents(environment: [String: String]) async throws {
        let held = try await ServerProcess(environment: environment.merging(["ECOM_HOLD_EVENTS": "1"]) { $1 }, services: Store.services)
        do {
            let store = Store(server: held, admin: try await held.login("root@example.com", "root-password-123"))
            let product = try await store.createProduct(stock: 7)
            var placed: [(TokenPair, Order)] = []
            for index in 0..<5 {
                let shopper = try await store.shopper("held\(index)")
                try await store.add(product.id, quantity: 2, as: shopper)
                placed.append((shopper, try await store.checkout(as: shopper).decode()))
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await store.product(product.id).stock == 7)
            for (shopper, order) in placed {
                #expect(try await store.order(order.id, as: shopper).status == .pending)
            }
            #expect(await held.stop() == 0)

            let resumed = try await ServerProcess(reusing: held, environment: environment)
            let store2 = Store(server: resumed, admin: try await resumed.login("root@example.com", "root-password-123"))
            try await store2.eventually("all settled") {
                var settled = true
                for (shopper, order) in placed where try await store2.order(order.id, as: shopper).status == .pending { settled = false }
                return settled
            }
            let orders = try await store2.allOrders()
            #expect(orders.filter { $0.status == .confirmed }.count == 3)
            #expect(try await store2.product(product.id).stock == 1)
            await resumed.tearDown()
        } catch {
            print(held.log.suffix(10_000))
            await held.tearDown()
            throw error
        }
    }

    @Test("killing ecom serve mid-traffic and starting it again loses no event and applies none twice", arguments: Transport.available)
    func killedMidTraffic(transport: Transport) async throws {
        try await transport.withEnvironment { environment in try await killedMidTraffic(environment: environment) }
    }

    func killedMidTraffic(environment: [String: String]) async throws {
        let first = try await ServerProcess(environment: environment, services: Store.services)
        do {
            let store = Store(server: first, admin: try await first.login("root@example.com", "root-password-123"))
            let product = try await store.createProduct(stock: 30)
            var shoppers: [TokenPair] = []
            for index in 0..<12 {
                let shopper = try await store.shopper("killed\(index)")
                try await store.add(product.id, quantity: 3, as: shopper)
                shoppers.append(shopper)
            }
            // Check out concurrently and kill the server while those requests and their events are in flight.
            async let checkouts: Void = withTaskGroup(of: Void.self) { group in
                for shopper in shoppers { group.addTask { _ = try? await store.checkout(as: shopper) } }
            }
            try await Task.sleep(for: .milliseconds(150))
            await first.stop(signal: SIGKILL)
            await checkouts

            let second = try await ServerProcess(reusing: first, environment: environment)
            let store2 = Store(server: second, admin: try await second.login("root@example.com", "root-password-123"))
            try await store2.eventually("every order settled") { try await store2.allOrders().allSatisfy { $0.status != .pending } }
            let orders = try await store2.allOrders()
            let stock = try await store2.product(product.id).stock
            #expect(stock >= 0)
            #expect(stock + Store.reservedUnits(of: product.id, in: orders) == 30)
            try await store2.expectStockInvariant(of: product.id, initial: 30, orders: orders)
            #expect(try await store2.ledgerDiscrepancies().isEmpty)
            await second.tearDown()
        } catch {
            print(first.log.suffix(10_000))
            await first.tearDown()
            throw error
        }
    }

    /// The in-process transport hands the held events to each inbox in one statement, so the
    /// products service claims them as one batch; over RabbitMQ they may arrive one by one.
    @Test("killing ecom serve while a batch of events is applied and not committed: restarted, every order settles once")
    func killedMidBatch() async throws {
        let held = try await ServerProcess(environment: ["ECOM_HOLD_EVENTS": "1"], services: Store.services)
        var current = held
        do {
            let store = Store(server: held, admin: try await held.login("root@example.com", "root-password-123"))
            let product = try await store.createProduct(stock: 10)
            var placed: [(shopper: TokenPair, order: Order)] = []
            for index in 0..<6 {
                let shopper = try await store.shopper("batch\(index)")
                try await store.add(product.id, quantity: 2, as: shopper)
                placed.append((shopper, try await store.checkout(as: shopper).decode()))
            }
            #expect(await held.stop() == 0)

            // The held events go out; each batch applies them and then waits before its commit.
            let paused = try await ServerProcess(reusing: held, environment: ["ECOM_BATCH_COMMIT_DELAY": "600000"])
            current = paused
            let pausedStore = Store(server: paused, admin: try await paused.login("root@example.com", "root-password-123"))
            try await pausedStore.eventually("a batch of the orders' events applied, not committed") {
                paused.log.split(separator: "\n").contains { line in
                    line.contains("event batch applied") && line.contains("events=6 ") && line.contains("service=products")
                }
            }
            _ = await paused.stop(signal: SIGKILL)

            let resumed = try await ServerProcess(reusing: paused, environment: [:])
            current = resumed
            let store2 = Store(server: resumed, admin: try await resumed.login("root@example.com", "root-password-123"))
            try await store2.eventually("every order settled") {
                try await store2.allOrders().allSatisfy { $0.status != .pending }
            }
            let orders = try await store2.allOrders()
            #expect(orders.count == 6)
            #expect(orders.filter { $0.status == .confirmed }.count == 5)
            #expect(orders.filter { $0.status == .rejected }.count == 1)
            try await store2.expectStockInvariant(of: product.id, initial: 10, orders: orders)
            #expect(try await store2.ledgerDiscrepancies().isEmpty)
            // The removal from each cart happened once, and the rejected order's lines came back once.
            for (shopper, order) in placed {
                let status = try await store2.order(order.id, as: shopper).status
                let expected = status == .rejected ? [product.id: 2] : [:]
                try await store2.eventually("the cart of a \(status.rawValue) order") {
                    try await store2.cartQuantities(as: shopper) == expected
                }
            }
            await resumed.tearDown()
        } catch {
            print(current.log.suffix(10_000))
            await current.tearDown()
            throw error
        }
    }
}
